// The handshake of noise.hpp between our own Initiator and Responder.
//
// Known-answer vectors: no public, deterministic test vectors for the complete WireGuard
// handshake were found (wireguard-go's noise_test.go, the kernel's selftests and wireguard-rs
// all use random keys), and our API draws its ephemeral keys internally. The pieces are
// checked against published vectors in crypto_test.cpp (X25519, BLAKE2s, HMAC, the KDF and the
// initial chaining key and hash); the external proof of the whole is interoperation with stock
// wireguard-go in the namespace tests.
#include <gtest/gtest.h>

#include <iterator>
#include <stdexcept>
#include <vector>

#include "messages.hpp"
#include "noise.hpp"

using namespace waygate::wg;

namespace {

struct Party {
  explicit Party() : id(Identity::from_private(generate_private_key())) {}
  Identity id;
};

Key psk_of(std::uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}

constexpr std::uint64_t kNow = 1'700'000'000'123'456'789ULL;  // unix nanoseconds

// One complete exchange: initiation (written, MACed, parsed), response, both keypairs.
struct Exchange {
  Exchange(const Party& initiator_party, const Party& responder_party, const Key& initiator_psk,
           const Key& responder_psk)
      : i(initiator_party),
        r(responder_party),
        i_peer(PeerKeys::derive(r.id.public_key, initiator_psk)),
        r_peer(PeerKeys::derive(i.id.public_key, responder_psk)) {}

  void initiate() {
    ASSERT_TRUE(initiator.create(i.id, i_peer, 0x11223344, tai64n(kNow), initiation));
    write(initiation, initiation_bytes);
    add_macs(initiation_bytes, i_peer.mac1_key, std::nullopt);
  }

  bool receive_initiation() {
    Initiation parsed;
    return parse(initiation_bytes, parsed) && mac1_valid(initiation_bytes, r.id.mac1_key) &&
           responder.consume(r.id, parsed);
  }

  void respond() {
    responder_keys = responder.respond(r.id, r_peer, 0x55667788, response);
    write(response, response_bytes);
    add_macs(response_bytes, r_peer.mac1_key, std::nullopt);
  }

  std::optional<Keypair> receive_response(Bytes bytes) {
    Response parsed;
    if (!parse(bytes, parsed) || !mac1_valid(bytes, i.id.mac1_key)) return std::nullopt;
    return initiator.consume(i.id, i_peer, parsed);
  }

  const Party& i;
  const Party& r;
  PeerKeys i_peer;  // the responder, as the initiator knows it
  PeerKeys r_peer;  // the initiator, as the responder knows it
  Initiator initiator;
  Responder responder;
  Initiation initiation;
  std::array<std::uint8_t, kInitiationSize> initiation_bytes{};
  Response response;
  std::array<std::uint8_t, kResponseSize> response_bytes{};
  Keypair responder_keys;
};

void expect_matching(const Keypair& initiator, const Keypair& responder) {
  EXPECT_EQ(initiator.send, responder.receive);
  EXPECT_EQ(initiator.receive, responder.send);
  EXPECT_NE(initiator.send, initiator.receive);
  EXPECT_NE(initiator.send, Key{});
  EXPECT_TRUE(initiator.initiator);
  EXPECT_FALSE(responder.initiator);
  EXPECT_EQ(initiator.local_index, responder.remote_index);
  EXPECT_EQ(initiator.remote_index, responder.local_index);
}

}  // namespace

TEST(NoiseHandshake, WithoutPresharedKey) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  EXPECT_EQ(x.responder.peer_public_key(), alice.id.public_key);
  EXPECT_EQ(x.responder.timestamp(), tai64n(kNow));
  x.respond();
  EXPECT_EQ(x.response.receiver, 0x11223344u);
  auto keys = x.receive_response(x.response_bytes);
  ASSERT_TRUE(keys);
  expect_matching(*keys, x.responder_keys);
  EXPECT_EQ(keys->local_index, 0x11223344u);
  EXPECT_EQ(keys->remote_index, 0x55667788u);
}

