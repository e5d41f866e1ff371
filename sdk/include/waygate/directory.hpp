// The directory: who the identities are, which sockets the connector offers, and the policies that
// link them — the truth every plugin reads (the wireguard edge its peers, policy its verdicts, nat
// its egress addresses, stats its labels). The host loads it from the config file's top-level
// [overlay], [[identity]], [[socket]] and [[policy]] tables, checks it whole (an unknown name, a
// duplicate key or address, a pool too small: an error naming the file and line; a policy's group
// that nobody is in: a warning, since emptying a group is how access is taken away), and hands each
// stage the current one through Context::directory(). A reload replaces it as a whole.
//
// A position in `identities` or `sockets` is the id that Meta::identity and Meta::socket carry.
// Ids are positions in the file, so they may change on reload: plugins re-read the directory in
// configure() and keep names, not ids, across reloads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waygate/net/prefix.hpp"
#include "waygate/packet.hpp"

namespace waygate {

class Config;

struct Identity {
  std::string name;
  std::string email;
  std::string public_key;              // WireGuard, base64 as `wg pubkey` prints it
  std::vector<std::string> groups;
  std::vector<net::Address> addresses;  // in the overlay: one IPv4 and/or one IPv6
};

enum class SocketType : std::uint8_t { exit_node, subnet_router };
constexpr const char* to_string(SocketType t) {
  return t == SocketType::exit_node ? "exit_node" : "subnet_router";
}

// Ports FIRST-LAST, both ends included. By default the NAT's on a socket's egress addresses
// when its [[socket]] names none: below WireGuard's 51820, so that a tunnel listening there is
// answered on the egress address too (the NAT owns every port of its range on it).
struct PortRange {
  std::uint16_t first = 20000;
  std::uint16_t last = 49999;
  std::uint32_t size() const { return std::uint32_t{last} - first + 1; }
  bool operator==(const PortRange&) const = default;
  // With more than one worker ([host] workers = n) each holds a share: worker k the ports p with
  // (p - first) * n / size() == k, one run each, so a reply's port names its worker (a classic BPF
  // program computes the same: subtract, multiply, divide).
  unsigned share_of(std::uint16_t port, unsigned n) const { return (std::uint32_t{port} - first) * n / size(); }
  PortRange share(unsigned k, unsigned n) const {  // empty (last < first) when n > size()
    auto start = [&](unsigned i) { return first + (i * size() + n - 1) / n; };  // the least p of share i
    return {static_cast<std::uint16_t>(start(k)), static_cast<std::uint16_t>(start(k + 1) - 1)};
  }
};
inline std::string to_string(PortRange r) { return std::to_string(r.first) + "-" + std::to_string(r.last); }

struct Socket {
  std::string name;
  SocketType type = SocketType::exit_node;
  std::string description;
  // The connectors it runs on: `connector = "c1"` in its table, or `connectors = ["c1", "c2"]` for
  // one served by several (its clients' API lists the live ones, and Waygate's client fails over).
  std::vector<std::string> connectors;
  std::vector<net::Prefix> routes;     // exit node: 0.0.0.0/0 and ::/0; subnet router: its prefixes
  std::vector<net::Address> egress;    // the public address(es) its traffic is NAT'd to
  // The ports the NAT owns on them: nat translates the socket's sessions to these, the egress
  // edge keeps the kernel off them. Set only where there are egress addresses.
  PortRange egress_ports;
  std::vector<net::Address> dns;       // resolvers offered to its clients
  // An exit node reaches the internet (IANA's global destinations, waygate/net/special_purpose.hpp)
  // but not the overlay or the connector's own addresses, plus `allow` and minus `deny`: the most
  // specific prefix decides, and of equal ones the operator's. Empty for a subnet router.
  std::vector<net::Prefix> allow, deny;
};

// A daily window in a named time zone, e.g. 08:00-18:00 Europe/Berlin. `end` before `begin`
// wraps past midnight.
struct DailyWindow {
  std::chrono::minutes begin{0}, end{0};
  std::string zone;
};

// Every listed condition must hold. Within one condition, any listed value matches; an empty
// list does not constrain.
struct Conditions {
  // who
  std::vector<std::uint32_t> identities;
  std::vector<std::string> groups;
  std::vector<std::string> email_domains;
  // where: the client's underlay source address
  std::vector<net::Prefix> sources;
  std::vector<std::string> countries;  // ISO 3166 alpha-2, upper case
  // when
  std::optional<std::chrono::sys_seconds> not_before, not_after;
  std::optional<DailyWindow> daily;
};

struct Policy {
  std::string name;
  bool organization_wide = false;      // applies to every socket
  std::vector<std::uint32_t> sockets;  // otherwise: the sockets it is linked to
  std::vector<std::string> permissions;
  Conditions conditions;

