// port-filter in the rig: the built waygate-port-filter.so loaded by path (with the host's loader
// and ABI check), fed real IPv4/IPv6 packets built byte by byte below.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "waygate/net/headers.hpp"
#include "waygate/testing/rig.hpp"

namespace net = waygate::net;
using waygate::Direction;
using waygate::testing::Rig;

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t kTcp = net::ipproto::tcp;
constexpr std::uint8_t kUdp = net::ipproto::udp;

void put16(Bytes& b, std::size_t off, std::size_t v) {
  net::write_be16(b, off, static_cast<std::uint16_t>(v));
}

// A TCP SYN or a UDP datagram header from sport to dport, followed by 4 payload bytes; the
// checksum is filled in by seal() once the IP header is in front of it.
Bytes segment(std::uint8_t proto, std::uint16_t sport, std::uint16_t dport) {
  Bytes s(proto == kTcp ? net::tcp_min_header_len : net::udp_header_len, 0);
  put16(s, 0, sport);
  put16(s, 2, dport);
  if (proto == kTcp) {
    s[7] = 1;      // sequence number 1
    s[12] = 0x50;  // data offset: 5 words
    s[13] = net::tcpflag::syn;
    put16(s, 14, 64240);  // window
  }
  s.insert(s.end(), {'p', 'i', 'n', 'g'});
  if (proto == kUdp) put16(s, 4, s.size());
  return s;
}

// Stores the L4 checksum, so the packets are the real thing.
void seal(Bytes& pkt) {
  auto parsed = net::parse_packet(pkt);
  ASSERT_TRUE(parsed.ok()) << net::to_string(parsed.error);
  auto sum = net::l4_checksum(pkt, parsed.info);
  ASSERT_TRUE(sum.has_value());
  net::write_be16(pkt, parsed.info.l4_offset + *net::l4_checksum_offset(parsed.info.version, parsed.info.protocol), *sum);
}

// 10.0.0.2:sport -> 192.0.2.1:dport
Bytes ipv4(std::uint8_t proto, std::uint16_t dport, std::uint16_t sport = 40000) {
  Bytes seg = segment(proto, sport, dport);
  Bytes p(net::ipv4_min_header_len, 0);
  p[0] = 0x45;  // version 4, IHL 5
  put16(p, 2, p.size() + seg.size());
  put16(p, 4, 0x1234);  // id
  p[6] = 0x40;          // DF
  p[8] = 64;            // TTL
  p[9] = proto;
  const std::uint8_t addrs[] = {10, 0, 0, 2, 192, 0, 2, 1};
  std::copy(std::begin(addrs), std::end(addrs), p.begin() + 12);
  p.insert(p.end(), seg.begin(), seg.end());
  net::ipv4_set_header_checksum(p);
  seal(p);
  return p;
}

// [2001:db8::2]:sport -> [2001:db8::1]:dport, optionally behind a destination-options header.
Bytes ipv6(std::uint8_t proto, std::uint16_t dport, bool dstopts = false) {
  Bytes seg = segment(proto, 40000, dport);
  Bytes ext;
  if (dstopts) ext = {proto, 0, 1, 4, 0, 0, 0, 0};  // next header, length 0 (8 bytes), PadN(4)
  Bytes p(net::ipv6_header_len, 0);
  p[0] = 0x60;
  put16(p, 4, ext.size() + seg.size());
  p[6] = dstopts ? net::ipproto::dstopts : proto;
  p[7] = 64;  // hop limit
  for (std::size_t base : {8u, 24u}) {
    p[base] = 0x20;
    p[base + 1] = 0x01;
    p[base + 2] = 0x0d;
    p[base + 3] = 0xb8;
  }
  p[23] = 2;
  p[39] = 1;
  p.insert(p.end(), ext.begin(), ext.end());
  p.insert(p.end(), seg.begin(), seg.end());
  seal(p);
  return p;
}

// The second fragment of a UDP datagram (offset 1480). Its first 8 bytes happen to look like a
// UDP header to dport, but they are payload: a non-first fragment has no ports.
Bytes ipv4_later_fragment(std::uint16_t dport) {
  Bytes p(net::ipv4_min_header_len, 0);
  p[0] = 0x45;
  put16(p, 2, p.size() + 8);
  put16(p, 4, 0x4321);
  put16(p, 6, 1480 / 8);  // fragment offset, MF clear
  p[8] = 64;
  p[9] = kUdp;
  const std::uint8_t addrs[] = {10, 0, 0, 2, 192, 0, 2, 1};
  std::copy(std::begin(addrs), std::end(addrs), p.begin() + 12);
  Bytes body(8, 0);
  put16(body, 0, 40000);
  put16(body, 2, dport);
  p.insert(p.end(), body.begin(), body.end());
  net::ipv4_set_header_checksum(p);
  return p;
}

