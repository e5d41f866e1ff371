// The egress edge's checks for `waygate doctor` (waygate/doctor.hpp): its nftables table; in
// shared mode the egress address on its interface, the kernel's ephemeral ports clear of the NAT's
// and whether TCP can leave in trains (offload); in kernel mode forwarding.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "listeners.hpp"
#include "settings.hpp"
#include "tables.hpp"
#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"
#include "waygate/metric_names.hpp"
#include "waygate/net/interfaces.hpp"
#include "waygate/netns.hpp"

namespace waygate::egress {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The addresses on an interface, in the calling thread's namespace.
std::vector<net::Address> addresses_on(const std::string& interface) {
  std::vector<net::Address> out;
  for (auto& a : net::interface_addresses())
    if (a.interface == interface) out.push_back(a.address);
  return out;
}

std::vector<Check> checks(const Patient& p) {
  std::vector<Check> checks;
  auto add = [&](std::string name, bool ok, std::string detail, std::string hint = "") {
    checks.push_back({std::move(name), ok, std::move(detail), std::move(hint)});
    return ok;
  };
  const bool running = p.running;
  const std::string name = p.stage.string("name", "egress");
  Settings s;
  try {
    s = read_settings(p.stage, p.directory);
  } catch (const std::exception& e) {
    add("egress stage " + name, false, e.what(), "fix the stage");
    return checks;
  }
  {
    NetnsGuard in_namespace(s.netns);
    const std::string table = table_name(name);
    try {
      run_nft("list table inet " + table + "\n");
      add("nftables table " + table, true,
          s.mode == Mode::shared ? "the NAT's ports are kept from the kernel" : "masquerade in place");
    } catch (const std::exception& e) {
      add("nftables table " + table, false, e.what(),
          running ? "the egress stage installs it at start: a firewall manager may have flushed the ruleset; "
                    "restart waygate, and keep the table `inet " + table + "` out of the firewall manager's hands"
                  : "it is installed when the connector starts");
    }
    if (s.mode == Mode::kernel) {
      std::string v4 = read_file("/proc/sys/net/ipv4/ip_forward"), v6 = read_file("/proc/sys/net/ipv6/conf/all/forwarding");
      add("forwarding", v4 == "1" && v6 == "1", fmt::format("IPv4 {}, IPv6 {}", v4, v6),
          "the egress stage enables it at start; something turned it off (sysctl net.ipv4.ip_forward=1)");
      return checks;
    }
    auto present = addresses_on(s.interface);
    std::vector<std::string> missing, found;
    for (auto& a : s.egress4) {
      auto address = net::Address::v4(std::span<const std::uint8_t, 4>(a));
      (std::find(present.begin(), present.end(), address) != present.end() ? found : missing).push_back(address.to_string());
    }
    for (auto& a : s.egress6) {
      auto address = net::Address::v6(std::span<const std::uint8_t, 16>(a));
      (std::find(present.begin(), present.end(), address) != present.end() ? found : missing).push_back(address.to_string());
    }
    // One of a connector pair: the standby's floating egress address is the active's to hold.
    bool standby = false;
    if (running && !missing.empty()) {
      try {
        standby = metric_sum_of(admin_get(p.admin, "/metrics", p.token), metric::kPairStandby) > 0;
      } catch (const std::exception&) {  // "packets arriving" below reports an API that stopped answering
      }
    }
    if (standby)
      add("egress address on " + s.interface, true,
          fmt::format("{} not here: this connector is its pair's standby, and the active holds it (keepalived moves it)",
                      fmt::join(missing, ", ")));
    else
      add("egress address on " + s.interface, missing.empty(),
          missing.empty() ? fmt::format("{} present", fmt::join(found, ", ")) : fmt::format("{} missing", fmt::join(missing, ", ")),
          fmt::format("the socket's egress address must be on {}: `ip addr add {} dev {}`, or fix [[socket]] egress",
                      s.interface, missing.empty() ? "" : missing.front(), s.interface));
    const std::vector<std::string> hidden = listeners_in_nat_ports(s);
    if (hidden.empty())
      add("listeners on the NAT's ports", true, fmt::format("none within {} on the egress addresses", to_string(s.ports)));
    else
      checks.push_back({"listeners on the NAT's ports", true,
                        fmt::format("{}: inside {}, so nothing reaches them at the egress address", fmt::join(hidden, ", "),
                                    to_string(s.ports)),
                        "move [[socket]] egress_ports clear of them (a tunnel's listen_port, say), or the listener's port",
                        true});
    std::string range = read_file("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned low = 0, high = 0;
    std::sscanf(range.c_str(), "%u %u", &low, &high);
    bool clear = high < s.ports.first || low > s.ports.last;
    add("kernel's ephemeral ports", clear,
        fmt::format("{}-{}, the NAT's {} (the sockets' egress_ports)", low, high, to_string(s.ports)),
        "the kernel would reuse the NAT's ports: the egress stage moves the range at start; restart waygate");
    if (s.offload && !s.egress4.empty()) {
      std::string rp = read_file("/proc/sys/net/ipv4/conf/all/rp_filter");
      // Running, the edge says whether it has its device: one set up again without the
      // privileges to make it (a reload of another shape, as [host] user) runs on without.
      bool device = true;
      if (running) {
        try {
          device = metric_sum(admin_get(p.admin, "/metrics", p.token),
                              fmt::format("waygate_egress_trains_device{{stage=\"{}\"}}", name)) > 0;
        } catch (const std::exception&) {  // "packets arriving" below reports an API that stopped answering
        }
      }
      if (rp != "0")
        add("TCP trains", false,
            "net.ipv4.conf.all.rp_filter is " + rp + ": it would drop the trains, so TCP leaves segment by segment (slower)",
            "turn reverse-path filtering off where the network allows it (sysctl net.ipv4.conf.all.rp_filter=0) and "
            "restart waygate, or set offload = false on the egress stage");
      else
        add("TCP trains", device,
            device ? "reverse-path filtering is off: TCP leaves glued into trains"
                   : "the egress stage runs without its device for trains, so TCP leaves segment by segment (slower)",
            "restart waygate: a pipeline set up again after privileges were dropped cannot make the device (the log "
            "says 'no device for TCP trains' and why)");
    }
  }

  return checks;
}

}  // namespace

}  // namespace waygate::egress

WAYGATE_DOCTOR(waygate::egress::checks)
