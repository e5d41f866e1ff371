#include "settings.hpp"

#include "waygate/net/prefix.hpp"
#include "waygate/packet.hpp"

namespace waygate::client {

namespace {

// "10.64.0.1:80", "[fd64::1]:80", or a bare address (port 80), as the commands' HTTP client takes it.
std::string api_address(const Config& c) {
  std::string text = c.string("api");
  if (auto a = net::parse_address(text)) return a->is_v6() ? "[" + text + "]:80" : text + ":80";
  Endpoint e;
  if (!parse_endpoint(text, e))
    c.fail("api", "expected the connector's overlay address and port, such as \"10.64.0.1:80\" or \"[fd64::1]:80\"");
  return to_string(e);
}

}  // namespace

Settings Settings::read(const Config& c, std::string stage) {
  Settings s;
  s.stage = std::move(stage);
  s.device = c.string("device");
  s.state = c.string("state", s.state);
  s.resolv_conf = c.string("resolv_conf", s.resolv_conf);
  s.dns = c.boolean("dns", s.dns);
  for (const Config& t : c.tables("connector")) {
    Connector k{t.string("name"), api_address(t)};
    for (auto& other : s.connectors)
      if (other.name == k.name) t.fail("name", "connector '" + k.name + "' is listed twice");
    t.complete();
    s.connectors.push_back(std::move(k));
  }
  if (s.connectors.empty()) c.fail("connector", "list at least one [[stage.connector]] (name, api)");
  return s;
}

}  // namespace waygate::client
