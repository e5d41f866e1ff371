#include "settings.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "waygate/tun_device.hpp"

namespace waygate::egress {

namespace {

// Keys of one mode are refused in the other rather than ignored: a masquerading edge given egress
// addresses, or a sharing edge given routes, is a config that does not do what it says.
void only_in(const Config& c, std::string_view key, std::string_view mode) {
  if (c.has(key)) c.fail(key, "is only used with mode = \"" + std::string(mode) + "\"");
}

template <std::size_t N>
std::vector<std::array<std::uint8_t, N>> addresses(const Config& c, std::string_view key) {
  constexpr int family = N == 4 ? AF_INET : AF_INET6;
  std::vector<std::array<std::uint8_t, N>> out;
  for (const std::string& text : c.strings(key)) {
    std::array<std::uint8_t, N> a{};
    if (::inet_pton(family, text.c_str(), a.data()) != 1)
      c.fail(key, "'" + text + "' is not an IPv" + (N == 4 ? "4" : "6") + " address");
    for (const auto& other : out)
      if (other == a) c.fail(key, "'" + text + "' is listed twice");
    out.push_back(a);
  }
  if (out.size() > kMaxAddresses) c.fail(key, "at most " + std::to_string(kMaxAddresses) + " addresses");
  return out;
}

// The NAT's ports, which the kernel and the filters are kept off. The kernel's ephemeral range is
// one range, and so are the filters' and the table's: where sockets differ, the smallest range
// covering them all (not their union: ports between two sockets' ranges are kept from the kernel
// too). The sockets are the directory's with egress addresses, as the nat stage's are by default;
// an address of the edge's own that none of them has is a nat [[stage.socket]]'s, translated to
// the default range, which is covered then too.
PortRange nat_ports(const Settings& s, const Directory& directory) {
  std::optional<PortRange> cover;
  auto add = [&](PortRange r) {
    cover = cover ? PortRange{std::min(cover->first, r.first), std::max(cover->last, r.last)} : r;
  };
  std::vector<net::Address> known;
  for (const auto& socket : directory.sockets) {
    if (!socket.egress.empty()) add(socket.egress_ports);
    known.insert(known.end(), socket.egress.begin(), socket.egress.end());
  }
  auto unknown = [&](const net::Address& a) { return std::find(known.begin(), known.end(), a) == known.end(); };
  bool own = false;
  for (const auto& a : s.egress4) own |= unknown(net::Address::v4(std::span<const std::uint8_t, 4>(a)));
  for (const auto& a : s.egress6) own |= unknown(net::Address::v6(std::span<const std::uint8_t, 16>(a)));
  if (own) add(PortRange{});
  return cover.value_or(PortRange{});
}

}  // namespace

std::string to_string(const Address4& a) {
  char text[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, a.data(), text, sizeof text);
}

std::string to_string(const Address6& a) {
  char text[INET6_ADDRSTRLEN];
  return ::inet_ntop(AF_INET6, a.data(), text, sizeof text);
}

Settings read_settings(const Config& c, const Directory& directory) {
  Settings s;
  const std::string mode = c.string("mode", "shared");
  if (mode == "shared") s.mode = Mode::shared;
  else if (mode == "kernel") s.mode = Mode::kernel;
  else c.fail("mode", "expected \"shared\" or \"kernel\", got '" + mode + "'");

  s.interface = c.string("interface");
  if (s.interface.empty() || s.interface.size() >= 16)
    c.fail("interface", "an interface name is 1 to 15 characters");
  s.netns = c.string("netns", "");
  // One range the nat stage and this edge both read, where the socket's egress addresses are.
  if (c.has("port_range"))
    c.fail("port_range", "port_range moved to [[socket]] egress_ports, beside the socket's egress addresses");

  if (s.mode == Mode::shared) {
    for (auto key : {"mtu", "routes"}) only_in(c, key, "kernel");
    s.offload = c.boolean("offload", true);
    s.device = c.string("device", "waygate%d");
    if (s.device.empty() || s.device.size() >= 16) c.fail("device", "an interface name is 1 to 15 characters");
    s.egress4 = addresses<4>(c, "egress4");
    s.egress6 = addresses<16>(c, "egress6");
    if (!c.has("egress4") && !c.has("egress6")) {
      for (const auto& socket : directory.sockets)
        for (const auto& a : socket.egress) {
          if (a.is_v4() && s.egress4.size() < kMaxAddresses)
            s.egress4.push_back(std::to_array<std::uint8_t, 4>({a.raw()[0], a.raw()[1], a.raw()[2], a.raw()[3]}));
          if (a.is_v6() && s.egress6.size() < kMaxAddresses) s.egress6.push_back(a.raw());
        }
    }
    if (s.egress4.empty() && s.egress6.empty())
      c.fail("egress4", "shared mode needs the egress addresses: egress4, egress6, or the directory "
                        "sockets' egress");
    s.ports = nat_ports(s, directory);
    return s;
  }

  for (auto key : {"egress4", "egress6", "offload"}) only_in(c, key, "shared");
  s.device = c.string("device", "waygate%d");
  if (s.device.empty() || s.device.size() >= 16) c.fail("device", "an interface name is 1 to 15 characters");
  s.mtu = static_cast<int>(c.integer("mtu", 1420, 576, 65535));
  s.routes = c.strings("routes");
  for (const auto& r : s.routes) {
    try {
      tun::check_prefix(r);
    } catch (const std::invalid_argument& e) {
      c.fail("routes", e.what());
    }
  }
  if (s.routes.empty())
    c.fail("routes", "kernel mode needs the client prefixes, routed back to its device, e.g. [\"10.80.0.0/24\"]");
  return s;
}

}  // namespace waygate::egress