std::unique_ptr<Rig> filter(std::string_view toml) {
  return Rig::load(WAYGATE_PORT_FILTER_PLUGIN, toml);
}

// Pushes one packet travelling in d; true if it came out the far side, byte-identical.
bool passes(Rig& rig, Direction d, const Bytes& pkt) {
  rig.push(d, pkt);
  EXPECT_TRUE(rig.take(waygate::opposite(d)).empty());  // a filter never replies
  auto out = rig.take(d);
  EXPECT_LE(out.size(), 1u);
  if (out.empty()) return false;
  EXPECT_EQ(out[0].bytes, pkt);
  return true;
}

std::int64_t hits(Rig& rig, int port) {
  return rig.counter("blocked_total", {{"port", std::to_string(port)}});
}

// The ConfigError's message, or "" if the config was accepted.
std::string config_error(std::string_view toml) {
  try {
    filter(toml);
  } catch (const waygate::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(PortFilter, TestPacketsAreValid) {
  for (const Bytes& p : {ipv4(kTcp, 25), ipv4(kUdp, 53), ipv6(kTcp, 25), ipv6(kUdp, 53, true)}) {
    auto parsed = net::parse_packet(p);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed.info.has_ports);
    EXPECT_TRUE(net::l4_checksum_ok(p, parsed.info));
  }
  EXPECT_TRUE(net::ipv4_header_checksum_ok(ipv4(kTcp, 25)));
  EXPECT_TRUE(net::parse_packet(ipv4_later_fragment(53)).info.non_first_fragment);
}

TEST(PortFilter, BlockedTcpPortIsDroppedAndCounted) {
  auto rig = filter("ports = [25, 137]");
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv4(kTcp, 25)));
  EXPECT_EQ(rig->drops("port_blocked"), 1u);
  EXPECT_EQ(hits(*rig, 25), 1);
  EXPECT_EQ(hits(*rig, 137), 0);
  EXPECT_EQ(rig->pool().available(), rig->pool().capacity());  // the drop freed the buffer
}

TEST(PortFilter, BlockedUdpPortIsDroppedAndCounted) {
  auto rig = filter("ports = [53]");
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv4(kUdp, 53)));
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv4(kUdp, 53)));
  EXPECT_EQ(rig->drops("port_blocked"), 2u);
  EXPECT_EQ(hits(*rig, 53), 2);
}

TEST(PortFilter, AllowedPortPassesByteIdentical) {
  auto rig = filter("ports = [25]");
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4(kTcp, 443)));
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4(kTcp, 443, /*sport=*/25)));  // source port is not looked at
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4(kUdp, 26)));
  EXPECT_EQ(rig->drops("port_blocked"), 0u);
}

TEST(PortFilter, MixedBurstKeepsOrderAndCountsPerPort) {
  auto rig = filter("ports = [25, 53]");
  rig->push(Direction::outbound, std::vector<Bytes>{ipv4(kTcp, 25), ipv4(kTcp, 80), ipv4(kUdp, 53),
                                                    ipv4(kTcp, 25), ipv4(kUdp, 123), ipv4(kTcp, 25)});
  auto out = rig->take(Direction::outbound);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, ipv4(kTcp, 80));
  EXPECT_EQ(out[1].bytes, ipv4(kUdp, 123));
  EXPECT_EQ(rig->drops("port_blocked"), 4u);
  EXPECT_EQ(hits(*rig, 25), 3);
  EXPECT_EQ(hits(*rig, 53), 1);
}

TEST(PortFilter, ProtocolsRestrictWhatIsFiltered) {
  auto rig = filter("ports = [53]\nprotocols = [\"tcp\"]");
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4(kUdp, 53)));
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv4(kTcp, 53)));
  auto udp_only = filter("ports = [53]\nprotocols = [\"udp\"]");
  EXPECT_TRUE(passes(*udp_only, Direction::outbound, ipv4(kTcp, 53)));
  EXPECT_FALSE(passes(*udp_only, Direction::outbound, ipv4(kUdp, 53)));
}

TEST(PortFilter, InboundIsFilteredOnlyWhenAskedFor) {
  auto rig = filter("ports = [25]");
  EXPECT_TRUE(passes(*rig, Direction::inbound, ipv4(kTcp, 25)));
  EXPECT_EQ(rig->drops("port_blocked"), 0u);

  auto both = filter("ports = [25]\ndirections = [\"outbound\", \"inbound\"]");
  EXPECT_FALSE(passes(*both, Direction::inbound, ipv4(kTcp, 25)));
  EXPECT_FALSE(passes(*both, Direction::outbound, ipv4(kTcp, 25)));
  EXPECT_EQ(both->drops("port_blocked"), 2u);

  auto inbound_only = filter("ports = [25]\ndirections = [\"inbound\"]");
  EXPECT_TRUE(passes(*inbound_only, Direction::outbound, ipv4(kTcp, 25)));
  EXPECT_FALSE(passes(*inbound_only, Direction::inbound, ipv4(kTcp, 25)));
}

