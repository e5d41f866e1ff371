// What the `waygate client` commands need from a client's config file and from the two things
// they talk to: the client host's admin API (its tunnel peers) and each connector's clients' API
// (through the tunnel).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "waygate/admin_client.hpp"
#include "settings.hpp"

namespace waygate::client {

struct ClientFile {
  std::string path;
  AdminAccess admin;
  Settings settings;  // the client stage's

  // Throws ConfigError (the file, or a client stage's keys) or std::runtime_error (no client stage).
  static ClientFile read(const std::string& path);
  const Connector* connector(const std::string& name) const;
};

// A request to a connector's clients' API: the parsed body of a 2xx answer; throws
// std::runtime_error saying what came back otherwise (or that nothing did, in time).
boost::json::value connector_api(const Connector& k, const std::string& method, const std::string& target,
                                 const std::string& body = "");

// One peer of the client host's tunnel stage, from its /v1/peers.
struct TunnelPeer {
  std::string name;
  std::string public_key;
  std::string endpoint;
  bool in_service = true;      // false: it stands by for another peer with its allowed IPs
  double handshake_rtt_ms = 0;  // its latest handshake's round trip, 0 before one
  std::optional<long long> last_handshake;  // unix seconds
  bool session = false;
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
};
// Throws std::runtime_error when the client host does not answer.
std::vector<TunnelPeer> tunnel_peers(const ClientFile& f);
// Puts a peer of the tunnel in service in place of the one carrying their shared allowed IPs
// (the tunnel stage's failover_after); throws std::runtime_error saying why not.
void put_in_service(const ClientFile& f, const std::string& peer);

}  // namespace waygate::client