TEST(NoiseHandshake, WithPresharedKey) {
  Party alice, bob;
  Exchange with(alice, bob, psk_of(0x42), psk_of(0x42));
  with.initiate();
  ASSERT_TRUE(with.receive_initiation());
  with.respond();
  auto keys = with.receive_response(with.response_bytes);
  ASSERT_TRUE(keys);
  expect_matching(*keys, with.responder_keys);

  // The same parties without the key derive something else.
  Exchange without(alice, bob, Key{}, Key{});
  without.initiate();
  ASSERT_TRUE(without.receive_initiation());
  without.respond();
  auto plain = without.receive_response(without.response_bytes);
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->send, keys->send);
}

// The PSK enters only the response: a responder with another PSK still answers, but the
// initiator cannot authenticate the answer.
TEST(NoiseHandshake, MismatchedPresharedKeyFails) {
  Party alice, bob;
  Exchange x(alice, bob, psk_of(1), psk_of(2));
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  x.respond();
  EXPECT_FALSE(x.receive_response(x.response_bytes));
}

TEST(NoiseHandshake, FreshKeysEveryHandshake) {
  Party alice, bob;
  Exchange first(alice, bob, Key{}, Key{}), second(alice, bob, Key{}, Key{});
  for (Exchange* x : {&first, &second}) {
    x->initiate();
    ASSERT_TRUE(x->receive_initiation());
    x->respond();
  }
  EXPECT_NE(first.initiation.ephemeral, second.initiation.ephemeral);
  EXPECT_NE(first.response.ephemeral, second.response.ephemeral);
  EXPECT_NE(first.responder_keys.send, second.responder_keys.send);
}

TEST(NoiseTransport, RoundTripBothWays) {
  Party alice, bob;
  Exchange x(alice, bob, psk_of(9), psk_of(9));
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  x.respond();
  auto keys = x.receive_response(x.response_bytes);
  ASSERT_TRUE(keys);
  Aead aead;
  std::vector<std::uint8_t> packet(100);
  for (std::size_t i = 0; i < packet.size(); ++i) packet[i] = static_cast<std::uint8_t>(i * 3);
  for (std::uint64_t counter : {0ULL, 1ULL, 1000000ULL}) {
    std::vector<std::uint8_t> wire(packet.size() + kTagSize);
    aead.seal(keys->send, counter, packet, {}, wire.data());
    std::vector<std::uint8_t> back(packet.size());
    ASSERT_TRUE(aead.open(x.responder_keys.receive, counter, wire, {}, back.data()));
    EXPECT_EQ(back, packet);
    EXPECT_FALSE(aead.open(x.responder_keys.send, counter, wire, {}, back.data())) << "wrong direction";
    aead.seal(x.responder_keys.send, counter, packet, {}, wire.data());
    ASSERT_TRUE(aead.open(keys->receive, counter, wire, {}, back.data()));
    EXPECT_EQ(back, packet);
  }
}

TEST(NoiseResponse, ForAnotherIndexIsRefused) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  x.respond();
  Response other = x.response;
  other.receiver ^= 1;
  EXPECT_FALSE(x.initiator.consume(alice.id, x.i_peer, other));
  // Refusals leave the handshake pending: the genuine response still completes it...
  auto keys = x.initiator.consume(alice.id, x.i_peer, x.response);
  ASSERT_TRUE(keys);
  expect_matching(*keys, x.responder_keys);
  // ...once: a replay of it yields nothing.
  EXPECT_FALSE(x.initiator.consume(alice.id, x.i_peer, x.response));
}

