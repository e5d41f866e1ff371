#include "graph.hpp"

#include <chrono>
#include <optional>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "reach.hpp"
#include "waygate/config.hpp"
#include "waygate/net/interfaces.hpp"
#include "waygate/utc.hpp"

namespace waygate::policy {

namespace {

struct Edge {
  std::uint32_t identity, policy, socket;
  std::string conditions;  // where/when, "" if none
};

// Every (identity, policy, socket) whose policy grants network and whose who holds.
std::vector<Edge> edges(const Directory& d) {
  std::vector<Edge> out;
  Situation anyone;
  anyone.who_only = true;
  for (std::uint32_t s = 0; s < d.sockets.size(); ++s)
    for (std::uint32_t i = 0; i < d.identities.size(); ++i)
      for (auto& f : evaluate(d, i, s, anyone).findings)
        if (f.failed.empty()) out.push_back({i, f.policy, s, situational(d.policies[f.policy])});
  return out;
}

std::string dot_id(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string graph_text(const Directory& d) {
  auto all = edges(d);
  std::string out;
  for (std::uint32_t s = 0; s < d.sockets.size(); ++s) {
    const Socket& sock = d.sockets[s];
    out += fmt::format("{} ({}{}{})\n", sock.name, to_string(sock.type),
                       sock.connectors.empty() ? "" : fmt::format(" on {}", fmt::join(sock.connectors, ", ")),
                       sock.description.empty() ? "" : ": " + sock.description);
    bool any = false;
    for (auto& e : all) {
      if (e.socket != s) continue;
      any = true;
      out += fmt::format("  {} <- {}{}\n", d.identities[e.identity].name, d.policies[e.policy].name,
                         e.conditions.empty() ? "" : " [" + e.conditions + "]");
    }
    if (!any) out += "  nobody\n";
  }
  for (auto& w : d.warnings) out += "warning: " + w + "\n";
  return out;
}

std::string graph_dot(const Directory& d) {
  std::string out = "digraph access {\n  rankdir=LR;\n";
  for (auto& id : d.identities) out += fmt::format("  {} [shape=ellipse];\n", dot_id("identity:" + id.name));
  for (auto& p : d.policies) out += fmt::format("  {} [shape=note];\n", dot_id("policy:" + p.name));
  for (auto& s : d.sockets) out += fmt::format("  {} [shape=box];\n", dot_id("socket:" + s.name));
  // Each (identity, policy) and (policy, socket) arrow is drawn once.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> members, linked;
  auto first = [](auto& seen, std::uint32_t a, std::uint32_t b) {
    if (std::find(seen.begin(), seen.end(), std::pair{a, b}) != seen.end()) return false;
    seen.emplace_back(a, b);
    return true;
  };
  for (auto& e : edges(d)) {
    if (first(members, e.identity, e.policy))
      out += fmt::format("  {} -> {};\n", dot_id("identity:" + d.identities[e.identity].name),
                         dot_id("policy:" + d.policies[e.policy].name));
    if (!first(linked, e.policy, e.socket)) continue;
    out += fmt::format("  {} -> {}{};\n", dot_id("policy:" + d.policies[e.policy].name),
                       dot_id("socket:" + d.sockets[e.socket].name),
                       e.conditions.empty() ? "" : " [label=" + dot_id(e.conditions) + "]");
  }
  return out + "}\n";
}

std::string graph_json(const Directory& d) {
  namespace json = boost::json;
  json::array identities, sockets, policies, links;
  for (auto& id : d.identities) {
    json::array addresses, groups;
    for (auto& a : id.addresses) addresses.emplace_back(a.to_string());
    for (auto& g : id.groups) groups.emplace_back(g);
    identities.push_back(json::object{{"name", id.name}, {"email", id.email}, {"groups", groups},
                                      {"address", addresses}});
  }
  for (auto& s : d.sockets)
    sockets.push_back(json::object{{"name", s.name}, {"type", to_string(s.type)},
                                   {"description", s.description}, {"connectors", json::array(s.connectors.begin(), s.connectors.end())}});
  for (auto& p : d.policies) {
    json::array linked, permissions;
    for (auto s : p.sockets) linked.emplace_back(d.sockets[s].name);
    for (auto& x : p.permissions) permissions.emplace_back(x);
    policies.push_back(json::object{{"name", p.name}, {"organization_wide", p.organization_wide},
                                    {"sockets", linked}, {"permissions", permissions},
                                    {"conditions", situational(p)}});
  }
  for (auto& e : edges(d))
    links.push_back(json::object{{"identity", d.identities[e.identity].name},
                                 {"policy", d.policies[e.policy].name},
                                 {"socket", d.sockets[e.socket].name},
                                 {"conditions", e.conditions}});
  json::array warnings;
  for (auto& w : d.warnings) warnings.emplace_back(w);
  return json::serialize(json::object{{"identities", identities}, {"sockets", sockets},
                                      {"policies", policies}, {"edges", links},
                                      {"warnings", warnings}}) + "\n";
}

std::string why(const Directory& d, std::uint32_t identity, std::uint32_t socket, const Situation& s) {
  return fmt::format("{} -> {}: {}", d.identities[identity].name, d.sockets[socket].name,
                     evaluate(d, identity, socket, s).explain(d, socket));
}

int access_graph_command(int argc, char** argv) {
  CLI::App app{"Who reaches which socket through which policy", "access-graph"};
  std::string file, identity, socket, from, at, to;
  bool dot = false, as_json = false;
  app.add_option("-c,--config", file, "The connector's config file")->required();
  app.add_flag("--dot", dot, "Print the graph in Graphviz DOT");
  app.add_flag("--json", as_json, "Print the graph as JSON");
  app.add_option("--identity", identity, "With --socket: may this identity use the socket, and why (not)");
  app.add_option("--socket", socket, "With --identity");
  app.add_option("--from", from, "The client's underlay address, for 'where' conditions");
  app.add_option("--at", at, "The moment, for 'when' conditions (2026-01-31T08:00:00Z; default now)");
  app.add_option("--to", to,
                 "With --socket: does the socket reach this destination, and why (not); the connector's own "
                 "addresses are this machine's");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    auto d = Directory::from_file(file);
    if (socket.empty() ? !identity.empty() || !to.empty() : identity.empty() && to.empty()) {
      fmt::print(stderr, "--identity and --socket go together, and --to needs --socket\n");
      return 2;
    }
    std::optional<net::Address> destination;
    if (!to.empty() && !(destination = net::parse_address(to))) {
      fmt::print(stderr, "--to '{}': not an IP address\n", to);
      return 2;
    }
    if (socket.empty()) {
      fmt::print("{}", dot ? graph_dot(*d) : as_json ? graph_json(*d) : graph_text(*d));
      return 0;
    }
    std::uint32_t i = d->identity_by_name(identity), s = d->socket_by_name(socket);
    if ((i == kNoId && !identity.empty()) || s == kNoId) {
      fmt::print(stderr, "{}: no {} named '{}'\n", file, s != kNoId ? "identity" : "socket",
                 s != kNoId ? identity : socket);
      return 1;
    }
    bool reached = true;
    if (destination) {
      std::vector<net::Address> own;
      for (auto& a : net::interface_addresses()) own.push_back(a.address);
      Reach reach;
      reach.build(*d, own);
      net::Reachability r = reach.explain(s, *destination);
      reached = r.reached;
      fmt::print("{} -> {}: {}: {}\n", socket, destination->to_string(), r.reached ? "reached" : "not reached", r.why);
      if (i == kNoId) return reached ? 0 : 3;
    }
    Situation here;
    here.at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    if (!at.empty()) {
      auto when = parse_utc(at);
      if (when) here.at = std::chrono::floor<std::chrono::seconds>(*when);
      if (!when) {
        fmt::print(stderr, "--at '{}': expected a UTC time such as 2026-01-31T08:00:00Z\n", at);
        return 2;
      }
    }
    if (!from.empty()) {
      auto a = net::parse_address(from);
      if (!a) {
        fmt::print(stderr, "--from '{}': not an IP address\n", from);
        return 2;
      }
      here.source = *a;
    }
    Verdict v = evaluate(*d, i, s, here);
    fmt::print("{}\n", why(*d, i, s, here));
    return v.granted && reached ? 0 : 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
}


}  // namespace waygate::policy
