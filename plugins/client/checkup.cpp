#include "checkup.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "client_file.hpp"
#include "waygate/nft.hpp"
#include "waygate/packet_trace.hpp"
#include "routes.hpp"
#include "selection.hpp"
#include "waygate/packet.hpp"

namespace waygate::client {

namespace {

namespace json = boost::json;

struct Report {
  std::vector<Check> checks;
  bool check(const std::string& name, bool ok, const std::string& detail, const std::string& hint = "") {
    checks.push_back({name, ok, detail, hint});
    return ok;
  }
};

// An address inside the prefix, away from its edges (its first address may be special, its last
// a broadcast or loopback): the route the kernel picks for it is the prefix's route.
std::optional<net::Address> probe(const std::string& prefix) {
  auto p = net::Prefix::parse(prefix);
  if (!p) return std::nullopt;
  const std::size_t size = p->address.is_v4() ? 4 : 16;
  if (p->bits + 1u >= size * 8) return p->address;
  std::array<std::uint8_t, 16> b = p->address.raw();
  const std::size_t bit = p->bits;  // the first host bit: the middle of the prefix
  b[bit / 8] = static_cast<std::uint8_t>(b[bit / 8] | (0x80u >> (bit % 8)));
  b[size - 1] = static_cast<std::uint8_t>(b[size - 1] | 1u);
  return size == 4 ? net::Address::v4(std::span<const std::uint8_t, 4>(b.data(), 4)) : net::Address::v6(b);
}


std::vector<std::string> nameservers(const std::string& resolv_conf) {
  std::ifstream in(resolv_conf);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "nameserver") out.push_back(value);
  }
  return out;
}

// A query for the root's name servers, answered or not within `wait` seconds.
bool dns_answers(const net::Address& server, double wait) {
  Endpoint to;
  if (!parse_endpoint(server.is_v6() ? "[" + server.to_string() + "]:53" : server.to_string() + ":53", to)) return false;
  int fd = ::socket(to.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const std::uint8_t query[] = {0x57, 0x47, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};  // id, RD, ".", NS, IN
  bool answered = false;
  if (::connect(fd, &to.addr.sa, to.len) == 0) {
    // Asked again every half second until the deadline, as a resolver would: one lost datagram
    // says nothing about the server.
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
    auto next = Clock::now();
    while (!answered && Clock::now() < deadline) {
      if (Clock::now() >= next) {
        if (::send(fd, query, sizeof query, 0) != sizeof query) break;
        next = Clock::now() + std::chrono::milliseconds(500);
      }
      pollfd p{fd, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(deadline, next) - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) continue;
      std::uint8_t reply[512];
      ssize_t n = ::recv(fd, reply, sizeof reply, 0);
      answered = n >= 12 && reply[0] == query[0] && reply[1] == query[1] && (reply[2] & 0x80) != 0;
    }
  }
  ::close(fd);
  return answered;
}

}  // namespace

