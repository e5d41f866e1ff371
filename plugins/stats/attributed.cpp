#include "attributed.hpp"

#include "waygate/metric_names.hpp"

namespace waygate::stats {

namespace {
std::string label(const MetricSample& s, std::string_view name) {
  for (auto& [k, v] : s.labels)
    if (k == name) return v;
  return "";
}
}  // namespace

Attributed attribute(const std::vector<MetricSample>& metrics, const Directory& d,
                     const std::vector<std::uint32_t>& socket_of) {
  Attributed a;
  a.socket_drops.resize(d.sockets.size());
  a.identity_drops.resize(d.identities.size());
  a.socket_sessions.resize(d.sockets.size());
  a.socket_handshakes.resize(d.sockets.size());
  a.identity_handshakes.resize(d.identities.size());
  for (auto& m : metrics) {
    if (m.value <= 0) continue;
    const auto n = static_cast<std::uint64_t>(m.value);
    std::string_view name = m.name;
    if (metric::is(name, metric::kSocketDrops)) {
      if (auto s = d.socket_by_name(label(m, "socket")); s != kNoId) a.socket_drops[s][label(m, "reason")] += n;
    } else if (metric::is(name, metric::kIdentityDrops)) {
      if (auto i = d.identity_by_name(label(m, "identity")); i != kNoId) a.identity_drops[i][label(m, "reason")] += n;
    } else if (metric::is(name, metric::kSocketSessions)) {
      if (auto s = d.socket_by_name(label(m, "socket")); s != kNoId) a.socket_sessions[s] += n;
    } else if (metric::is(name, metric::kPeerHandshakes)) {
      if (auto i = d.identity_by_name(label(m, "peer")); i != kNoId) a.identity_handshakes[i] += n;
    }
  }
  for (std::size_t i = 0; i < a.identity_handshakes.size() && i < socket_of.size(); ++i)
    if (socket_of[i] < a.socket_handshakes.size()) a.socket_handshakes[socket_of[i]] += a.identity_handshakes[i];
  return a;
}

}  // namespace waygate::stats
