#include "waygate/net/prohibited.hpp"

#include <algorithm>
#include <cstring>

namespace waygate::net {

namespace {

void st16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

bool is_error(int version, std::uint8_t type) {
  if (version == 4)
    return type == icmp4::dest_unreachable || type == icmp4::time_exceeded || type == icmp4::parameter_problem;
  return type < 128;  // RFC 4443 2.1: types 0-127 are errors
}

}  // namespace

bool prohibit(Packet& p, const Address& from) {
  if (p.empty()) return false;
  const int version = p.data()[0] >> 4;
  if ((version == 4 && from.family() != Family::v4) || (version == 6 && from.family() != Family::v6) ||
      (version != 4 && version != 6))
    return false;
  const auto orig = parse_packet(p.bytes());
  if (!orig) return false;
  // Never an error about an ICMP error (RFC 1122 3.2.2).
  if (orig.info.is_icmp && is_error(version, orig.info.icmp_type)) return false;
  const Address to = orig.info.src;

  const std::size_t hl = version == 4 ? ipv4_min_header_len + icmp_header_len : ipv6_header_len + icmp_header_len;
  const std::size_t len = p.size();
  if (p.headroom() >= hl) {
    p.prepend(hl);
  } else if (p.writable().size() >= len + hl) {
    std::memmove(p.data() + hl, p.data(), len);
    p.resize(len + hl);
  } else {
    return false;
  }
  const std::size_t quote =
      version == 4 ? std::min(len, orig.info.l3_header_len + 8) : std::min<std::size_t>(len, 1280 - hl);
  const std::size_t total = hl + quote;
  p.resize(total);
  auto out = p.bytes();
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(hl), std::uint8_t{0});
  if (version == 4) {
    out[0] = 0x45;
    st16(out, 2, static_cast<std::uint16_t>(total));
    out[8] = 64;
    out[9] = ipproto::icmp;
    std::memcpy(out.data() + 12, from.bytes().data(), 4);
    std::memcpy(out.data() + 16, to.bytes().data(), 4);
    ipv4_set_header_checksum(out);
    out[20] = icmp4::dest_unreachable;
    out[21] = 13;  // communication administratively prohibited
    st16(out, 22, checksum(out.subspan(20)));
  } else {
    out[0] = 0x60;
    st16(out, 4, static_cast<std::uint16_t>(total - ipv6_header_len));
    out[6] = ipproto::icmpv6;
    out[7] = 64;
    std::memcpy(out.data() + 8, from.bytes().data(), 16);
    std::memcpy(out.data() + 24, to.bytes().data(), 16);
    out[40] = icmp6::dest_unreachable;
    out[41] = 1;  // communication with destination administratively prohibited
    st16(out, 42, checksum(out.subspan(40), pseudo_header_sum(from, to, ipproto::icmpv6, total - ipv6_header_len)));
  }
  return true;
}

}  // namespace waygate::net
