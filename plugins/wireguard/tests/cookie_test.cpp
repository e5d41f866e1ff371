// The cookie mechanism of cookie.hpp, driven by explicit times.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <vector>

#include "cookie.hpp"
#include "noise.hpp"

using namespace waygate::wg;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint8_t> source_of(const char* ip, std::uint16_t port) {
  std::array<std::uint8_t, 18> out{};
  std::size_t n = 0;
  if (std::strchr(ip, ':') != nullptr) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    n = source_bytes(&a, out);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    n = source_bytes(&a, out);
  }
  return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)};
}

// An initiation from `from` to `to`, written with its MACs; returns the bytes and the MAC1.
struct Sent {
  std::array<std::uint8_t, kInitiationSize> bytes{};
  Mac mac1{};
  std::uint32_t sender = 0;
};

Sent initiation(const Identity& from, const PeerKeys& to, std::uint32_t index, const std::optional<Mac>& cookie) {
  Initiator initiator;
  Initiation m;
  EXPECT_TRUE(initiator.create(from, to, index, tai64n(1'700'000'000'000'000'000ULL), m));
  Sent s;
  write(m, s.bytes);
  s.mac1 = add_macs(s.bytes, to.mac1_key, cookie);
  s.sender = m.sender;
  return s;
}

}  // namespace

TEST(CookieSource, Ipv4AndIpv6Bytes) {
  EXPECT_EQ(source_of("192.0.2.1", 51820), (std::vector<std::uint8_t>{192, 0, 2, 1, 0xca, 0x6c}));
  auto v6 = source_of("2001:db8::1", 443);
  std::vector<std::uint8_t> expected = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb};
  EXPECT_EQ(v6, expected);
  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  std::array<std::uint8_t, 18> out{};
  EXPECT_EQ(source_bytes(&unix_address, out), 0u);
  // Storage of any alignment and type: a sockaddr_storage holding an IPv4 address.
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(1);
  in->sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_EQ(source_bytes(&storage, out), 6u);
  EXPECT_EQ(out[0], 127);
  EXPECT_EQ(out[5], 1);
}

Key seed() {
  Key k;
  random_bytes(k);
  return k;
}

TEST(CookieChecker, BoundToAddressAndPort) {
  CookieChecker checker(seed());
  auto t = 5s;
  Mac a = checker.cookie_for(source_of("192.0.2.1", 1000), t);
  EXPECT_EQ(checker.cookie_for(source_of("192.0.2.1", 1000), t), a);
  EXPECT_NE(checker.cookie_for(source_of("192.0.2.1", 1001), t), a);
  EXPECT_NE(checker.cookie_for(source_of("192.0.2.2", 1000), t), a);
  EXPECT_NE(checker.cookie_for(source_of("2001:db8::1", 1000), t), a);
  // Another seed, another secret.
  CookieChecker other(seed());
  EXPECT_NE(other.cookie_for(source_of("192.0.2.1", 1000), t), a);
}

// Two workers' checkers, seeded alike, make the same cookie in the same two minutes, whichever
// asked first and whatever each asked before: a cookie one sent the other accepts.
TEST(CookieChecker, CheckersSeededAlikeAgree) {
  const Key s = seed();
  CookieChecker one(s), two(s);
  auto source = source_of("198.51.100.7", 4242);
  Mac early = one.cookie_for(source, 130s);
  EXPECT_NE(two.cookie_for(source, 5s), early);
  EXPECT_EQ(two.cookie_for(source, 239s), early);
  EXPECT_EQ(one.cookie_for(source, 240s), two.cookie_for(source, 359s));
}

TEST(CookieChecker, SecretRotatesEveryTwoMinutes) {
  CookieChecker checker(seed());
  auto source = source_of("198.51.100.7", 4242);
  Mac first = checker.cookie_for(source, 0ns);  // a clock may start at zero
  EXPECT_EQ(checker.cookie_for(source, 1s), first);
  EXPECT_EQ(checker.cookie_for(source, 120s - 1ns), first);
  Mac second = checker.cookie_for(source, 120s);
  EXPECT_NE(second, first);
  EXPECT_EQ(checker.cookie_for(source, 239s), second);
  Mac third = checker.cookie_for(source, 240s);
  EXPECT_NE(third, second);
  EXPECT_NE(third, first);
  // A long silence: one fresh secret, then stable again.
  Mac later = checker.cookie_for(source, 3600s);
  EXPECT_NE(later, third);
  EXPECT_EQ(checker.cookie_for(source, 3600s + 119s), later);
}