std::vector<Check> client_checks(const std::string& file, double wait, bool alone) {
  Report r;
  std::optional<ClientFile> f;
  try {
    f = ClientFile::read(file);
  } catch (const std::exception& e) {
    r.check("config", false, e.what(), "fix the file; `waygate check -c " + file + "` checks every stage");
    return r.checks;
  }
  if (alone)
    r.check("config", true, fmt::format("{} reads: {} connector(s), device {}", file, f->settings.connectors.size(), f->settings.device));

  std::vector<TunnelPeer> peers;
  bool running = false;
  try {
    peers = tunnel_peers(*f);
    running = true;
    if (alone) r.check("client running", true, "its admin API answers on " + f->admin.address);
  } catch (const std::exception& e) {
    r.check("client running", false, e.what(), "start it: `waygate run -c " + file + "`");
  }

  std::optional<Selection> s;
  try {
    s = load_selection(f->settings.state);
  } catch (const std::exception& e) {
    r.check("selection", false, e.what(), "`waygate client off`, then `waygate client use NAME` again");
  }
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::optional<json::value> answer;  // the connector's routing information for the one in use
  for (auto& k : f->settings.connectors) {
    if (running) {
      const TunnelPeer* p = nullptr;
      for (auto& x : peers)
        if (x.name == k.name) p = &x;
      if (!r.check("tunnel to " + k.name, p != nullptr && p->session,
                   p == nullptr ? "the tunnel stage has no peer of that name" : p->session ? "a session is up" : "no session",
                   p == nullptr ? "name the tunnel stage's peer for it in [[stage.connector]] name"
                                : "no handshake completed: check the peer's endpoint and public key, and that UDP reaches "
                                  "the connector (its firewall, `waygate doctor` there)"))
        continue;
      bool fresh = p->last_handshake && now - *p->last_handshake < 180;
      r.check("handshake with " + k.name, fresh,
              p->last_handshake ? fmt::format("{} s ago", now - *p->last_handshake) : "never",
              "a session older than 180 s is dead: the connector stopped answering (restarted? key changed?)");
    }
    try {
      json::value routes = connector_api(k, "GET", "/v1/routes");
      r.check("API of " + k.name, true, fmt::format("answers through the tunnel at {}, as {}", k.api,
                                                  std::string_view(routes.at("identity").as_string())));
      if (s && s->connector == k.name) answer = std::move(routes);
    } catch (const std::exception& e) {
      r.check("API of " + k.name, false, e.what(),
              "the clients' API is on the connector's overlay address: the device's address must cover it "
              "(address = [\"10.64.0.2/24\"]), and the connector must serve [host] api");
    }
  }

  if (!r.check("exit node selected", s.has_value(), s ? fmt::format("{} on {}", s->exit_node, s->connector) : "none",
               "`waygate client exit-nodes -c " + file + "` lists them; `waygate client use NAME -c " + file + "`"))
    return r.checks;
  if (answer) {
    bool offered = false;
    for (auto& x : answer->at("exit_nodes").as_array()) offered |= x.at("name").as_string() == s->exit_node;
    const std::string who(answer->at("identity").as_string());
    if (r.check("permission granted", offered,
                offered ? fmt::format("a policy linked to {} grants {} the network permission", s->exit_node, who)
                        : fmt::format("{} offers {} no exit node {}", s->connector, who, s->exit_node),
                fmt::format("no policy linked to {} grants {} the network permission (or its who/where/when "
                            "conditions fail): on the connector, `waygate access-graph -c FILE --identity {} --socket {}` "
                            "says which",
                            s->exit_node, who, who, s->exit_node))) {
      bool same = answer->at("exit_node").is_string() && answer->at("exit_node").as_string() == s->exit_node;
      r.check("connector's selection", same, same ? "the connector sends you through " + s->exit_node : "the connector has another selection",
              "`waygate client use " + s->exit_node + " -c " + file + "` again");
    }
  }
  if (!r.check("installed", s->installed.has_value(), s->installed ? "routes and the rest are in place" : "selected but not installed",
               "the client host installs it when it starts: is it running?"))
    return r.checks;

  RouteTable table;
  for (auto& prefix : s->routes) {
    auto at = probe(prefix);
    auto path = at ? table.lookup(*at) : std::nullopt;
    r.check("route " + prefix, path && path->device == f->settings.device,
            path ? fmt::format("{} goes out of {}", at->to_string(), path->device) : "no route",
            fmt::format("a more specific route takes it elsewhere, or the route is gone: `waygate client use {}` "
                        "again puts it back",
                        s->exit_node));
  }
  for (const std::string& endpoint : s->endpoints) {
    Endpoint e;
    if (!parse_endpoint(endpoint, e)) continue;
    auto host = endpoint.substr(0, endpoint.rfind(':'));
    if (host.front() == '[') host = host.substr(1, host.size() - 2);
    auto to = net::parse_address(host);
    auto path = to ? table.lookup(*to) : std::nullopt;
    r.check("bypass to " + endpoint, path && path->device != f->settings.device,
            path ? fmt::format("{} goes out of {}{}", host, path->device, path->gateway.empty() ? "" : " via " + path->gateway)
                 : "no route",
            "the tunnel's own packets would enter the tunnel: `waygate client use` installs a route for the "
            "connector's address on the original path");
  }

  if (f->settings.dns && !s->dns.empty()) {
    auto servers = nameservers(f->settings.resolv_conf);
    r.check("resolver", servers == s->dns, fmt::format("{} names {}", f->settings.resolv_conf, fmt::join(servers, ", ")),
            fmt::format("it should name the exit node's DNS servers ({}): something rewrote it (a DHCP client, "
                        "a resolver manager); `waygate client use {}` again",
                        fmt::join(s->dns, ", "), s->exit_node));
    for (auto& server : s->dns) {
      auto a = net::parse_address(server);
      auto path = a ? table.lookup(*a) : std::nullopt;
      if (!r.check("DNS " + server + " through the tunnel", path && path->device == f->settings.device,
                   path ? "goes out of " + path->device : "no route",
                   "queries to it would leak around the exit node: a more specific route takes it elsewhere"))
        continue;
      r.check("DNS " + server + " answers", dns_answers(*a, wait), fmt::format("a query through the tunnel, {} s", wait),
              "the exit node's DNS server does not answer: ask the operator ([[socket]] dns)");
    }
  }
  if (s->lockdown) {
    const std::string name = s->installed->lockdown_table;
    bool present = false;
    try {
      run_nft("list table inet " + name + "\n");
      present = true;
    } catch (const std::exception&) {
    }
    r.check("lockdown", present, present ? "nftables table inet " + name + " lets nothing out but the tunnel" : "its table is gone",
            "a firewall manager flushed the ruleset: `waygate client use " + s->exit_node + " --lockdown` again");
  }
  return r.checks;
}

int client_doctor(const std::string& file, double wait) {
  // This host's pipeline is traced while the checks send their packets (to the connectors' API,
  // to the exit node's DNS servers): when one fails, where its packets stopped says why.
  std::optional<PacketTrace> trace;
  try {
    const AdminAccess admin = ClientFile::read(file).admin;
    trace.emplace(admin.address, admin.token, static_cast<int>(wait) + 30);
  } catch (const std::exception&) {  // not running, or the file does not read: the checks say so
  }
  std::vector<Check> checks = client_checks(file, wait, true);
  if (trace && std::any_of(checks.begin(), checks.end(), [](const Check& c) { return !c.ok; })) try {
      checks.push_back(where_packets_stop(*trace, file));
    } catch (const std::exception& e) {
      checks.push_back({"where packets stop", false, e.what(), "the client host's admin API stopped answering"});
    }
  int failed = 0;
  for (const Check& c : checks) {
    fmt::print("{} {}: {}\n", c.ok ? "pass" : "FAIL", c.name, c.detail);
    if (!c.ok) ++failed, fmt::print("     -> {}\n", c.hint);
  }
  fmt::print("{}\n", failed == 0 ? "all checks pass" : fmt::format("{} check(s) failed", failed));
  return failed == 0 ? 0 : 1;
}

namespace {

// In `waygate doctor -c CLIENT.toml`, after the host's own checks (the file, the admin API).
std::vector<Check> checkup(const Patient& p) { return client_checks(p.file, p.wait, false); }

}  // namespace

}  // namespace waygate::client

WAYGATE_DOCTOR(waygate::client::checkup)