  bool grants(std::string_view permission) const;
  bool applies_to(std::uint32_t socket) const;
};

// The connector's own place in the overlay, and the pools identities without a static address
// are given one from.
struct Overlay {
  std::optional<net::Prefix> pool4, pool6;
  std::vector<net::Address> connector;  // the connector's overlay addresses
};

// Overlay addresses given out from the pools, by public key: what the host keeps between runs so
// an identity's address never changes. Kept in the state folder as `overlay-addresses`, a header
// line ("# waygate overlay-addresses 1", waygate/state_version.hpp) and one line per identity
// ("<public key> <address> [<address>]"), written whole to a temporary file, synced and renamed,
// so a crash leaves the old or the new.
using Assignments = std::map<std::string, std::vector<net::Address>>;
// Empty when the folder or file does not exist yet ("" state_dir: nothing kept); lines that do
// not parse are skipped (the identity then gets a fresh address). A file without the header (from
// before versions) is read; one from a newer format, or one that is there but cannot be read,
// throws std::runtime_error naming it, rather than give every identity a new address.
Assignments read_assignments(const std::string& state_dir);
// Creates the folder if needed; throws std::system_error when the file cannot be written.
void write_assignments(const std::string& state_dir, const Assignments& assignments);

// A connector alive in a directory kept in etcd (a connector's [directory]): registered there
// under a lease it renews, so that one that dies leaves the list by itself. What a client needs
// to move an exit node's traffic to it.
struct LiveConnector {
  std::string name;
  std::string endpoint;    // its tunnel as clients dial it, "198.51.100.1:51820" ("" if not said)
  std::string public_key;  // its tunnel's, base64 ("" if not said)
};

struct Directory {
  Overlay overlay;
  std::vector<Identity> identities;
  std::vector<Socket> sockets;
  std::vector<Policy> policies;
  Assignments assigned;  // the pool addresses in use now
  std::vector<LiveConnector> connectors;  // by name; empty when the directory is a file
  // What loads but deserves an operator's look, each located like an error ("file:line:col:
  // policy 'x': key 'groups': no identity is in a group 'staff'"): the host logs them, `waygate
  // check`, `waygate doctor` and the access graph show them.
  std::vector<std::string> warnings;

  // kNoId when absent.
  std::uint32_t identity_by_key(std::string_view public_key) const;
  std::uint32_t identity_by_address(const net::Address& address) const;
  std::uint32_t identity_by_name(std::string_view name) const;
  std::uint32_t socket_by_name(std::string_view name) const;

  // Reads the directory tables of a config file's root table, marking them as known. `previous`
  // keeps earlier pool assignments where they still fit; new identities get the lowest free
  // addresses. Throws ConfigError naming the file, line and key.
  static std::shared_ptr<const Directory> load(const Config& root, const Assignments& previous = {});
  // The directory of a connector's config file as its host sees it: with the pool addresses
  // recorded in its [host] state_dir. For commands that read a connector's file.
  static std::shared_ptr<const Directory> from_file(const std::string& path);
};

}  // namespace waygate
