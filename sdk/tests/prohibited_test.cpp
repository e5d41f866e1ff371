#include "waygate/net/prohibited.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "waygate/net/prefix.hpp"
#include "waygate/testing/packets.hpp"

namespace waygate::net {
namespace {

using testing::Bytes;

// A packet in a buffer with `headroom` bytes in front, as a pool gives it.
struct Held {
  explicit Held(const Bytes& bytes, std::size_t headroom = 64) : buffer(2048) {
    p = Packet(buffer.data(), static_cast<std::uint32_t>(buffer.size()), 0);
    p.reset(headroom);
    p.resize(bytes.size());
    std::memcpy(p.data(), bytes.data(), bytes.size());
  }
  std::vector<std::uint8_t> buffer;
  Packet p;
};

Address addr(const char* text) { return *parse_address(text); }

TEST(Prohibited, AnIpv4PacketIsAnsweredWithCode13QuotingItsHeader) {
  const Bytes syn = testing::tcp("10.64.0.2", 40000, "198.51.100.10", 443, tcpflag::syn);
  for (std::size_t headroom : {64u, 0u}) {  // in front of the data, or moved within the buffer
    Held h(syn, headroom);
    ASSERT_TRUE(prohibit(h.p, addr("198.51.100.10")));
    const auto r = parse_packet(h.p.bytes());
    ASSERT_TRUE(r);
    EXPECT_EQ(r.info.src, addr("198.51.100.10"));
    EXPECT_EQ(r.info.dst, addr("10.64.0.2"));
    EXPECT_TRUE(r.info.is_icmp);
    EXPECT_EQ(r.info.icmp_type, icmp4::dest_unreachable);
    EXPECT_EQ(r.info.icmp_code, 13);
    EXPECT_EQ(h.p.size(), 28u + 20u + 8u);  // RFC 792: the IP header and 64 bits
    EXPECT_EQ(checksum(h.p.bytes().subspan(20)), 0);  // a right checksum sums to zero
    EXPECT_EQ(std::memcmp(h.p.data() + 28, syn.data(), 28), 0);
  }
}

TEST(Prohibited, AnIpv6PacketIsAnsweredWithCode1) {
  const Bytes datagram = testing::udp("fd64::2", 40000, "2001:db8::1", 53, std::string(1400, 'x'));
  Held h(datagram);
  ASSERT_TRUE(prohibit(h.p, addr("2001:db8::1")));
  const auto r = parse_packet(h.p.bytes());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.info.dst, addr("fd64::2"));
  EXPECT_EQ(r.info.icmp_type, icmp6::dest_unreachable);
  EXPECT_EQ(r.info.icmp_code, 1);
  EXPECT_EQ(h.p.size(), 1280u);  // RFC 4443: no more than the minimum MTU
}

TEST(Prohibited, ErrorsAndOtherFamiliesAreNotAnswered) {
  const Bytes quoted = testing::udp("198.51.100.10", 53, "10.64.0.2", 40000);
  Held error(testing::icmp_error("10.64.0.2", "198.51.100.10", icmp4::dest_unreachable, 3, quoted));
  EXPECT_FALSE(prohibit(error.p, addr("198.51.100.10")));
  Held v4(testing::udp("10.64.0.2", 40000, "198.51.100.10", 53));
  EXPECT_FALSE(prohibit(v4.p, addr("2001:db8::1")));
  Held junk(Bytes{0x12, 0x34});
  EXPECT_FALSE(prohibit(junk.p, addr("198.51.100.10")));
}

}  // namespace
}  // namespace waygate::net
