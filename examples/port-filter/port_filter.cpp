// port-filter: a stage that drops TCP and/or UDP packets whose destination port is on a list.
//
//   ports      = [25, 137]          required, non-empty, each 1..65535
//   protocols  = ["tcp", "udp"]     default: both
//   directions = ["outbound"]       default: outbound only; add "inbound" to filter replies too
//
// Every drop is counted under the reason "port_blocked" and, per port, in the counter
// blocked_total{port="<port>"}. The hot path allocates nothing: configure() precomputes a
// 65536-bit bitmap of the blocked ports, and process() tests one bit per packet.
//
// This is the SDK's worked example (see sdk/README.md); it is built only against the installed
// SDK, exactly as a third-party plugin would be.
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"
#include "waygate/net/headers.hpp"
#include "waygate/plugin.hpp"

namespace port_filter {

namespace {

// Everything configure() computes, built whole in a local and then swapped in, so that a config
// that throws half-way leaves the running tables untouched.
struct Rules {
  std::array<std::uint64_t, 65536 / 64> blocked{};  // bit p set: destination port p is blocked
  bool tcp = false;
  bool udp = false;
  bool outbound = false;
  bool inbound = false;
  std::vector<std::uint16_t> ports;  // sorted, unique: index into hits
  std::vector<waygate::Counter> hits;

  bool filters(waygate::Direction d) const {
    return d == waygate::Direction::outbound ? outbound : inbound;
  }
  bool is_blocked(std::uint16_t port) const {
    return ((blocked[port >> 6] >> (port & 63)) & 1u) != 0;
  }
  // Only called for a blocked port, which is always in `ports`.
  const waygate::Counter& hit(std::uint16_t port) const {
    auto it = std::lower_bound(ports.begin(), ports.end(), port);
    return hits[static_cast<std::size_t>(it - ports.begin())];
  }
};

class PortFilter final : public waygate::Plugin {
 public:
  explicit PortFilter(waygate::Context& ctx)
      : ctx_(ctx),
        port_blocked_(ctx.drop_reason("port_blocked")),
        rules_(std::make_unique<Rules>()) {}

  void configure(const waygate::Config& c) override {
    auto next = std::make_unique<Rules>();

    c.require("ports", "an array of ports from 1 to 65535");
    for (std::int64_t port : c.integers("ports", 1, 65535))
      next->ports.push_back(static_cast<std::uint16_t>(port));
    if (next->ports.empty()) c.fail("ports", "list at least one port");
    std::sort(next->ports.begin(), next->ports.end());
    next->ports.erase(std::unique(next->ports.begin(), next->ports.end()), next->ports.end());

    const auto protocols =
        c.has("protocols") ? c.strings("protocols") : std::vector<std::string>{"tcp", "udp"};
    if (protocols.empty()) c.fail("protocols", "list at least one of \"tcp\", \"udp\"");
    for (const auto& p : protocols) {
      if (p == "tcp") next->tcp = true;
      else if (p == "udp") next->udp = true;
      else c.fail("protocols", "unknown protocol '" + p + "' (expected \"tcp\" or \"udp\")");
    }

    const auto directions =
        c.has("directions") ? c.strings("directions") : std::vector<std::string>{"outbound"};
    if (directions.empty()) c.fail("directions", "list at least one of \"outbound\", \"inbound\"");
    for (const auto& d : directions) {
      if (d == "outbound") next->outbound = true;
      else if (d == "inbound") next->inbound = true;
      else c.fail("directions", "unknown direction '" + d + "' (expected \"outbound\" or \"inbound\")");
    }

    // The config is valid: only now declare the per-port counters (declaring the same name and
    // labels again on reload returns the same counter, so the counts carry over).
    next->hits.reserve(next->ports.size());
    for (std::uint16_t port : next->ports) {
      next->blocked[port >> 6] |= std::uint64_t{1} << (port & 63);
      next->hits.push_back(ctx_.counter("blocked_total", "Packets dropped for their destination port",
                                        {{"port", std::to_string(port)}}));
    }

    rules_ = std::move(next);  // the commit: noexcept
    ctx_.log().info("blocking {} destination port(s)", rules_->ports.size());
  }

  void process(waygate::Burst& burst, waygate::Output& out) override {
    const Rules& r = *rules_;
    if (!r.filters(burst.direction())) {
      for (waygate::Packet* p : burst) out.pass(p);
      return;
    }
    for (waygate::Packet* p : burst) {
      const auto parsed = waygate::net::parse_packet(p->bytes());
      // A packet that fails to parse is passed untouched: a filter is not a validator. Malformed
      // packets are for a validating stage (or the receiving kernel) to reject, and this stage
      // must not turn "cannot read the port" into a reason of its own. The same goes for packets
      // without ports: a non-first fragment (has_ports is false: its ports are in the first
      // fragment, which is filtered), ICMP and every other protocol.
      if (!parsed || !parsed.info.has_ports) {
        out.pass(p);
        continue;
      }
      const auto& info = parsed.info;
      const bool wanted = (info.is_tcp() && r.tcp) || (info.is_udp() && r.udp);
      if (wanted && r.is_blocked(info.dst_port)) {
        r.hit(info.dst_port).add();
        out.drop(p, port_blocked_);
      } else {
        out.pass(p);
      }
    }
  }

 private:
  waygate::Context& ctx_;
  waygate::Drop port_blocked_;
  std::unique_ptr<const Rules> rules_;
};

}  // namespace

}  // namespace port_filter

WAYGATE_PLUGIN(port_filter::PortFilter, "port-filter", "0.1.0")

// What `waygate doctor -c FILE` says of each port-filter stage: the ports it blocks, and when the
// connector runs, how many packets it has blocked (a stage that blocks a port the clients need is
// where an operator looks first).
namespace port_filter {
namespace {

std::vector<waygate::Check> checks(const waygate::Patient& p) {
  const std::string name = p.stage.string("name", "port-filter");
  std::string ports;
  for (auto port : p.stage.integers("ports", 1, 65535)) ports += (ports.empty() ? "" : ", ") + std::to_string(port);
  std::string detail = "blocks " + ports;
  if (p.running) {
    try {
      const double blocked = waygate::metric_sum(waygate::admin_get(p.admin, "/metrics", p.token),
                                                 "waygate_drops_total{stage=\"" + name + "\",reason=\"port_blocked\"}");
      detail += "; " + std::to_string(static_cast<long long>(blocked)) + " packet(s) blocked since start";
    } catch (const std::exception&) {  // the host's own check says when the admin API stops answering
    }
  }
  return {{name, true, detail, "", false}};
}

}  // namespace
}  // namespace port_filter

WAYGATE_DOCTOR(port_filter::checks)
