// Wire formats of messages.hpp: classification, layouts, and MAC1/MAC2.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "messages.hpp"

using namespace waygate::wg;

namespace {

std::vector<std::uint8_t> datagram(std::size_t size, std::uint8_t type) {
  std::vector<std::uint8_t> d(size, 0xab);
  if (size > 0) d[0] = type;
  for (std::size_t i = 1; i < 4 && i < size; ++i) d[i] = 0;
  return d;
}

template <std::size_t N>
void fill(std::array<std::uint8_t, N>& a, std::uint8_t seed) {
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(seed + 13 * i);
}

Initiation sample_initiation() {
  Initiation m;
  m.sender = 0x04030201;
  fill(m.ephemeral, 1);
  fill(m.encrypted_static, 2);
  fill(m.encrypted_timestamp, 3);
  fill(m.mac1, 4);
  fill(m.mac2, 5);
  return m;
}

Response sample_response() {
  Response m;
  m.sender = 0xdeadbeef;
  m.receiver = 0x01020304;
  fill(m.ephemeral, 6);
  fill(m.encrypted_nothing, 7);
  fill(m.mac1, 8);
  fill(m.mac2, 9);
  return m;
}

bool same(const Initiation& a, const Initiation& b) {
  return a.sender == b.sender && a.ephemeral == b.ephemeral && a.encrypted_static == b.encrypted_static &&
         a.encrypted_timestamp == b.encrypted_timestamp && a.mac1 == b.mac1 && a.mac2 == b.mac2;
}

bool same(const Response& a, const Response& b) {
  return a.sender == b.sender && a.receiver == b.receiver && a.ephemeral == b.ephemeral &&
         a.encrypted_nothing == b.encrypted_nothing && a.mac1 == b.mac1 && a.mac2 == b.mac2;
}

Key key_filled(std::uint8_t first) {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
  return k;
}

}  // namespace

TEST(MessagesClassify, ExactSizesForHandshakeMessages) {
  struct Case {
    MessageType type;
    std::size_t size;
  };
  for (Case c : {Case{MessageType::initiation, kInitiationSize}, Case{MessageType::response, kResponseSize},
                 Case{MessageType::cookie_reply, kCookieReplySize}}) {
    for (std::size_t size = c.size - 3; size <= c.size + 3; ++size) {
      auto d = datagram(size, static_cast<std::uint8_t>(c.type));
      auto got = classify(d);
      if (size == c.size) {
        EXPECT_EQ(got, c.type) << size;
      } else {
        EXPECT_EQ(got, std::nullopt) << "type " << int(c.type) << " size " << size;
      }
    }
  }
}

TEST(MessagesClassify, TransportNeedsHeaderAndTag) {
  for (std::size_t size = 0; size < kKeepaliveSize; ++size)
    EXPECT_EQ(classify(datagram(size, 4)), std::nullopt) << size;
  for (std::size_t size : {kKeepaliveSize, kKeepaliveSize + 1, kInitiationSize, kResponseSize, kCookieReplySize,
                           std::size_t{1500}, std::size_t{65535}})
    EXPECT_EQ(classify(datagram(size, 4)), MessageType::transport) << size;
}

TEST(MessagesClassify, WrongTypeBytes) {
  for (std::size_t size : {kInitiationSize, kResponseSize, kCookieReplySize, kKeepaliveSize, std::size_t{200}}) {
    for (int type : {0, 5, 6, 0x10, 0x80, 0xff}) {
      EXPECT_EQ(classify(datagram(size, static_cast<std::uint8_t>(type))), std::nullopt)
          << "type " << type << " size " << size;
    }
  }
  // A handshake type at another handshake message's size.
  EXPECT_EQ(classify(datagram(kResponseSize, 1)), std::nullopt);
  EXPECT_EQ(classify(datagram(kInitiationSize, 2)), std::nullopt);
  EXPECT_EQ(classify(datagram(kInitiationSize, 3)), std::nullopt);
  EXPECT_EQ(classify(std::vector<std::uint8_t>{}), std::nullopt);
  EXPECT_EQ(classify(std::vector<std::uint8_t>{1, 0, 0}), std::nullopt);
}

// The type is a little-endian 32-bit field whose upper three bytes must be zero.
TEST(MessagesClassify, NonZeroReservedBytes) {
  for (auto [type, size] : {std::pair{1, kInitiationSize}, std::pair{2, kResponseSize},
                            std::pair{3, kCookieReplySize}, std::pair{4, kKeepaliveSize}}) {
    for (std::size_t reserved = 1; reserved < 4; ++reserved) {
      for (std::uint8_t value : {std::uint8_t{1}, std::uint8_t{0x80}}) {
        auto d = datagram(size, static_cast<std::uint8_t>(type));
        ASSERT_TRUE(classify(d));
        d[reserved] = value;
        EXPECT_EQ(classify(d), std::nullopt) << "type " << type << " reserved byte " << reserved;
      }
    }
  }
}

