// IP packets as a test writes them, with right lengths and checksums, for pushing into a rig:
//
//   rig->push(Direction::outbound, waygate::testing::udp("10.64.0.2", 40000, "198.51.100.10", 53));
//   auto syn = waygate::testing::tcp("fd64::2", 40000, "2001:db8::1", 443, net::tcpflag::syn);
//   auto ping = waygate::testing::echo("10.64.0.2", "8.8.8.8", 7);
//
// Both addresses are of one family; IPv4 headers have no options, identification 0x1234 and a
// TTL (or IPv6 hop limit) of 64. A bad address throws std::invalid_argument.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "waygate/net/headers.hpp"

namespace waygate::testing {

using Bytes = std::vector<std::uint8_t>;

// An IP packet around the transport header and payload `l4`, whose checksum field (TCP, UDP,
// ICMP, ICMPv6) is filled in unless `keep_checksum`.
Bytes ip_packet(std::string_view from, std::string_view to, std::uint8_t protocol, Bytes l4,
                bool keep_checksum = false);

Bytes udp(std::string_view from, std::uint16_t from_port, std::string_view to, std::uint16_t to_port,
          std::string_view payload = "helo");

// A 20-byte TCP header (window 65535) with `flags` (net::tcpflag), sequence and acknowledgement.
Bytes tcp(std::string_view from, std::uint16_t from_port, std::string_view to, std::uint16_t to_port,
          std::uint8_t flags = net::tcpflag::ack, std::string_view payload = "", std::uint32_t seq = 1,
          std::uint32_t ack = 0);

// An echo request (or reply) with identifier `id`, ICMP or ICMPv6 by the addresses' family.
Bytes echo(std::string_view from, std::string_view to, std::uint16_t id, bool request = true,
           std::uint16_t seq = 7, std::string_view payload = "ping");

// An ICMP (or ICMPv6) error of `type` and `code` quoting `quoted`; a packet-too-big says MTU 1280.
Bytes icmp_error(std::string_view from, std::string_view to, std::uint8_t type, std::uint8_t code,
                 const Bytes& quoted);

}  // namespace waygate::testing
