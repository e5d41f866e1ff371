#include "client_file.hpp"

#include <stdexcept>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/config.hpp"

namespace waygate::client {

namespace json = boost::json;

ClientFile ClientFile::read(const std::string& path) {
  ClientFile f;
  f.path = path;
  Config root = Config::parse_file(path);
  for (const Config& stage : root.tables("stage")) {
    if (stage.string("plugin", "") != "client") continue;
    f.settings = Settings::read(stage, stage.string("name", "client"));
    f.admin = admin_access(path);
    return f;
  }
  throw std::runtime_error(path + " has no stage with plugin = \"client\": is it a client's config (configs/client.toml)?");
}

const Connector* ClientFile::connector(const std::string& name) const {
  for (auto& k : settings.connectors)
    if (k.name == name) return &k;
  return nullptr;
}

json::value connector_api(const Connector& k, const std::string& method, const std::string& target, const std::string& body) {
  HttpAnswer a;
  try {
    a = http_request(k.api, method, target, body);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("connector {}: {} (is the client host running, and the tunnel up? "
                                         "waygate client status)",
                                         k.name, e.what()));
  }
  std::error_code ec;
  json::value v = json::parse(a.body, ec);
  if (a.status / 100 != 2 || ec) {
    std::string why = a.body;
    if (!ec && v.is_object())
      if (auto* e = v.as_object().if_contains("error"); e && e->is_string()) why = std::string(e->as_string());
    throw std::runtime_error(fmt::format("connector {} answered {}: {}", k.name, a.status, why));
  }
  return v;
}

std::vector<TunnelPeer> tunnel_peers(const ClientFile& f) {
  json::value v = json::parse(admin_get(f.admin.address, "/v1/peers", f.admin.token));
  std::vector<TunnelPeer> out;
  for (auto& p : v.at("peers").as_array()) {
    TunnelPeer t;
    t.name = p.at("name").as_string();
    if (auto* k = p.as_object().if_contains("public_key"); k && k->is_string()) t.public_key = k->as_string();
    if (auto* s = p.as_object().if_contains("in_service"); s && s->is_bool()) t.in_service = s->as_bool();
    if (auto* r = p.as_object().if_contains("handshake_rtt_ms"); r && r->is_number()) t.handshake_rtt_ms = r->to_number<double>();
    if (p.at("endpoint").is_string()) t.endpoint = p.at("endpoint").as_string();
    if (!p.at("last_handshake").is_null()) t.last_handshake = p.at("last_handshake").to_number<long long>();
    t.session = p.at("session").as_bool();
    t.rx_bytes = p.at("rx_bytes").to_number<std::uint64_t>();
    t.tx_bytes = p.at("tx_bytes").to_number<std::uint64_t>();
    out.push_back(std::move(t));
  }
  return out;
}

void put_in_service(const ClientFile& f, const std::string& peer) {
  const HttpAnswer a = http_request(f.admin.address, "PUT", "/v1/peers",
                                    json::serialize(json::object{{"in_service", peer}}), f.admin.token);
  if (a.status != 200) throw std::runtime_error(fmt::format("the tunnel would not put {} in service: {}", peer, a.body));
}

}  // namespace waygate::client