TEST(MessagesFormat, InitiationRoundTripAndLayout) {
  Initiation m = sample_initiation();
  std::array<std::uint8_t, kInitiationSize> bytes{};
  write(m, bytes);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[1] | bytes[2] | bytes[3], 0);
  EXPECT_EQ(bytes[4], 0x01);  // sender, little-endian
  EXPECT_EQ(bytes[7], 0x04);
  EXPECT_EQ(bytes[8], m.ephemeral[0]);
  EXPECT_EQ(bytes[40], m.encrypted_static[0]);
  EXPECT_EQ(bytes[88], m.encrypted_timestamp[0]);
  EXPECT_EQ(bytes[116], m.mac1[0]);
  EXPECT_EQ(bytes[132], m.mac2[0]);
  EXPECT_EQ(bytes[147], m.mac2[15]);
  EXPECT_EQ(mac1_of(bytes), m.mac1);
  Initiation back;
  ASSERT_TRUE(parse(bytes, back));
  EXPECT_TRUE(same(m, back));
  Response wrong;
  EXPECT_FALSE(parse(bytes, wrong));
  TransportHeader header;
  EXPECT_FALSE(parse(bytes, header));
}

TEST(MessagesFormat, ResponseRoundTripAndLayout) {
  Response m = sample_response();
  std::array<std::uint8_t, kResponseSize> bytes{};
  write(m, bytes);
  EXPECT_EQ(bytes[0], 2);
  EXPECT_EQ(bytes[4], 0xef);
  EXPECT_EQ(bytes[8], 0x04);
  EXPECT_EQ(bytes[12], m.ephemeral[0]);
  EXPECT_EQ(bytes[44], m.encrypted_nothing[0]);
  EXPECT_EQ(bytes[60], m.mac1[0]);
  EXPECT_EQ(bytes[76], m.mac2[0]);
  EXPECT_EQ(mac1_of(bytes), m.mac1);
  Response back;
  ASSERT_TRUE(parse(bytes, back));
  EXPECT_TRUE(same(m, back));
  Initiation wrong;
  EXPECT_FALSE(parse(bytes, wrong));
}

TEST(MessagesFormat, CookieReplyRoundTripAndLayout) {
  CookieReply m;
  m.receiver = 0x0a0b0c0d;
  fill(m.nonce, 10);
  fill(m.encrypted_cookie, 11);
  std::array<std::uint8_t, kCookieReplySize> bytes{};
  write(m, bytes);
  EXPECT_EQ(bytes[0], 3);
  EXPECT_EQ(bytes[4], 0x0d);
  EXPECT_EQ(bytes[8], m.nonce[0]);
  EXPECT_EQ(bytes[32], m.encrypted_cookie[0]);
  CookieReply back;
  ASSERT_TRUE(parse(bytes, back));
  EXPECT_EQ(back.receiver, m.receiver);
  EXPECT_EQ(back.nonce, m.nonce);
  EXPECT_EQ(back.encrypted_cookie, m.encrypted_cookie);
  EXPECT_EQ(mac1_of(bytes), Mac{}) << "a cookie reply has no MAC1";
}

TEST(MessagesFormat, TransportHeaderRoundTripAndLayout) {
  TransportHeader h{0x11223344, 0x0102030405060708ULL};
  std::vector<std::uint8_t> packet(kKeepaliveSize + 10, 0xcc);
  write(h, std::span(packet).first<kTransportHeaderSize>());
  EXPECT_EQ(packet[0], 4);
  EXPECT_EQ(packet[4], 0x44);
  EXPECT_EQ(packet[8], 0x08);  // counter, little-endian
  EXPECT_EQ(packet[15], 0x01);
  EXPECT_EQ(packet[16], 0xcc) << "only the header is written";
  TransportHeader back;
  ASSERT_TRUE(parse(packet, back));
  EXPECT_EQ(back.receiver, h.receiver);
  EXPECT_EQ(back.counter, h.counter);
  EXPECT_FALSE(parse(std::span(packet).first(kKeepaliveSize - 1), back));
}