TEST(CookieJar, ExpiresAfterTwoMinutes) {
  Identity responder = Identity::from_private(generate_private_key());
  Identity initiator_id = Identity::from_private(generate_private_key());
  PeerKeys to_responder = PeerKeys::derive(responder.public_key, Key{});
  Sent sent = initiation(initiator_id, to_responder, 1, std::nullopt);
  CookieChecker checker(seed());
  auto source = source_of("203.0.113.9", 7);
  CookieReply reply = checker.reply(sent.bytes, sent.sender, source, responder.cookie_key, 10s);
  CookieJar jar;
  EXPECT_EQ(jar.cookie(0s), std::nullopt) << "empty at first";
  ASSERT_TRUE(jar.consume(reply, sent.mac1, to_responder.cookie_key, 10s));
  ASSERT_TRUE(jar.cookie(10s));
  EXPECT_EQ(*jar.cookie(10s), checker.cookie_for(source, 10s));
  EXPECT_TRUE(jar.cookie(10s + 120s - 1ns));
  EXPECT_EQ(jar.cookie(130s), std::nullopt);
  EXPECT_EQ(jar.cookie(1000s), std::nullopt);
}

TEST(CookieJar, ReplyOpensOnlyForItsMac1AndKey) {
  Identity responder = Identity::from_private(generate_private_key());
  Identity initiator_id = Identity::from_private(generate_private_key());
  PeerKeys to_responder = PeerKeys::derive(responder.public_key, Key{});
  Sent first = initiation(initiator_id, to_responder, 1, std::nullopt);
  Sent second = initiation(initiator_id, to_responder, 2, std::nullopt);
  ASSERT_NE(first.mac1, second.mac1);
  CookieChecker checker(seed());
  auto source = source_of("203.0.113.9", 7);
  CookieReply reply = checker.reply(first.bytes, first.sender, source, responder.cookie_key, 1s);
  EXPECT_EQ(reply.receiver, first.sender);
  CookieJar jar;
  EXPECT_FALSE(jar.consume(reply, second.mac1, to_responder.cookie_key, 1s));
  Key wrong_key = to_responder.cookie_key;
  wrong_key[0] ^= 1;
  EXPECT_FALSE(jar.consume(reply, first.mac1, wrong_key, 1s));
  CookieReply tampered = reply;
  tampered.nonce[0] ^= 1;
  EXPECT_FALSE(jar.consume(tampered, first.mac1, to_responder.cookie_key, 1s));
  tampered = reply;
  tampered.encrypted_cookie[20] ^= 1;
  EXPECT_FALSE(jar.consume(tampered, first.mac1, to_responder.cookie_key, 1s));
  EXPECT_EQ(jar.cookie(1s), std::nullopt) << "failed replies leave the jar as it was";
  EXPECT_TRUE(jar.consume(reply, first.mac1, to_responder.cookie_key, 1s));
}

// The whole exchange under load: an initiation without MAC2 draws a cookie reply, the
// initiator's jar opens it, and the re-sent initiation carries a MAC2 the checker accepts, from
// that source and for as long as both the secret and the cookie last.
TEST(CookieEndToEnd, ReplyThenMac2Passes) {
  Identity responder = Identity::from_private(generate_private_key());
  Identity initiator_id = Identity::from_private(generate_private_key());
  PeerKeys to_responder = PeerKeys::derive(responder.public_key, Key{});
  CookieChecker checker(seed());
  CookieJar jar;
  auto source = source_of("2001:db8::42", 51820);
  auto now = 1000s;

  Sent first = initiation(initiator_id, to_responder, 77, jar.cookie(now));
  ASSERT_TRUE(mac1_valid(first.bytes, responder.mac1_key));
  EXPECT_FALSE(checker.mac2_valid(first.bytes, source, now));
  CookieReply reply = checker.reply(first.bytes, first.sender, source, responder.cookie_key, now);
  std::array<std::uint8_t, kCookieReplySize> wire{};
  write(reply, wire);
  CookieReply received;
  ASSERT_TRUE(parse(wire, received));
  EXPECT_EQ(received.receiver, 77u);
  ASSERT_TRUE(jar.consume(received, first.mac1, to_responder.cookie_key, now + 1s));

  Sent again = initiation(initiator_id, to_responder, 78, jar.cookie(now + 2s));
  EXPECT_TRUE(mac1_valid(again.bytes, responder.mac1_key));
  EXPECT_TRUE(checker.mac2_valid(again.bytes, source, now + 2s));
  EXPECT_FALSE(checker.mac2_valid(again.bytes, source_of("2001:db8::42", 51821), now + 2s));
  EXPECT_FALSE(checker.mac2_valid(again.bytes, source_of("2001:db8::43", 51820), now + 2s));
  auto tampered = again.bytes;
  tampered[140] ^= 1;
  EXPECT_FALSE(checker.mac2_valid(tampered, source, now + 2s));
  // The secret changes two minutes after it was made: the old cookie no longer passes.
  EXPECT_FALSE(checker.mac2_valid(again.bytes, source, now + 120s));
  EXPECT_EQ(jar.cookie(now + 121s), std::nullopt);

  // Responses carry MAC2 the same way.
  std::array<std::uint8_t, kResponseSize> response{};
  write(Response{}, response);
  Mac cookie = checker.cookie_for(source, now + 200s);
  add_macs(response, initiator_id.mac1_key, cookie);
  EXPECT_TRUE(checker.mac2_valid(response, source, now + 200s));
}
