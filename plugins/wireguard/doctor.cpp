// The tunnel's checks for `waygate doctor` (waygate/doctor.hpp): identities whose keys can never
// complete a handshake, and on a connector that listens for clients, a firewall that would drop
// their UDP and their packets arriving (the counters moving).
#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "keys.hpp"
#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"
#include "waygate/metric_names.hpp"
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
  try {
    const std::string rx = "waygate_wireguard_" + std::string(metric::kRxPackets);
    const std::string before = admin_get(p.admin, "/metrics", p.token);
    std::this_thread::sleep_for(std::chrono::duration<double>(p.wait));
    const std::string after = admin_get(p.admin, "/metrics", p.token);
    const double packets = metric_sum(after, rx) - metric_sum(before, rx);
    const double handshakes = metric_sum(after, "waygate_wireguard_" + std::string(metric::kHandshakes));
    out.push_back({"packets arriving", packets > 0,
                   fmt::format("{} WireGuard packets in {} s; {} handshakes since start", packets, p.wait, handshakes),
                   fmt::format("no client sent anything: are clients connected and selecting the exit node? Is UDP {} "
                               "reachable from them (`tcpdump -ni any udp port {}` here)?",
                               port, port)});
  } catch (const std::exception& e) {
    out.push_back({"packets arriving", false, e.what(), "the admin API stopped answering"});
  }
  return out;
}

}  // namespace

}  // namespace waygate::wg

WAYGATE_DOCTOR(waygate::wg::checks)