// Known answer for both MACs. Not a published vector: computed with Python 3's hashlib.blake2s
// (an independent BLAKE2 implementation) as
//   mac1 = blake2s(msg[:116], digest_size=16, key=bytes(range(0x20, 0x40)))
//   mac2 = blake2s(msg[:132] (mac1 in place), digest_size=16, key=bytes(range(16)))
// for msg[i] = (7i + 3) mod 256 with the header 01 00 00 00. MAC2's key is the 16-byte cookie,
// and BLAKE2s binds the key length, so this checks that MAC2 is keyed with 16 bytes, not 32.
TEST(MessagesMacs, KnownAnswer) {
  std::array<std::uint8_t, kInitiationSize> msg{};
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(7 * i + 3);
  msg[0] = 1;
  msg[1] = msg[2] = msg[3] = 0;
  Mac cookie;
  for (std::size_t i = 0; i < cookie.size(); ++i) cookie[i] = static_cast<std::uint8_t>(i);
  Mac mac1 = add_macs(msg, key_filled(0x20), cookie);
  const Mac expected1 = {0x3a, 0x23, 0x54, 0x3c, 0x1a, 0x4e, 0x94, 0x75,
                         0x1d, 0x5f, 0xff, 0xeb, 0x80, 0xd1, 0xc4, 0x7e};
  const Mac expected2 = {0x81, 0x67, 0x4d, 0xf8, 0xee, 0x77, 0x2a, 0x5f,
                         0xc0, 0x35, 0x6c, 0x66, 0x7d, 0x81, 0x1f, 0xf5};
  EXPECT_EQ(mac1, expected1);
  EXPECT_EQ(mac1_of(msg), expected1);
  EXPECT_TRUE(std::equal(expected2.begin(), expected2.end(), msg.begin() + 132));
}

TEST(MessagesMacs, AddAndCheck) {
  Key mac1_key = key_filled(1);
  for (std::size_t size : {kInitiationSize, kResponseSize}) {
    std::vector<std::uint8_t> msg = datagram(size, size == kInitiationSize ? 1 : 2);
    Mac mac1 = add_macs(msg, mac1_key, std::nullopt);
    EXPECT_EQ(mac1, mac1_of(msg));
    EXPECT_TRUE(mac1_valid(msg, mac1_key));
    EXPECT_FALSE(mac1_valid(msg, key_filled(2)));
    EXPECT_TRUE(std::all_of(msg.end() - 16, msg.end(), [](std::uint8_t b) { return b == 0; }))
        << "no cookie: MAC2 is zeros";
    Mac cookie;
    cookie.fill(0x77);
    EXPECT_FALSE(mac2_valid(msg, cookie));

    Mac again = add_macs(msg, mac1_key, cookie);
    EXPECT_EQ(again, mac1) << "MAC1 does not cover MAC2";
    EXPECT_TRUE(mac1_valid(msg, mac1_key));
    EXPECT_TRUE(mac2_valid(msg, cookie));
    Mac other = cookie;
    other[0] ^= 1;
    EXPECT_FALSE(mac2_valid(msg, other));
    msg.back() ^= 1;
    EXPECT_FALSE(mac2_valid(msg, cookie));
    EXPECT_TRUE(mac1_valid(msg, mac1_key));
  }
}

TEST(MessagesMacs, FlippedBitBreaksMac1) {
  Key mac1_key = key_filled(9);
  Mac cookie;
  cookie.fill(3);
  std::array<std::uint8_t, kInitiationSize> init{};
  write(sample_initiation(), init);
  add_macs(init, mac1_key, cookie);
  ASSERT_TRUE(mac1_valid(init, mac1_key));
  // Every bit up to and including MAC1 is covered by MAC1...
  for (std::size_t bit = 0; bit < (kInitiationSize - 16) * 8; ++bit) {
    auto bad = init;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(mac1_valid(bad, mac1_key)) << "bit " << bit;
    EXPECT_FALSE(mac2_valid(bad, cookie)) << "bit " << bit;
  }
  // ...and the MAC2 field, which MAC1 does not cover, by MAC2.
  for (std::size_t bit = (kInitiationSize - 16) * 8; bit < kInitiationSize * 8; ++bit) {
    auto bad = init;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_TRUE(mac1_valid(bad, mac1_key)) << "bit " << bit;
    EXPECT_FALSE(mac2_valid(bad, cookie)) << "bit " << bit;
  }

  std::array<std::uint8_t, kResponseSize> resp{};
  write(sample_response(), resp);
  add_macs(resp, mac1_key, std::nullopt);
  for (std::size_t bit = 0; bit < (kResponseSize - 16) * 8; ++bit) {
    auto bad = resp;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(mac1_valid(bad, mac1_key)) << "bit " << bit;
  }
}

TEST(MessagesMacs, OnlyInitiationsAndResponsesCarryMacs) {
  Key key = key_filled(0);
  std::vector<std::uint8_t> cookie_reply = datagram(kCookieReplySize, 3);
  EXPECT_THROW(add_macs(cookie_reply, key, std::nullopt), std::invalid_argument);
  EXPECT_FALSE(mac1_valid(cookie_reply, key));
  EXPECT_FALSE(mac2_valid(cookie_reply, Mac{}));
  EXPECT_FALSE(mac1_valid({}, key));
  EXPECT_EQ(mac1_of({}), Mac{});
}
