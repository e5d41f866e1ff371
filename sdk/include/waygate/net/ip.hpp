// What an IP packet's fixed header says, for a stage that needs its version, addresses, protocol
// or length and nothing of the transport header (a routing table, a tap, a tunnel): each reads
// only the header, checks that it is all there, and costs a few loads. For ports, flags, ICMP and
// extension headers, parse the packet (headers.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "waygate/net/headers.hpp"

namespace waygate::net::ip {

using Bytes = std::span<const std::uint8_t>;

// 4 or 6 when `b` begins with a whole IPv4 (20 bytes) or IPv6 (40) header; 0 otherwise.
constexpr unsigned version(Bytes b) {
  if (b.size() >= 20 && (b[0] >> 4) == 4) return 4;
  if (b.size() >= 40 && (b[0] >> 4) == 6) return 6;
  return 0;
}

// The addresses as they lie in the header (4 or 16 bytes); empty without a header.
constexpr Bytes source_bytes(Bytes b) {
  const unsigned v = version(b);
  return v == 4 ? b.subspan(12, 4) : v == 6 ? b.subspan(8, 16) : Bytes{};
}
constexpr Bytes destination_bytes(Bytes b) {
  const unsigned v = version(b);
  return v == 4 ? b.subspan(16, 4) : v == 6 ? b.subspan(24, 16) : Bytes{};
}

// The same as Addresses; Family::none without a header.
constexpr Address as_address(Bytes a) {
  if (a.size() == 4) return Address::v4(std::span<const std::uint8_t, 4>(a.data(), 4));
  if (a.size() == 16) return Address::v6(std::span<const std::uint8_t, 16>(a.data(), 16));
  return {};
}
constexpr Address source(Bytes b) { return as_address(source_bytes(b)); }
constexpr Address destination(Bytes b) { return as_address(destination_bytes(b)); }

// The length the header claims for the whole packet (IPv4's total length, IPv6's 40 and payload
// length), which may differ from what is there (padding, truncation); 0 without a header.
constexpr std::size_t claimed_length(Bytes b) {
  const unsigned v = version(b);
  if (v == 4) return (std::size_t{b[2]} << 8) | b[3];
  if (v == 6) return 40 + ((std::size_t{b[4]} << 8) | b[5]);
  return 0;
}

// The protocol the fixed header names: IPv4's, or IPv6's first next header (an extension header
// is not walked). 0 without a header, which is also IPv6's hop-by-hop: check version() first.
constexpr std::uint8_t protocol(Bytes b) {
  const unsigned v = version(b);
  return v == 4 ? b[9] : v == 6 ? b[6] : 0;
}

}  // namespace waygate::net::ip
