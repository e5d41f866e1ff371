#include "client_command.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "client_file.hpp"
#include "checkup.hpp"
#include "selection.hpp"

namespace waygate::client {

namespace {

namespace json = boost::json;

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (auto& x : v.as_array()) out.emplace_back(x.as_string());
  return out;
}

std::string bytes(std::uint64_t n) {
  if (n < 10'000) return fmt::format("{} B", n);
  if (n < 10'000'000) return fmt::format("{:.1f} kB", n / 1e3);
  if (n < 10'000'000'000) return fmt::format("{:.1f} MB", n / 1e6);
  return fmt::format("{:.2f} GB", n / 1e9);
}

int exit_nodes(const ClientFile& f) {
  int unreachable = 0;
  for (auto& k : f.settings.connectors) {
    json::value routes;
    try {
      routes = connector_api(k, "GET", "/v1/routes");
    } catch (const std::exception& e) {
      fmt::print("{}: {}\n", k.name, e.what());
      ++unreachable;
      continue;
    }
    const auto& list = routes.at("exit_nodes").as_array();
    fmt::print("{} (as {}):\n", k.name, std::string_view(routes.at("identity").as_string()));
    if (list.empty()) fmt::print("  no exit node: no policy linked to one grants you the network permission\n");
    for (auto& x : list)
      fmt::print("  {:<20} {}{}\n", std::string_view(x.at("name").as_string()), std::string_view(x.at("description").as_string()),
                 x.at("selected").as_bool() ? "   [in use]" : "");
  }
  return unreachable == 0 ? 0 : 1;
}

// The tunnel peer to carry the exit node: of its connectors alive (as the connector's API lists
// them) those the tunnel has as peers, the pinned one, or the one whose handshake was quickest;
// with none listed (a directory kept in a file), the connector that offers it. `why` says which.
struct Carrier {
  std::string peer, why;
  std::vector<std::string> endpoints;  // the carrier's first, then those it may fail over to
};

Carrier carrier(const json::value& exit_node, const std::vector<TunnelPeer>& peers, const Connector& offering,
                const std::string& pinned) {
  std::vector<std::pair<const TunnelPeer*, std::string>> live;  // tunnel peer, connector's name
  for (auto& c : exit_node.at("connectors").as_array())
    for (auto& p : peers)
      if (!p.public_key.empty() && p.public_key == c.at("public_key").as_string()) live.emplace_back(&p, c.at("name").as_string());
  Carrier out;
  const TunnelPeer* chosen = nullptr;
  if (!pinned.empty()) {
    for (auto& [p, name] : live)
      if (name == pinned || p->name == pinned) chosen = p;
    if (chosen == nullptr)
      throw std::runtime_error(fmt::format("connector {} is not alive for this exit node, or not a peer of your tunnel", pinned));
    out.why = "pinned (--connector)";
  } else if (!live.empty()) {
    for (auto& [p, name] : live)
      if (p->handshake_rtt_ms > 0 && (chosen == nullptr || p->handshake_rtt_ms < chosen->handshake_rtt_ms)) chosen = p;
    if (chosen != nullptr) out.why = fmt::format("the quickest handshake of {} alive ({:.1f} ms)", live.size(), chosen->handshake_rtt_ms);
    else chosen = live.front().first, out.why = fmt::format("the first of {} alive (no handshake measured yet)", live.size());
  }
  if (chosen == nullptr) {
    out.peer = offering.name;
    out.why = "the connector offering it";
    for (auto& p : peers)
      if (p.name == offering.name && !p.endpoint.empty()) out.endpoints.push_back(p.endpoint);
    return out;
  }
  out.peer = chosen->name;
  out.endpoints.push_back(chosen->endpoint);
  for (auto& [p, name] : live)
    if (p != chosen && !p->endpoint.empty()) out.endpoints.push_back(p->endpoint);
  return out;
}

int use(const ClientFile& f, const std::string& name, bool lockdown, const std::string& pinned) {
  // The connector that offers it; a connector offering nothing by that name reads the same as one
  // that does not know it.
  const Connector* offering = nullptr;
  json::value exit_node;
  for (auto& k : f.settings.connectors) {
    json::value routes;
    try {
      routes = connector_api(k, "GET", "/v1/routes");
    } catch (const std::exception&) {
      continue;  // another connector may answer: the tunnel reaches one of them at a time
    }
    for (auto& x : routes.at("exit_nodes").as_array())
      if (x.at("name").as_string() == name) offering = &k, exit_node = x;
    if (offering) break;
  }
  if (!offering) {
    fmt::print(stderr, "no connector offers an exit node '{}' to you (waygate client exit-nodes -c {} lists them)\n",
               name, f.path);
    return 3;
  }
  const Carrier chosen = carrier(exit_node, tunnel_peers(f), *offering, pinned);
  if (chosen.endpoints.empty())
    throw std::runtime_error(fmt::format("the tunnel has no peer named {} with an endpoint: each [[stage.connector]] "
                                         "names the tunnel stage's peer for that connector",
                                         chosen.peer));
  if (chosen.endpoints.size() > 1) put_in_service(f, chosen.peer);

  json::value answer = connector_api(*offering, "PUT", "/v1/exit-node", json::serialize(json::object{{"name", name}}));
  Selection next{chosen.peer, name, chosen.endpoints, {}, strings(answer.at("dns")), lockdown, std::nullopt};
  for (auto& r : answer.at("routes").as_array())
    if (r.at("socket").as_string() == name) next.routes.emplace_back(r.at("prefix").as_string());

  if (auto old = load_selection(f.settings.state))
    for (auto& problem : uninstall(*old)) fmt::print(stderr, "removing exit node {}: {}\n", old->exit_node, problem);
  install(next, f.settings);
  save_selection(f.settings.state, next);

  fmt::print("using exit node {} on {}: {}\n", name, chosen.peer, chosen.why);
  if (chosen.endpoints.size() > 1)
    fmt::print("  {} other connector(s) alive: the tunnel moves to the next if {} falls silent\n", chosen.endpoints.size() - 1,
               chosen.peer);
  for (auto& r : next.installed->routes)
    fmt::print("  route {} dev {}{}\n", r.prefix, r.device, r.gateway.empty() ? "" : " via " + r.gateway);
  if (!next.installed->resolver.empty()) fmt::print("  resolver {}: {}\n", next.installed->resolver, fmt::join(next.dns, ", "));
  if (!next.installed->lockdown_table.empty())
    fmt::print("  lockdown: nothing leaves outside {} (nftables table inet {})\n", f.settings.device, next.installed->lockdown_table);
  return 0;
}

int off(const ClientFile& f) {
  auto s = load_selection(f.settings.state);
  if (!s) {
    fmt::print("no exit node in use\n");
    return 0;
  }
  if (const Connector* k = f.connector(s->connector)) {
    try {
      connector_api(*k, "DELETE", "/v1/exit-node");
    } catch (const std::exception& e) {
      fmt::print(stderr, "{} (it is cleared here all the same)\n", e.what());
    }
  }
  auto problems = uninstall(*s);
  for (auto& problem : problems) fmt::print(stderr, "{}\n", problem);
  forget_selection(f.settings.state);
  fmt::print("exit node {} no longer in use\n", s->exit_node);
  return problems.empty() ? 0 : 1;
}

int status(const ClientFile& f) {
  long long now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<TunnelPeer> peers;
  try {
    peers = tunnel_peers(f);
  } catch (const std::exception& e) {
    fmt::print("client host: not running ({})\n", e.what());
  }
  for (auto& k : f.settings.connectors) {
    const TunnelPeer* p = nullptr;
    for (auto& x : peers)
      if (x.name == k.name) p = &x;
    if (!p) {
      fmt::print("tunnel to {}: {}\n", k.name, peers.empty() ? "unknown" : "no such peer in the tunnel stage");
      continue;
    }
    fmt::print("tunnel to {} at {}: {}{}, handshake {}{}, received {}, sent {}\n", k.name, p->endpoint.empty() ? "?" : p->endpoint,
               p->session ? "up" : "down", p->in_service ? "" : ", standing by",
               p->last_handshake ? fmt::format("{} s ago", now - *p->last_handshake) : std::string("never"),
               p->handshake_rtt_ms > 0 ? fmt::format(" ({:.1f} ms round trip)", p->handshake_rtt_ms) : std::string(),
               bytes(p->rx_bytes), bytes(p->tx_bytes));
  }
  auto s = load_selection(f.settings.state);
  if (!s) {
    fmt::print("exit node: none (waygate client exit-nodes, then waygate client use NAME)\n");
    return 0;
  }
  // The connector carrying it now: the tunnel may have moved it to another of its connectors.
  std::string carrier = s->connector;
  for (auto& p : peers)
    if (p.in_service && p.name != s->connector && std::find(s->endpoints.begin(), s->endpoints.end(), p.endpoint) != s->endpoints.end())
      carrier = p.name + " (the tunnel moved it there from " + s->connector + ", which fell silent)";
  fmt::print("exit node: {} on {}{}{}\n", s->exit_node, carrier, s->lockdown ? ", lockdown" : "",
             s->installed ? "" : " (selected, not installed: is the client host running?)");
  if (s->installed) {
    for (auto& r : s->installed->routes)
      fmt::print("  route {} dev {}{}\n", r.prefix, r.device, r.gateway.empty() ? "" : " via " + r.gateway);
    if (!s->installed->resolver.empty()) fmt::print("  resolver: {}\n", fmt::join(s->dns, ", "));
  }
  return 0;
}

}  // namespace

int client_command(int argc, char** argv) {
  CLI::App app{"The exit node a client uses", "client"};
  std::string file, name, pinned;
  bool lockdown = false;
  double wait = 2;
  app.require_subcommand(1);
  auto with_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", file, "The client's config file (configs/client.toml)")->required();
    return sub;
  };
  auto* list = with_config(app.add_subcommand("exit-nodes", "List the exit nodes you may use, from every connector"));
  auto* pick = with_config(app.add_subcommand("use", "Send all traffic through this exit node"));
  pick->add_option("name", name, "The exit node")->required();
  pick->add_flag("--lockdown", lockdown, "Also let nothing leave outside the tunnel while it is in use");
  pick->add_option("--connector", pinned, "Of its connectors, this one (else the quickest alive)");
  auto* clear = with_config(app.add_subcommand("off", "Stop using the exit node; the routing is as it was before"));
  auto* show = with_config(app.add_subcommand("status", "The tunnel, the exit node in use, traffic"));
  auto* doctor = with_config(app.add_subcommand("doctor", "Check the exit node from this client, with what to do"));
  doctor->add_option("--wait", wait, "Seconds to wait for DNS answers")->check(CLI::Range(0.1, 30.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*doctor) return client_doctor(file, wait);
    ClientFile f = ClientFile::read(file);
    if (*list) return exit_nodes(f);
    if (*pick) return use(f, name, lockdown, pinned);
    if (*clear) return off(f);
    if (*show) return status(f);
  } catch (const std::exception& e) {
    fmt::print(stderr, "waygate client: {}\n", e.what());
    return 1;
  }
  return 2;
}

}  // namespace waygate::client
