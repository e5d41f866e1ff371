// Addresses and prefixes as operators write them: "10.64.0.2", "fd64::2", "10.0.0.0/8", "::/0".
// Parsing is for configuration and control-plane code; the packet path compares bytes.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "waygate/net/headers.hpp"

namespace waygate::net {

// An IPv4 or IPv6 literal; nullopt for anything else (names, ports, prefixes).
inline std::optional<Address> parse_address(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;  // inet_pton would stop there
  std::string s(text);  // inet_pton wants a terminated string
  std::array<std::uint8_t, 16> b{};
  if (::inet_pton(AF_INET, s.c_str(), b.data()) == 1)
    return Address::v4(std::span<const std::uint8_t, 4>(b.data(), 4));
  if (::inet_pton(AF_INET6, s.c_str(), b.data()) == 1) return Address::v6(b);
  return std::nullopt;
}

struct Prefix {
  Address address;  // host bits cleared
  std::uint8_t bits = 0;

  // "10.0.0.0/8", "fd00::/64", or a bare address (a host prefix). Strict: "10.1.2.3/8", with bits
  // set beyond its length, is refused, since it may as well mean 10.1.2.3/32 as 10.0.0.0/8.
  static std::optional<Prefix> parse(std::string_view text) {
    auto p = masked(text);
    if (p && parse_address(text.substr(0, text.find('/'))) != p->address) return std::nullopt;
    return p;
  }
  // The same, with bits beyond the length cleared: "10.1.2.3/8" reads as 10.0.0.0/8 (the
  // network of an interface address, say), and an error can say what was meant.
  static std::optional<Prefix> masked(std::string_view text) {
    auto slash = text.find('/');
    auto address = parse_address(text.substr(0, slash));
    if (!address) return std::nullopt;
    unsigned max = static_cast<unsigned>(address->size() * 8), bits = max;
    if (slash != std::string_view::npos) {
      auto digits = text.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
      bits = static_cast<unsigned>(std::stoul(std::string(digits)));
      if (bits > max) return std::nullopt;
    }
    return of(*address, static_cast<std::uint8_t>(bits));
  }

  static Prefix of(const Address& a, std::uint8_t bits) {
    std::array<std::uint8_t, 16> b = a.raw();
    for (std::size_t i = 0; i < 16; ++i) {
      unsigned keep = bits > i * 8 ? std::min(8u, bits - static_cast<unsigned>(i * 8)) : 0;
      b[i] = static_cast<std::uint8_t>(b[i] & (0xff00u >> keep));
    }
    Address masked = a.is_v4() ? Address::v4(std::span<const std::uint8_t, 4>(b.data(), 4))
                               : Address::v6(b);
    return {masked, bits};
  }

  bool contains(const Address& a) const {
    return a.family() == address.family() && of(a, bits).address == address;
  }
  // True if every address of `inner` is in this prefix.
  bool covers(const Prefix& inner) const { return inner.bits >= bits && contains(inner.address); }
  Family family() const { return address.family(); }
  std::string to_string() const { return address.to_string() + "/" + std::to_string(bits); }
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

}  // namespace waygate::net