TEST(NoiseResponse, TamperedFieldsAreRefused) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  x.respond();
  // What consume() authenticates itself: the ephemeral key and the empty AEAD.
  for (std::size_t i = 0; i < 32; ++i) {
    Response bad = x.response;
    bad.ephemeral[i] ^= 0x04;
    EXPECT_FALSE(x.initiator.consume(alice.id, x.i_peer, bad)) << "ephemeral byte " << i;
  }
  for (std::size_t i = 0; i < kTagSize; ++i) {
    Response bad = x.response;
    bad.encrypted_nothing[i] ^= 0x80;
    EXPECT_FALSE(x.initiator.consume(alice.id, x.i_peer, bad)) << "tag byte " << i;
  }
  // The whole receive path (parse, MAC1, consume) refuses a change to any byte up to MAC2; the
  // sender index is covered by MAC1 only. MAC2 is checked only under load (cookie_test.cpp).
  for (std::size_t byte = 0; byte < kResponseSize - 16; ++byte) {
    auto bad = x.response_bytes;
    bad[byte] ^= 0x01;
    EXPECT_FALSE(x.receive_response(bad)) << "byte " << byte;
  }
  EXPECT_TRUE(x.receive_response(x.response_bytes));
}

TEST(NoiseInitiation, TamperedBytesFailMac1OrConsume) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  for (std::size_t byte = 0; byte < kInitiationSize - 16; ++byte) {
    Exchange copy(alice, bob, Key{}, Key{});
    copy.initiation_bytes = x.initiation_bytes;
    copy.initiation_bytes[byte] ^= 0x20;
    EXPECT_FALSE(copy.receive_initiation()) << "byte " << byte;
  }
  // consume() alone (MAC1 aside) refuses every change to the ephemeral key and the two AEADs.
  auto refused = [&](Initiation bad) {
    Responder responder;
    return !responder.consume(bob.id, bad);
  };
  for (std::size_t i = 0; i < 32; ++i) {
    Initiation bad = x.initiation;
    bad.ephemeral[i] ^= 0x02;
    EXPECT_TRUE(refused(bad)) << "ephemeral byte " << i;
  }
  for (std::size_t i = 0; i < x.initiation.encrypted_static.size(); ++i) {
    Initiation bad = x.initiation;
    bad.encrypted_static[i] ^= 0x02;
    EXPECT_TRUE(refused(bad)) << "static byte " << i;
  }
  for (std::size_t i = 0; i < x.initiation.encrypted_timestamp.size(); ++i) {
    Initiation bad = x.initiation;
    bad.encrypted_timestamp[i] ^= 0x02;
    EXPECT_TRUE(refused(bad)) << "timestamp byte " << i;
  }
  EXPECT_TRUE(x.receive_initiation());
}

TEST(NoiseInitiation, ToAnotherResponderFails) {
  Party alice, bob, carol;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  Responder carol_side;
  EXPECT_FALSE(carol_side.consume(carol.id, x.initiation));
  EXPECT_FALSE(mac1_valid(x.initiation_bytes, carol.id.mac1_key));
}

// The responder learns the initiator's static key from the initiation itself, before it knows
// whether that key belongs to a configured peer; finding the peer is the caller's step.
TEST(NoiseInitiation, UnknownInitiatorDecryptsToItsKey) {
  Party stranger, bob;
  PeerKeys bob_as_seen = PeerKeys::derive(bob.id.public_key, Key{});
  Initiator initiator;
  Initiation initiation;
  ASSERT_TRUE(initiator.create(stranger.id, bob_as_seen, 7, tai64n(kNow), initiation));
  Responder responder;
  ASSERT_TRUE(responder.consume(bob.id, initiation));
  EXPECT_EQ(responder.peer_public_key(), stranger.id.public_key);
  EXPECT_EQ(initiation.sender, 7u);
}

TEST(NoiseInitiation, SmallOrderEphemeralIsRefused) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  Initiation bad = x.initiation;
  bad.ephemeral = Key{};  // the point u = 0
  Responder responder;
  EXPECT_FALSE(responder.consume(bob.id, bad));
  bad.ephemeral[0] = 1;  // u = 1
  EXPECT_FALSE(responder.consume(bob.id, bad));
}

TEST(NoiseResponse, SmallOrderEphemeralIsRefused) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  x.respond();
  Response bad = x.response;
  bad.ephemeral = Key{};
  EXPECT_FALSE(x.initiator.consume(alice.id, x.i_peer, bad));
  EXPECT_TRUE(x.initiator.consume(alice.id, x.i_peer, x.response));
}

