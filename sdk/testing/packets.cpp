#include "waygate/testing/packets.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "waygate/net/prefix.hpp"

namespace waygate::testing {

namespace {

net::Address address(std::string_view text) {
  auto a = net::parse_address(text);
  if (!a) throw std::invalid_argument("not an IP address: '" + std::string(text) + "'");
  return *a;
}

void put16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, static_cast<std::uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<std::uint16_t>(v));
}

bool v6(std::string_view text) { return text.find(':') != std::string_view::npos; }

}  // namespace

Bytes ip_packet(std::string_view from, std::string_view to, std::uint8_t protocol, Bytes l4, bool keep_checksum) {
  const net::Address s = address(from), d = address(to);
  if (s.family() != d.family()) throw std::invalid_argument("addresses of two families");
  Bytes p;
  if (s.is_v4()) {
    p.assign(20, 0);
    p[0] = 0x45;
    put16(p, 2, static_cast<std::uint16_t>(20 + l4.size()));
    put16(p, 4, 0x1234);
    p[8] = 64;
    p[9] = protocol;
    std::memcpy(p.data() + 12, s.bytes().data(), 4);
    std::memcpy(p.data() + 16, d.bytes().data(), 4);
  } else {
    p.assign(40, 0);
    p[0] = 0x60;
    put16(p, 4, static_cast<std::uint16_t>(l4.size()));
    p[6] = protocol;
    p[7] = 64;
    std::memcpy(p.data() + 8, s.bytes().data(), 16);
    std::memcpy(p.data() + 24, d.bytes().data(), 16);
  }
  p.insert(p.end(), l4.begin(), l4.end());
  if (s.is_v4()) net::ipv4_set_header_checksum(p);
  if (keep_checksum) return p;
  auto r = net::parse_packet(p);
  if (!r.ok()) return p;
  auto offset = net::l4_checksum_offset(r.info.version, r.info.protocol);
  if (auto c = net::l4_checksum(p, r.info); c && offset) put16(p, r.info.l4_offset + *offset, *c);
  return p;
}

Bytes udp(std::string_view from, std::uint16_t from_port, std::string_view to, std::uint16_t to_port,
          std::string_view payload) {
  Bytes l4(8, 0);
  put16(l4, 0, from_port);
  put16(l4, 2, to_port);
  put16(l4, 4, static_cast<std::uint16_t>(8 + payload.size()));
  l4.insert(l4.end(), payload.begin(), payload.end());
  return ip_packet(from, to, net::ipproto::udp, std::move(l4));
}

Bytes tcp(std::string_view from, std::uint16_t from_port, std::string_view to, std::uint16_t to_port,
          std::uint8_t flags, std::string_view payload, std::uint32_t seq, std::uint32_t ack) {
  Bytes l4(20, 0);
  put16(l4, 0, from_port);
  put16(l4, 2, to_port);
  put32(l4, 4, seq);
  put32(l4, 8, ack);
  l4[12] = 5 << 4;
  l4[13] = flags;
  put16(l4, 14, 65535);
  l4.insert(l4.end(), payload.begin(), payload.end());
  return ip_packet(from, to, net::ipproto::tcp, std::move(l4));
}

Bytes echo(std::string_view from, std::string_view to, std::uint16_t id, bool request, std::uint16_t seq,
           std::string_view payload) {
  const bool six = v6(from);
  Bytes l4(8, 0);
  l4[0] = six ? (request ? net::icmp6::echo_request : net::icmp6::echo_reply)
              : (request ? net::icmp4::echo_request : net::icmp4::echo_reply);
  put16(l4, 4, id);
  put16(l4, 6, seq);
  l4.insert(l4.end(), payload.begin(), payload.end());
  return ip_packet(from, to, six ? net::ipproto::icmpv6 : net::ipproto::icmp, std::move(l4));
}

Bytes icmp_error(std::string_view from, std::string_view to, std::uint8_t type, std::uint8_t code,
                 const Bytes& quoted) {
  const bool six = v6(from);
  Bytes l4 = {type, code, 0, 0, 0, 0, 0, 0};
  if (six && type == net::icmp6::packet_too_big) put16(l4, 6, 1280);
  l4.insert(l4.end(), quoted.begin(), quoted.end());
  return ip_packet(from, to, six ? net::ipproto::icmpv6 : net::ipproto::icmp, std::move(l4));
}

}  // namespace waygate::testing
