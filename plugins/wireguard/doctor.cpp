// The tunnel's checks for `waygate doctor` (waygate/doctor.hpp): identities whose keys can never
// complete a handshake, and on a connector that listens for clients, a firewall that would drop
// their UDP, their packets arriving (the counters moving) and the kernel dropping them before the
// worker reads them.
#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "keys.hpp"
#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"
#include "waygate/metric_names.hpp"
#include "waygate/net/socket_table.hpp"
#include "waygate/netns.hpp"
#include "waygate/nft.hpp"

namespace waygate::wg {

namespace {

// The directory's identities are the tunnel's peers: one whose key is a point of small order is
// taken (the directory checks a key's form, not the curve) but can never connect. A listed peer's
// is refused when the stage is configured.
Check identity_keys(const Directory& directory) {
  std::vector<std::string> bad;
  for (const Identity& id : directory.identities)
    if (auto key = from_base64(id.public_key); key && low_order(*key)) bad.push_back(id.name);
  const std::string names = fmt::format("{}", fmt::join(bad.begin(), bad.begin() + std::min<std::size_t>(bad.size(), 5), ", "));
  return {"identity keys", bad.empty(),
          bad.empty() ? fmt::format("{} identities, none with a key of small order", directory.identities.size())
                      : fmt::format("{} identit{} with a public key of small order, which can never complete a handshake: {}{}",
                                    bad.size(), bad.size() == 1 ? "y" : "ies", names, bad.size() > 5 ? ", ..." : ""),
          "replace each one's public_key with the key its owner's device prints (`waygate pubkey`, `wg pubkey`)"};
}

// Datagrams the kernel dropped at a full receive buffer, summed over the UDP sockets on `port`
// as the stage's namespace sees them; nullopt when no socket is bound there.
std::optional<std::uint64_t> socket_drops(long port, const std::string& netns) {
  NetnsGuard in_namespace(netns);
  std::optional<std::uint64_t> total;
  for (const char* kind : {"udp", "udp6"})
    for (const net::SocketEntry& e : net::socket_table(kind))
      if (e.port == port) total = total.value_or(0) + e.drops;
  return total;
}

// The tunnel socket's drops over the doctor's wait: a worker that does not drain the socket in
// time (other processes ahead of it on the cores, or too few cores) loses datagrams there, and a
// client's whole train at once.
Check receive_buffer(long port, std::optional<std::uint64_t> before, std::optional<std::uint64_t> after, double wait) {
  if (!after)
    return {"tunnel socket", true, fmt::format("no UDP socket on port {} seen in this network namespace", port),
            "run the doctor in the connector's namespace (ip netns exec NAME waygate doctor ...)", true};
  if (*after == 0) return {"tunnel socket", true, "no datagram dropped at its receive buffer", ""};
  // A socket opened again meanwhile (a reload of another shape) counts from 0 again.
  const std::uint64_t lately = before && *before <= *after ? *after - *before : *after;
  return {"tunnel socket", true,
          fmt::format("{} datagrams dropped at its full receive buffer since it opened ({} in the last {} s): the "
                      "worker did not always read it in time",
                      *after, lately, wait),
          "give the packet path the cores before other processes ([host] nice = -10, as configs/exit-node.toml has "
          "it), keep other busy processes off the connector's machine, or spread the crypto ([host] crypto_threads)",
          true};
}

std::vector<Check> checks(const Patient& p) {
  std::vector<Check> out;
  if (p.stage.boolean("identities", false)) out.push_back(identity_keys(p.directory));
  const auto port = p.stage.integer("listen_port", 0, 0, 65535);
  if (port == 0) return out;  // it dials its peers (a client): nothing comes unasked
  try {
    const std::string rules = run_nft("list ruleset\n");
    const bool drops_input = rules.find("hook input") != std::string::npos && rules.find("policy drop") != std::string::npos;
    const bool admits = rules.find(fmt::format("udp dport {} accept", port)) != std::string::npos;
    out.push_back({"firewall", !drops_input || admits,
                   drops_input ? (admits ? fmt::format("an input policy drops, but UDP {} is accepted", port)
                                         : fmt::format("an input chain drops by default and no rule accepts UDP {}", port))
                               : "no input chain drops by default",
                   fmt::format("let the clients' WireGuard packets in: nft add rule inet filter input udp dport {} accept", port)});
  } catch (const std::exception& e) {
    out.push_back({"firewall", false, e.what(), "is nftables usable here (root, or CAP_NET_ADMIN)?"});
  }
  if (!p.running) return out;
  const std::string netns = p.stage.string("netns", "");
  auto drops = [&]() -> std::optional<std::uint64_t> {
    try {
      return socket_drops(port, netns);
    } catch (const std::exception&) {  // the stage's namespace cannot be entered: not this check's to say
      return std::nullopt;
    }
  };
  try {
    const std::string rx = "waygate_wireguard_" + std::string(metric::kRxPackets);
    const auto dropped_before = drops();
    const std::string before = admin_get(p.admin, "/metrics", p.token);
    std::this_thread::sleep_for(std::chrono::duration<double>(p.wait));
    const std::string after = admin_get(p.admin, "/metrics", p.token);
    const auto dropped_after = drops();
    const double packets = metric_sum(after, rx) - metric_sum(before, rx);
    const double handshakes = metric_sum(after, "waygate_wireguard_" + std::string(metric::kHandshakes));
    out.push_back({"packets arriving", packets > 0,
                   fmt::format("{} WireGuard packets in {} s; {} handshakes since start", packets, p.wait, handshakes),
                   fmt::format("no client sent anything: are clients connected and selecting the exit node? Is UDP {} "
                               "reachable from them (`tcpdump -ni any udp port {}` here)?",
                               port, port)});
    out.push_back(receive_buffer(port, dropped_before, dropped_after, p.wait));
  } catch (const std::exception& e) {
    out.push_back({"packets arriving", false, e.what(), "the admin API stopped answering"});
  }
  return out;
}

}  // namespace

}  // namespace waygate::wg

WAYGATE_DOCTOR(waygate::wg::checks)