// No initiation towards a low-order public key: the static-static DH would be zero, and no
// responder could ever answer. Nothing is filled and nothing is kept pending.
TEST(NoisePeer, SmallOrderPublicKeyGetsNoInitiation) {
  Party alice, bob;
  Key order8{};
  const std::uint8_t point[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
                                  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
                                  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
  std::copy(std::begin(point), std::end(point), order8.begin());
  for (const Key& key : {Key{}, order8}) {
    Initiator initiator;
    Initiation out;
    out.sender = 42;
    EXPECT_FALSE(initiator.create(alice.id, PeerKeys::derive(key, Key{}), 1, tai64n(kNow), out));
    EXPECT_EQ(out.sender, 42u);
    Response any{};
    any.receiver = 1;
    EXPECT_FALSE(initiator.consume(alice.id, PeerKeys::derive(key, Key{}), any));
  }
  Initiator initiator;
  Initiation out;
  EXPECT_TRUE(initiator.create(alice.id, PeerKeys::derive(bob.id.public_key, Key{}), 1, tai64n(kNow), out));
}

TEST(NoisePeer, DerivedKeysMatchIdentity) {
  Party alice, bob;
  PeerKeys bob_at_alice = PeerKeys::derive(bob.id.public_key, psk_of(3));
  EXPECT_EQ(bob_at_alice.mac1_key, bob.id.mac1_key);
  EXPECT_EQ(bob_at_alice.cookie_key, bob.id.cookie_key);
  EXPECT_NE(bob.id.mac1_key, bob.id.cookie_key);
  EXPECT_EQ(bob.id.public_key, public_key(bob.id.private_key));
}

TEST(NoiseMisuse, InitiatorWithoutInitiationAndResponderWithoutConsume) {
  Party alice, bob;
  Exchange x(alice, bob, Key{}, Key{});
  x.initiate();
  ASSERT_TRUE(x.receive_initiation());
  x.respond();
  Initiator idle;
  EXPECT_FALSE(idle.consume(alice.id, x.i_peer, x.response));
  Responder fresh;
  Response out;
  EXPECT_THROW(fresh.respond(bob.id, x.r_peer, 1, out), std::logic_error);
  // One response per consumed initiation.
  EXPECT_THROW(x.responder.respond(bob.id, x.r_peer, 2, out), std::logic_error);
  // The peer passed to respond() must be the one the initiation came from.
  Party carol;
  Exchange y(alice, bob, Key{}, Key{});
  y.initiate();
  ASSERT_TRUE(y.receive_initiation());
  PeerKeys wrong = PeerKeys::derive(carol.id.public_key, Key{});
  EXPECT_THROW(y.responder.respond(bob.id, wrong, 3, out), std::logic_error);
}

TEST(NoiseTai64n, Layout) {
  // 2^62 + 10 + 1700000000 seconds = 0x400000006553f10a; 123456789 ns = 0x075bcd15.
  Tai64n expected = {0x40, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x0a, 0x07, 0x5b, 0xcd, 0x15};
  EXPECT_EQ(tai64n(kNow), expected);
  Tai64n epoch = {0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0};
  EXPECT_EQ(tai64n(0), epoch);
}

TEST(NoiseTai64n, LaterTimesCompareGreater) {
  const std::uint64_t base = 1'700'000'000'000'000'000ULL;
  const std::uint64_t steps[] = {0, 1, 255, 256, 999'999'999, 1'000'000'000, 1'000'000'001, 86'400'000'000'000,
                                 4'000'000'000'000'000'000ULL};
  for (std::size_t a = 0; a < std::size(steps); ++a) {
    for (std::size_t b = a + 1; b < std::size(steps); ++b) {
      EXPECT_LT(tai64n(base + steps[a]), tai64n(base + steps[b])) << steps[a] << " vs " << steps[b];
    }
  }
  EXPECT_EQ(tai64n(base), tai64n(base));
}
