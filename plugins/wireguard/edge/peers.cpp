// GET /v1/peers on the admin listener: each peer's endpoint, last handshake, bytes, whether it
// carries its prefixes (failover.cpp) and the round trip of its latest handshake, for
// operators (the portal, `waygate stats`) and for a client asking about its own tunnel. Read on the
// worker between bursts, like everything the device does, so it needs no lock. With more than one
// worker each lists the peers it owns, and gather_peers() makes one list of theirs.
#include <boost/json.hpp>

#include "device.hpp"
#include "keys.hpp"

namespace waygate::wg {

waygate::Response Device::peers_answer() const {
  namespace json = boost::json;
  json::array list;
  for (const auto& p : peers_) {
    if (!p || !mine(*p)) continue;
    json::array allowed;
    for (const auto& prefix : p->settings.allowed_ips) allowed.emplace_back(prefix.to_string());
    json::value handshake = nullptr;
    if (p->last_handshake != std::chrono::system_clock::time_point{})
      handshake = std::chrono::duration_cast<std::chrono::seconds>(p->last_handshake.time_since_epoch()).count();
    json::value identity = nullptr;
    if (p->settings.identity != kNoId) identity = ctx_.directory()->identities[p->settings.identity].name;
    list.push_back(json::object{{"stage", ctx_.name()},
                                {"name", p->settings.name},
                                {"public_key", to_base64(p->settings.public_key)},
                                {"identity", std::move(identity)},
                                {"endpoint", p->endpoint.empty() ? json::value(nullptr) : json::value(to_string(p->endpoint))},
                                {"last_handshake", std::move(handshake)},
                                {"session", usable_for_send(p->current.get())},
                                {"rx_bytes", p->rx_bytes.value()},
                                {"tx_bytes", p->tx_bytes.value()},
                                {"handshakes", p->handshakes.value()},
                                {"in_service", !p->standing_by},
                                {"handshake_rtt_ms", std::chrono::duration<double, std::milli>(p->handshake_rtt).count()},
                                {"allowed_ips", std::move(allowed)}});
  }
  return {200, "application/json", json::serialize(json::object{{"peers", std::move(list)}}) + "\n"};
}

waygate::Response gather_peers(std::vector<waygate::Response> answers) {
  namespace json = boost::json;
  json::array all;
  for (auto& a : answers) {
    if (a.status != 200) return a;
    boost::system::error_code error;
    json::value v = json::parse(a.body, error);
    if (error || !v.is_object() || !v.as_object().contains("peers") || !v.at("peers").is_array())
      return {500, "text/plain", "a worker's list of peers does not read\n"};
    for (auto& peer : v.at("peers").as_array()) all.push_back(std::move(peer));
  }
  return {200, "application/json", json::serialize(json::object{{"peers", std::move(all)}}) + "\n"};
}

}  // namespace waygate::wg