TEST(PortFilter, Ipv6) {
  auto rig = filter("ports = [25, 53]");
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv6(kTcp, 25)));
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv6(kUdp, 53)));
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv6(kUdp, 53, /*dstopts=*/true)));  // behind an extension header
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv6(kTcp, 443)));
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv6(kUdp, 443, true)));
  EXPECT_EQ(hits(*rig, 25), 1);
  EXPECT_EQ(hits(*rig, 53), 2);
}

TEST(PortFilter, NonFirstFragmentPasses) {
  auto rig = filter("ports = [53]");
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4_later_fragment(53)));
  EXPECT_EQ(rig->drops("port_blocked"), 0u);
}

TEST(PortFilter, UnparsablePacketsPassUntouched) {
  auto rig = filter("ports = [25]");
  const Bytes whole = ipv4(kTcp, 25);
  // Every truncation of a packet to a blocked port: the IP length no longer matches, so it does
  // not parse, and a filter is not a validator.
  for (std::size_t n = 0; n < whole.size(); ++n)
    EXPECT_TRUE(passes(*rig, Direction::outbound, Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n))))
        << n << " bytes";
  const Bytes v6 = ipv6(kUdp, 25);
  EXPECT_TRUE(passes(*rig, Direction::outbound, Bytes(v6.begin(), v6.begin() + 45)));
  EXPECT_TRUE(passes(*rig, Direction::outbound, Bytes{0xff, 0x00, 0x19, 0x00}));  // not IP
  EXPECT_EQ(rig->drops("port_blocked"), 0u);
  EXPECT_FALSE(passes(*rig, Direction::outbound, whole));  // and the filter still works
  EXPECT_EQ(rig->pool().available(), rig->pool().capacity());
}

TEST(PortFilter, BadConfigIsAConfigError) {
  EXPECT_EQ(config_error("ports = [0]"), "<rig>:1:1: key 'ports': each value must be from 1 to 65535, got 0");
  EXPECT_NE(config_error("ports = [70000]").find("key 'ports'"), std::string::npos);
  EXPECT_NE(config_error("ports = []").find("key 'ports'"), std::string::npos);
  EXPECT_NE(config_error("").find("key 'ports'"), std::string::npos);  // required
  EXPECT_NE(config_error("ports = ['smtp']").find("key 'ports'"), std::string::npos);
  EXPECT_EQ(config_error("ports = [25]\nprotocols = ['icmp']"),
            "<rig>:2:1: key 'protocols': unknown protocol 'icmp' (expected \"tcp\" or \"udp\")");
  EXPECT_NE(config_error("ports = [25]\nprotocols = []").find("key 'protocols'"), std::string::npos);
  EXPECT_NE(config_error("ports = [25]\ndirections = ['sideways']").find("key 'directions'"), std::string::npos);
  EXPECT_EQ(config_error("ports = [25]\nport = 80"), "<rig>:2:1: key 'port': unknown key");
  EXPECT_EQ(config_error("ports = [25, 25]\nprotocols = 'udp'\ndirections = 'inbound'"), "");  // single strings are fine
}

TEST(PortFilter, FailedReconfigureKeepsTheOldPorts) {
  auto rig = filter("ports = [25]");
  EXPECT_THROW(rig->reconfigure("ports = [80, 0]"), waygate::ConfigError);
  EXPECT_THROW(rig->reconfigure("ports = [80]\nprotocols = ['tcp', 'sctp']"), waygate::ConfigError);
  EXPECT_THROW(rig->reconfigure("ports = [80]\ndirections = ['inbound', 'up']"), waygate::ConfigError);
  EXPECT_THROW(rig->reconfigure("ports = [80]\ncolour = 'red'"), waygate::ConfigError);
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv4(kTcp, 25)));
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4(kTcp, 80)));
  EXPECT_TRUE(passes(*rig, Direction::inbound, ipv4(kTcp, 25)));

  rig->reconfigure("ports = [80]");  // a good reload takes effect; counts carry over
  EXPECT_TRUE(passes(*rig, Direction::outbound, ipv4(kTcp, 25)));
  EXPECT_FALSE(passes(*rig, Direction::outbound, ipv4(kTcp, 80)));
  EXPECT_EQ(hits(*rig, 25), 1);
  EXPECT_EQ(hits(*rig, 80), 1);
  EXPECT_EQ(rig->drops("port_blocked"), 2u);
}

}  // namespace
