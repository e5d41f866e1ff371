#include "client_api.hpp"

#include <boost/json.hpp>

namespace waygate::policy {

namespace json = boost::json;

namespace {

Response reply(unsigned status, const json::value& body) {
  return {status, "application/json", json::serialize(body) + "\n"};
}

Response error(unsigned status, std::string_view message) {
  return reply(status, json::object{{"error", message}});
}

json::array strings(const std::vector<net::Address>& v) {
  json::array out;
  for (auto& a : v) out.emplace_back(a.to_string());
  return out;
}

// The socket's connectors that are alive in etcd, as a client reaches them; none when the
// directory is a file (the client then knows only the connector it asks).
json::array live_connectors(const Directory& d, const Socket& sock) {
  json::array out;
  for (const std::string& name : sock.connectors)
    for (const LiveConnector& c : d.connectors)
      if (c.name == name)
        out.push_back(json::object{{"name", c.name}, {"endpoint", c.endpoint}, {"public_key", c.public_key}});
  return out;
}

json::value routing(const Access& a, std::uint32_t identity) {
  const Directory& d = a.directory();
  const std::uint32_t in_use = a.exit_node(identity);
  json::array exits, routes;
  json::array dns;
  for (std::uint32_t s = 0; s < d.sockets.size(); ++s) {
    if (!a.granted(identity, s)) continue;
    const Socket& sock = d.sockets[s];
    if (sock.type == SocketType::exit_node) {
      exits.push_back(json::object{{"name", sock.name},
                                   {"description", sock.description},
                                   {"connectors", live_connectors(d, sock)},
                                   {"selected", s == in_use}});
      continue;
    }
    for (auto& p : sock.routes) routes.push_back(json::object{{"prefix", p.to_string()}, {"socket", sock.name}});
    for (auto& x : sock.dns) dns.emplace_back(x.to_string());
  }
  json::value exit_node = nullptr;
  if (in_use != kNoId) {
    const Socket& sock = d.sockets[in_use];
    exit_node = json::string(sock.name);
    for (const char* half : {"0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"})
      routes.push_back(json::object{{"prefix", half}, {"socket", sock.name}});
    dns = strings(sock.dns);  // its resolvers, so names do not leak around it
  }
  return json::object{{"identity", d.identities[identity].name},
                      {"address", strings(d.identities[identity].addresses)},
                      {"connector", strings(d.overlay.connector)},
                      {"exit_nodes", std::move(exits)},
                      {"exit_node", std::move(exit_node)},
                      {"routes", std::move(routes)},
                      {"dns", std::move(dns)}};
}

}  // namespace

Response answer_client(Access& access, const Request& r) {
  std::uint32_t identity = access.identity_at(r.peer);
  if (identity == kNoId) return error(403, "this API answers identities inside the tunnel only");
  if (r.path == "/v1/routes") {
    if (r.method != "GET") return error(405, "GET only");
    return reply(200, routing(access, identity));
  }
  if (r.method == "DELETE") {
    access.select(identity, kOff);
    return reply(200, routing(access, identity));
  }
  if (r.method != "PUT" && r.method != "POST") return error(405, "PUT or DELETE");
  std::error_code ec;
  json::value body = json::parse(r.body, ec);
  const json::string* name = nullptr;
  if (!ec && body.is_object())
    if (auto* n = body.as_object().if_contains("name"); n && n->is_string()) name = &n->as_string();
  if (name == nullptr) return error(400, "expected {\"name\": \"<exit node>\"}");
  std::uint32_t s = access.directory().socket_by_name(std::string_view(*name));
  // A socket it may not use is answered exactly like one that does not exist.
  if (s == kNoId || access.directory().sockets[s].type != SocketType::exit_node || !access.granted(identity, s))
    return error(404, "no exit node of that name is available to you");
  access.select(identity, s);
  return reply(200, routing(access, identity));
}

}  // namespace waygate::policy
