// The rig's test packets parse as what they say, with every checksum right.
#include "waygate/testing/packets.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "waygate/net/prefix.hpp"

namespace {

namespace net = waygate::net;
namespace testing = waygate::testing;

net::PacketInfo parsed(const testing::Bytes& p) {
  auto r = net::parse_packet(p);
  EXPECT_TRUE(r.ok()) << net::to_string(r.error);
  if (r.info.version == 4) {
    EXPECT_TRUE(net::ipv4_header_checksum_ok(p));
  }
  EXPECT_TRUE(net::l4_checksum_ok(p, r.info));
  EXPECT_EQ(r.info.total_len_claimed, p.size());
  return r.info;
}

TEST(TestPackets, SayWhatTheyAreWithRightChecksums) {
  auto u = parsed(testing::udp("10.64.0.2", 40000, "198.51.100.10", 53, "query"));
  EXPECT_TRUE(u.has_ports);
  EXPECT_EQ(u.src_port, 40000);
  EXPECT_EQ(u.dst_port, 53);
  EXPECT_EQ(u.dst, *net::parse_address("198.51.100.10"));
  auto t = parsed(testing::tcp("fd64::2", 40000, "2001:db8::1", 443, net::tcpflag::syn));
  EXPECT_EQ(t.version, 6);
  EXPECT_EQ(t.tcp_flags, net::tcpflag::syn);
  auto e = parsed(testing::echo("10.64.0.2", "8.8.8.8", 7));
  EXPECT_TRUE(e.is_icmp);
  EXPECT_EQ(e.icmp_id, 7);
  auto e6 = parsed(testing::echo("fd64::2", "2001:db8::1", 9, false));
  EXPECT_EQ(e6.icmp_type, net::icmp6::echo_reply);
  auto quoted = testing::udp("203.0.113.5", 53, "198.51.100.1", 40000);
  auto error = parsed(testing::icmp_error("192.0.2.1", "203.0.113.5", net::icmp4::dest_unreachable, 3, quoted));
  EXPECT_FALSE(error.has_icmp_id);
  EXPECT_THROW(testing::udp("10.0.0.1", 1, "fd00::1", 2), std::invalid_argument);
  EXPECT_THROW(testing::udp("nowhere", 1, "10.0.0.1", 2), std::invalid_argument);
}

}  // namespace
