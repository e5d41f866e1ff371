#include "settings.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "keys.hpp"

namespace waygate::wg {

Timing Timing::divided_by(unsigned d) {
  Timing t;
  for (Duration* x : {&t.rekey_after_time, &t.reject_after_time, &t.rekey_attempt_time, &t.rekey_timeout,
                      &t.keepalive_timeout})
    *x /= d;
  return t;
}

namespace {

Key read_key(const Config& c, std::string_view key) {
  auto parsed = from_base64(c.string(key));
  if (!parsed) c.fail(key, "not a key: expected 44 characters of base64, as `waygate genkey` prints");
  return *parsed;
}

}  // namespace

Settings Settings::read(const Config& c, const Directory& directory) {
  Settings s;
  s.private_key_file = c.string("private_key_file");
  try {
    s.private_key = read_key_file(s.private_key_file);
  } catch (const std::exception& e) {
    c.fail("private_key_file", e.what());
  }
  s.listen_port = static_cast<int>(c.integer("listen_port", 0, 0, 65535));
  for (const std::string& text : c.strings("listen_address")) {
    const auto a = net::parse_address(text);
    if (!a) c.fail("listen_address", "'" + text + "' is not an IP address");
    auto& slot = a->is_v4() ? s.listen4 : s.listen6;
    if (slot) c.fail("listen_address", "one address per IP version");
    slot = a;
  }
  s.netns = c.string("netns", "");
  // The host:port clients dial: `waygate peer config` writes it for stock clients, and the
  // tunnel_info metric says it (with the public key) for the connector's registration in etcd.
  s.public_endpoint = c.string("public_endpoint", "");
  const std::string& public_endpoint = s.public_endpoint;
  auto colon = public_endpoint.rfind(':');
  if (!public_endpoint.empty() &&
      (colon == std::string::npos || colon == 0 || colon + 1 == public_endpoint.size() ||
       public_endpoint.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
       std::stoul(public_endpoint.substr(colon + 1, 6)) > 65535))
    c.fail("public_endpoint", "expected host:port, such as \"vpn.example.com:51820\" or \"[2001:db8::1]:51820\"");
  s.mtu = static_cast<int>(c.integer("mtu", 1420, 576, 65535 - 80));
  s.handshake_load = static_cast<unsigned>(c.integer("handshake_load", 128, 1, 1 << 20));
  s.udp_offload = c.boolean("udp_offload", true);
  s.receive_buffer = static_cast<int>(c.integer("receive_buffer", 512 << 10, 64 << 10, 64 << 20));
  s.failover_after = c.duration("failover_after", Duration{0});
  s.timing = Timing::divided_by(static_cast<unsigned>(c.integer("timer_divisor", 1, 1, 1000)));

  // Keys and names taken so far: ten thousand peers are checked without comparing every pair.
  std::unordered_map<std::string, std::string> key_owner;  // a key's bytes -> its peer's name
  std::unordered_set<std::string> names;
  const auto bytes = [](const Key& k) { return std::string(reinterpret_cast<const char*>(k.data()), k.size()); };
  for (const Config& p : c.tables("peer")) {
    PeerSettings peer;
    peer.public_key = read_key(p, "public_key");
    if (low_order(peer.public_key))
      p.fail("public_key", "a point of small order, with which no handshake can ever complete: use the key the "
                           "peer's `waygate pubkey` (or `wg pubkey`) prints");
    peer.name = p.string("name", to_base64(peer.public_key).substr(0, 8));
    if (p.has("preshared_key_file")) {
      try {
        peer.preshared = read_key_file(p.string("preshared_key_file"));
      } catch (const std::exception& e) {
        p.fail("preshared_key_file", e.what());
      }
    }
    // As wg(8) reads them: bits beyond a prefix's length are cleared.
    for (const auto& text : p.strings("allowed_ips")) {
      auto prefix = net::Prefix::masked(text);
      if (!prefix) p.fail("allowed_ips", fmt::format("'{}' is not an address or prefix", text));
      peer.allowed_ips.push_back(*prefix);
    }
    if (p.has("endpoint") && !parse_endpoint(p.string("endpoint"), peer.endpoint))
      p.fail("endpoint", "expected an IP address and port: \"192.0.2.1:51820\" or \"[2001:db8::1]:51820\"");
    peer.persistent_keepalive = p.duration("persistent_keepalive", Duration{0});
    p.complete();
    if (auto [owner, fresh] = key_owner.try_emplace(bytes(peer.public_key), peer.name); !fresh)
      p.fail("public_key", fmt::format("peer '{}' has the same key", owner->second));
    if (!names.insert(peer.name).second) p.fail("name", fmt::format("a peer named '{}' is listed twice", peer.name));
    s.peers.push_back(std::move(peer));
  }
  if (c.boolean("identities", false)) {
    for (std::size_t i = 0; i < directory.identities.size(); ++i) {
      const Identity& id = directory.identities[i];
      PeerSettings peer;
      peer.name = id.name;
      peer.identity = static_cast<std::uint32_t>(i);
      peer.public_key = *from_base64(id.public_key);  // the directory checked its form
      for (const auto& a : id.addresses) peer.allowed_ips.push_back(net::Prefix::of(a, static_cast<std::uint8_t>(a.size() * 8)));
      // The directory keeps identities apart from each other; the listed peers are another matter.
      if (auto owner = key_owner.find(bytes(peer.public_key)); owner != key_owner.end())
        c.fail("identities", fmt::format("identity '{}' is also listed as peer '{}'", id.name, owner->second));
      if (names.contains(peer.name))
        c.fail("identities", fmt::format("identity '{}' is also listed as peer '{}'", id.name, peer.name));
      s.peers.push_back(std::move(peer));
    }
  }
  return s;
}

}  // namespace waygate::wg
