#include "doctor.hpp"

#include <unistd.h>
#include <net/if.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/admin_client.hpp"
#include "tables.hpp"
#include "settings.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"
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

// The sum of a metric's samples in Prometheus text, whatever their labels.
double metric_sum(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0 || (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return sum;
}

// A config with a client stage and no egress stage is a client's.
bool is_client_config(const std::string& file) {
  bool client = false, egress = false;
  try {
    for (const Config& stage : Config::parse_file(file).tables("stage")) {
      client |= stage.string("plugin", "") == "client";
      egress |= stage.string("plugin", "") == "egress";
    }
  } catch (const std::exception&) {
    return false;  // the connector's checks say what is wrong with the file
  }
  return client && !egress;
}

}  // namespace

std::vector<Check> connector_checks(const std::string& file, double wait) {
  std::vector<Check> checks;
  auto add = [&](std::string name, bool ok, std::string detail, std::string hint = "") {
    checks.push_back({std::move(name), ok, std::move(detail), std::move(hint)});
    return ok;
  };

  std::optional<Config> root;
  std::shared_ptr<const Directory> d;
  std::string admin, token;
  try {
    root = Config::parse_file(file);
    AdminAccess access = admin_access(file);
    admin = access.address;
    token = access.token;
    d = Directory::from_file(file);
  } catch (const std::exception& e) {
    add("config", false, e.what(), "fix the file; `waygate check -c " + file + "` checks every stage too");
    return checks;
  }
  add("config", true, file + " reads, with its identities, sockets and policies");
  for (auto& w : d->warnings)
    checks.push_back({"directory", true, w,
                      "if this is how it should be, nothing to do; `waygate access-graph -c " + file +
                          "` shows who reaches what",
                      true});

  bool running = false;
  try {
    admin_get(admin, "/healthz", token);
    running = add("connector running", true, "the admin API answers on " + admin);
  } catch (const std::exception& e) {
    add("connector running", false, e.what(),
        "start it: `waygate run -c " + file + "` (in the namespace it runs in), or fix [host] admin");
  }

  for (std::size_t s = 0; s < d->sockets.size(); ++s) {
    const Socket& sock = d->sockets[s];
    std::vector<std::string> names;
    for (auto& p : d->policies)
      if (p.applies_to(static_cast<std::uint32_t>(s)) && p.grants("network")) names.push_back(p.name);
    add(fmt::format("policy linked to {}", sock.name), !names.empty(),
        names.empty() ? "no policy with the network permission applies to it: nobody may use it"
                      : fmt::format("network permission from {}", fmt::join(names, ", ")),
        "link a policy with permissions = [\"network\"] to it (sockets = [\"" + sock.name +
            "\"] or organization_wide = true); `waygate access-graph -c " + file + "` shows who reaches what");
  }

  // What each exit node reaches, as the running policy stage has it: the internet, what its
  // socket allows, minus the overlay and the connector's own addresses as the kernel has them now.
  if (running) {
    try {
      auto answer = boost::json::parse(admin_get(admin, "/v1/sockets", token));
      for (auto& sock : answer.at("sockets").as_array())
        if (sock.at("type") == "exit_node" && sock.as_object().contains("reaches"))
          add(fmt::format("{} reaches", std::string_view(sock.at("name").as_string())), true,
              std::string(sock.at("reaches").as_string()));
    } catch (const std::exception&) {  // no policy stage serves it: nothing to say
    }
  }

  int wireguard_port = 0;
  for (const Config& stage : root->tables("stage")) {
    std::string plugin = stage.string("plugin", ""), name = stage.string("name", "");
    if (plugin == "wireguard") wireguard_port = static_cast<int>(stage.integer("listen_port", 0, 0, 65535));
    if (plugin != "egress") continue;
    Settings s;
    try {
      s = read_settings(stage, *d);
    } catch (const std::exception& e) {
      add("egress stage " + name, false, e.what(), "fix the stage");
      continue;
    }
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
      continue;
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
    add("egress address on " + s.interface, missing.empty(),
        missing.empty() ? fmt::format("{} present", fmt::join(found, ", ")) : fmt::format("{} missing", fmt::join(missing, ", ")),
        fmt::format("the socket's egress address must be on {}: `ip addr add {} dev {}`, or fix [[socket]] egress",
                    s.interface, missing.empty() ? "" : missing.front(), s.interface));
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
          device = metric_sum(admin_get(admin, "/metrics", token),
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

  if (wireguard_port > 0) {
    try {
      std::string rules = run_nft("list ruleset\n");
      bool drops_input = rules.find("hook input") != std::string::npos && rules.find("policy drop") != std::string::npos;
      bool admits = rules.find(fmt::format("udp dport {} accept", wireguard_port)) != std::string::npos;
      add("firewall", !drops_input || admits,
          drops_input ? (admits ? fmt::format("an input policy drops, but UDP {} is accepted", wireguard_port)
                                : fmt::format("an input chain drops by default and no rule accepts UDP {}", wireguard_port))
                      : "no input chain drops by default",
          fmt::format("let the clients' WireGuard packets in: nft add rule inet filter input udp dport {} accept",
                      wireguard_port));
    } catch (const std::exception& e) {
      add("firewall", false, e.what(), "is nft installed?");
    }
  }

  if (running) {
    try {
      std::string before = admin_get(admin, "/metrics", token);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      std::string after = admin_get(admin, "/metrics", token);
      // The wireguard stage's, by the names it publishes for others (waygate/metric_names.hpp).
      const std::string rx = "waygate_wireguard_" + std::string(metric::kRxPackets);
      double packets = metric_sum(after, rx) - metric_sum(before, rx);
      double handshakes = metric_sum(after, "waygate_wireguard_" + std::string(metric::kHandshakes));
      add("packets arriving", packets > 0,
          fmt::format("{} WireGuard packets in {} s; {} handshakes since start", packets, wait, handshakes),
          fmt::format("no client sent anything: are clients connected and selecting the exit node? Is UDP {} "
                      "reachable from them (`tcpdump -ni any udp port {}` here)?",
                      wireguard_port, wireguard_port));
    } catch (const std::exception& e) {
      add("packets arriving", false, e.what(), "the admin API stopped answering");
    }
  }
  return checks;
}

int doctor_command(int argc, char** argv) {
  CLI::App app{"Check an exit node the way its troubleshooting list says", "doctor"};
  std::string file;
  double wait = 2;
  app.add_option("-c,--config", file, "The connector's config file")->required();
  app.add_option("--wait", wait, "Seconds to watch the counters move")->check(CLI::Range(0.1, 60.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // One doctor for both sides: a client's file goes to the client plugin's checks, through the
  // host's own command lookup (this plugin does not link that one).
  if (is_client_config(file)) {
    std::string seconds = std::to_string(wait);
    const char* args[] = {"waygate", "client", "doctor", "-c", file.c_str(), "--wait", seconds.c_str(), nullptr};
    ::execv("/proc/self/exe", const_cast<char**>(args));
    fmt::print(stderr, "waygate doctor: cannot run waygate client doctor: {}\n", std::strerror(errno));
    return 1;
  }
  int failed = 0;
  for (const Check& c : connector_checks(file, wait)) {
    fmt::print("{} {}: {}\n", !c.ok ? "FAIL" : c.warning ? "warn" : "pass", c.name, c.detail);
    failed += c.ok ? 0 : 1;
    if (!c.ok || c.warning) fmt::print("     -> {}\n", c.hint);
  }
  fmt::print("{}\n", failed == 0 ? "all checks pass" : fmt::format("{} check(s) failed", failed));
  return failed == 0 ? 0 : 1;
}

}  // namespace waygate::egress
