// The primitives of crypto.hpp against published known-answer vectors (each cited where it is
// used), plus the properties the protocol leans on: in-place operation, tamper rejection,
// context reuse across keys, and the handshake's initial constants.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto.hpp"

using namespace waygate::wg;

namespace {

std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int high = -1;
  for (char c : hex) {
    int v = nibble(c);
    if (v < 0) continue;  // spaces and line breaks in long vectors
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  EXPECT_LT(high, 0) << "odd number of hex digits";
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> array_of(std::string_view hex) {
  auto bytes = unhex(hex);
  std::array<std::uint8_t, N> out{};
  EXPECT_EQ(bytes.size(), N);
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}

Key key_of(std::string_view hex) { return array_of<32>(hex); }

Bytes text(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

template <class A, class B>
std::vector<std::uint8_t> vec(const A& a, const B& b) {
  std::vector<std::uint8_t> v(a.begin(), a.end());
  v.insert(v.end(), b.begin(), b.end());
  return v;
}

std::vector<std::uint8_t> counting(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i);
  return v;
}

// RFC 8439 appendix A.5, "ChaCha20-Poly1305 AEAD Decryption". Its nonce is
// 00 00 00 00 01 02 03 04 05 06 07 08: four zero bytes and then, little-endian, the 64-bit
// counter 0x0807060504030201, which is exactly WireGuard's nonce layout, so this vector checks
// our Aead whole (key, nonce construction, AAD and tag), not only the library under it. (The
// better-known section 2.8.2 vector has nonce 07 00 00 00 ..., which our API cannot express.)
const Key kA5Key = key_of("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
constexpr std::uint64_t kA5Counter = 0x0807060504030201ULL;
const auto kA5Aad = unhex("f33388860000000000004e91");
const auto kA5Plain = unhex(
    "496e7465726e65742d4472616674732061726520647261667420646f63756d65"
    "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
    "6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
    "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
    "6e747320617420616e792074696d652e20497420697320696e617070726f7072"
    "6961746520746f2075736520496e7465726e65742d4472616674732061732072"
    "65666572656e6365206d6174657269616c206f7220746f206369746520746865"
    "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
    "726573732e2fe2809d");
const auto kA5Sealed = unhex(
    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
    "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
    "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
    "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
    "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
    "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
    "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
    "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
    "a6ad5cb4022b02709b"
    "eead9d67890cbb22392336fea1851f38");  // the tag

// draft-irtf-cfrg-xchacha-03 appendix A.3.1, "AEAD_XChaCha20_Poly1305" example.
const Key kXKey = key_of("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const auto kXNonce = array_of<24>("404142434445464748494a4b4c4d4e4f5051525354555657");
const auto kXAad = unhex("50515253c0c1c2c3c4c5c6c7");
const std::string_view kXPlain =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be "
    "it.";
const auto kXSealed = unhex(
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e"
    "c0875924c1c7987947deafd8780acf49");

}  // namespace

// RFC 7748 section 6.1: Alice's and Bob's key pairs and their shared secret.
TEST(CryptoX25519, Rfc7748Section6_1) {
  Key alice = key_of("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  Key bob = key_of("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  Key alice_public = key_of("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  Key bob_public = key_of("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  Key shared = key_of("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(public_key(alice), alice_public);
  EXPECT_EQ(public_key(bob), bob_public);
  Key a{}, b{};
  ASSERT_TRUE(dh(alice, bob_public, a));
  ASSERT_TRUE(dh(bob, alice_public, b));
  EXPECT_EQ(a, shared);
  EXPECT_EQ(b, shared);
}

// Points of small order give an all-zero shared secret, which dh() must refuse, leaving no partial
// secret; low_order() names exactly those keys without a scalar multiplication: every point of
// small order in each of its encodings (the top bit is not part of the coordinate, RFC 7748), and
// none of a thousand real or random keys.
TEST(CryptoX25519, SmallOrderPointsAreRefusedAndKnownWithoutDh) {
  Key priv = generate_private_key();
  Key out;
  for (const char* point : {"0000000000000000000000000000000000000000000000000000000000000000",
                            "0100000000000000000000000000000000000000000000000000000000000000",
                            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"}) {
    for (std::uint8_t top : {0x00, 0x80}) {
      Key k = key_of(point);
      k[31] |= top;
      out.fill(0xaa);
      EXPECT_TRUE(low_order(k)) << point << " top bit " << int{top};
      EXPECT_FALSE(dh(priv, k, out)) << point << " top bit " << int{top};
      EXPECT_EQ(out, Key{}) << "a refused DH leaves no partial secret";
    }
  }
  for (int i = 0; i < 1000; ++i) {
    Key k = public_key(generate_private_key());
    if (i % 2 == 1) random_bytes(k);  // not necessarily on the curve: dh() takes it
    EXPECT_FALSE(low_order(k));
    EXPECT_TRUE(dh(priv, k, out));
  }
}

TEST(CryptoX25519, GeneratedKeysAreClampedAndAgree) {
  Key a = generate_private_key();
  Key b = generate_private_key();
  EXPECT_NE(a, b);
  for (const Key& k : {a, b}) {
    EXPECT_EQ(k[0] & 7, 0);
    EXPECT_EQ(k[31] & 0x80, 0);
    EXPECT_EQ(k[31] & 0x40, 0x40);
  }
  Key ab{}, ba{};
  ASSERT_TRUE(dh(a, public_key(b), ab));
  ASSERT_TRUE(dh(b, public_key(a), ba));
  EXPECT_EQ(ab, ba);
}

// RFC 7693 appendix B: BLAKE2s-256("abc"). The empty-input digest is the first unkeyed entry of
// the BLAKE2 reference test vectors (github.com/BLAKE2/BLAKE2, testvectors/blake2s-kat.txt).
TEST(CryptoHash, Blake2sRfc7693AppendixB) {
  EXPECT_EQ(hash({text("abc")}), key_of("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"));
  EXPECT_EQ(hash({text("a"), text(""), text("bc")}), hash({text("abc")})) << "parts are concatenated";
  EXPECT_EQ(hash({}), key_of("69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"));
  EXPECT_EQ(hash({text("")}), hash({}));
}

// Keyed BLAKE2s with a 32-byte key and a 16-byte output, which is MAC of the whitepaper (and
// Go's blake2s.New128, which wireguard-go uses for MAC1). Vectors: golang.org/x/crypto,
// blake2s/blake2s_test.go, `hashes128`: key 00 01 .. 1f, input the first i bytes of 00 01 02 ..
TEST(CryptoMac, KeyedBlake2s128GoVectors) {
  auto key = key_of("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto input = counting(255);
  struct Case {
    std::size_t length;
    const char* mac;
  };
  for (Case c : {Case{0, "9536f9b267655743dee97b8a670f9f53"}, Case{1, "13bacfb85b48a1223c595f8c1e7e82cb"},
                 Case{2, "d47a9b1645e2feae501cd5fe44ce6333"}, Case{3, "1e2a79436a7796a3e9826bfedf07659f"},
                 Case{64, "f1efa90d2547036841ecd3627fafbc36"}, Case{65, "811ff8686d23a435ecbd0bdafcd27b1b"}}) {
    EXPECT_EQ(mac(key, Bytes(input).first(c.length)), array_of<16>(c.mac)) << "input length " << c.length;
  }
}

// HMAC-BLAKE2s with a 32-byte key: the Linux kernel's blake2s_hmac_testvecs[0]
// (lib/crypto/blake2s-selftest.c, removed in 2022 with blake2s256_hmac). Key: key[0] = key[1] =
// 1, key[i] = key[i-2] + key[i-1] mod 256; message: the 256 bytes 00 01 .. ff.
TEST(CryptoHmac, KernelBlake2sHmacVector) {
  Key key{};
  key[0] = key[1] = 1;
  for (std::size_t i = 2; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(key[i - 2] + key[i - 1]);
  EXPECT_EQ(hmac(key, counting(256)), key_of("cee1576982dcbf43ad564c70ed681696cfa473e8e8fc3279080a7582da3f0511"));
}

// wireguard-go device/kdf_test.go (TestKDF). Its keys are shorter than 32 bytes; HMAC pads any
// key shorter than the 64-byte block with zeros (RFC 2104 section 2), so the same key padded
// with zeros to our 32-byte Key gives the same results.
TEST(CryptoKdf, WireguardGoVectors) {
  struct Case {
    std::string_view key, input;
    const char *t1, *t2, *t3;
  };
  for (Case c : {Case{"test-key", "test-input", "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
                      "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
                      "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"},
                 Case{"wireguard", "wireguard", "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
                      "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
                      "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"},
                 Case{"", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
                      "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
                      "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"}}) {
    Key key{};
    std::copy(c.key.begin(), c.key.end(), key.begin());
    Key t1, t2, t3;
    kdf(key, text(c.input), &t1, &t2, &t3);
    EXPECT_EQ(t1, key_of(c.t1)) << c.key;
    EXPECT_EQ(t2, key_of(c.t2)) << c.key;
    EXPECT_EQ(t3, key_of(c.t3)) << c.key;
    Key only1, two1, two2;
    kdf(key, text(c.input), &only1);
    kdf(key, text(c.input), &two1, &two2);
    EXPECT_EQ(only1, t1);
    EXPECT_EQ(two1, t1);
    EXPECT_EQ(two2, t2);
  }
}

// KDF is HKDF over HMAC: T0 = HMAC(C, x), T1 = HMAC(T0, 1), Ti = HMAC(T0, Ti-1 || i).
TEST(CryptoKdf, IsHkdfOverHmacAndAllowsAliasing) {
  Key chaining = hash({text("chaining key")});
  auto input = counting(77);
  Key t0 = hmac(chaining, input);
  std::uint8_t one = 1;
  Key t1 = hmac(t0, Bytes(&one, 1));
  Key t2 = hmac(t0, vec(t1, std::array<std::uint8_t, 1>{2}));
  Key t3 = hmac(t0, vec(t2, std::array<std::uint8_t, 1>{3}));
  Key a, b, c;
  kdf(chaining, input, &a, &b, &c);
  EXPECT_EQ(a, t1);
  EXPECT_EQ(b, t2);
  EXPECT_EQ(c, t3);
  // The handshake writes the new chaining key over the old one: C := KDF1(C, x).
  Key aliased = chaining;
  kdf(aliased, input, &aliased);
  EXPECT_EQ(aliased, t1);
  Key k;
  aliased = chaining;
  kdf(aliased, input, &aliased, &k);
  EXPECT_EQ(aliased, t1);
  EXPECT_EQ(k, t2);
}

// The handshake's starting point: C = HASH(CONSTRUCTION), H = HASH(C || IDENTIFIER). Published
// as the precomputed constants INITIAL_CK and INITIAL_HS of the official Rust implementation,
// github.com/WireGuard/wireguard-rs, src/wireguard/handshake/noise.rs.
TEST(CryptoHash, WireGuardInitialChainingKeyAndHash) {
  Key chaining = hash({text("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")});
  EXPECT_EQ(chaining, key_of("60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36"));
  EXPECT_EQ(hash({chaining, text("WireGuard v1 zx2c4 Jason@zx2c4.com")}),
            key_of("2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3"));
}

TEST(CryptoAead, Rfc8439AppendixA5Seal) {
  Aead aead;
  std::vector<std::uint8_t> sealed(kA5Plain.size() + kTagSize);
  aead.seal(kA5Key, kA5Counter, kA5Plain, kA5Aad, sealed.data());
  EXPECT_EQ(sealed, kA5Sealed);
}

TEST(CryptoAead, Rfc8439AppendixA5Open) {
  Aead aead;
  std::vector<std::uint8_t> plain(kA5Sealed.size() - kTagSize);
  ASSERT_TRUE(aead.open(kA5Key, kA5Counter, kA5Sealed, kA5Aad, plain.data()));
  EXPECT_EQ(plain, kA5Plain);
}

TEST(CryptoAead, InPlace) {
  Aead aead;
  std::vector<std::uint8_t> buffer = kA5Plain;
  buffer.resize(kA5Plain.size() + kTagSize);
  aead.seal(kA5Key, kA5Counter, Bytes(buffer).first(kA5Plain.size()), kA5Aad, buffer.data());
  EXPECT_EQ(buffer, kA5Sealed);
  ASSERT_TRUE(aead.open(kA5Key, kA5Counter, buffer, kA5Aad, buffer.data()));
  EXPECT_EQ(std::vector<std::uint8_t>(buffer.begin(), buffer.end() - kTagSize), kA5Plain);
}

TEST(CryptoAead, TamperingIsRejected) {
  Aead aead;
  std::vector<std::uint8_t> out(kA5Sealed.size());
  for (std::size_t i : {std::size_t{0}, kA5Sealed.size() / 2, kA5Sealed.size() - kTagSize - 1,
                        kA5Sealed.size() - kTagSize, kA5Sealed.size() - 1}) {
    auto bad = kA5Sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(aead.open(kA5Key, kA5Counter, bad, kA5Aad, out.data())) << "byte " << i;
  }
  auto bad_ad = kA5Aad;
  bad_ad[0] ^= 0x80;
  EXPECT_FALSE(aead.open(kA5Key, kA5Counter, kA5Sealed, bad_ad, out.data()));
  EXPECT_FALSE(aead.open(kA5Key, kA5Counter, kA5Sealed, {}, out.data()));
  EXPECT_FALSE(aead.open(kA5Key, kA5Counter + 1, kA5Sealed, kA5Aad, out.data())) << "wrong counter";
  Key other = kA5Key;
  other[31] ^= 1;
  EXPECT_FALSE(aead.open(other, kA5Counter, kA5Sealed, kA5Aad, out.data())) << "wrong key";
  EXPECT_FALSE(aead.open(kA5Key, kA5Counter, Bytes(kA5Sealed).first(kTagSize - 1), kA5Aad, out.data()));
  EXPECT_FALSE(aead.open(kA5Key, kA5Counter, {}, kA5Aad, out.data()));
  // Still usable after failures.
  ASSERT_TRUE(aead.open(kA5Key, kA5Counter, kA5Sealed, kA5Aad, out.data()));
}

TEST(CryptoAead, FailedOpenLeavesNoPlaintext) {
  Aead aead;
  auto bad = kA5Sealed;
  bad.back() ^= 1;
  std::vector<std::uint8_t> out(kA5Plain.size(), 0x55);
  EXPECT_FALSE(aead.open(kA5Key, kA5Counter, bad, kA5Aad, out.data()));
  EXPECT_EQ(out, std::vector<std::uint8_t>(kA5Plain.size(), 0));
}

// A keepalive is an empty plaintext: 16 bytes of tag and nothing else.
TEST(CryptoAead, EmptyPlaintext) {
  Aead aead;
  Key key = hash({text("k")});
  std::array<std::uint8_t, kTagSize> sealed{};
  aead.seal(key, 7, {}, {}, sealed.data());
  std::uint8_t nothing[1];
  EXPECT_TRUE(aead.open(key, 7, sealed, {}, nothing));
  EXPECT_FALSE(aead.open(key, 8, sealed, {}, nothing));
}

// The contexts are made once and re-keyed per call (only the nonce when the key is the last
// one's): runs of one key and changes of key on one Aead must give what fresh ones give.
TEST(CryptoAead, ContextReuseAcrossKeysAndCounters) {
  Aead shared;
  Key k1 = hash({text("one")}), k2 = hash({text("two")});
  auto plain = counting(1420);
  for (std::uint64_t counter = 0; counter < 10; ++counter) {
    const Key& key = (counter / 3) % 2 == 0 ? k1 : k2;  // k1 k1 k1 k2 k2 k2 k1 ...
    std::vector<std::uint8_t> a(plain.size() + kTagSize), b(plain.size() + kTagSize);
    shared.seal(key, counter, plain, {}, a.data());
    Aead fresh;
    fresh.seal(key, counter, plain, {}, b.data());
    EXPECT_EQ(a, b);
    std::vector<std::uint8_t> back(plain.size());
    ASSERT_TRUE(shared.open(key, counter, a, {}, back.data()));
    EXPECT_EQ(back, plain);
  }
}

// Messages below kSodiumBelow go through libsodium, longer ones through OpenSSL (the faster at
// each size). Each library alone, at sizes on both sides of the boundary, gives the bytes the other
// gives and opens what the other sealed; the RFC's vector above (265 bytes) pins them to RFC 8439.
TEST(CryptoAead, BothLibrariesGiveTheSameBytesAtEverySize) {
  Aead openssl(0), sodium(SIZE_MAX), tunnel;
  const Key key = hash({text("sizes")});
  const auto ad = text("ad");
  for (std::size_t size : {0, 1, 15, 16, 17, 64, 1023, 1024, 1025, 1420, 9000}) {
    const auto plain = counting(size);
    const std::uint64_t counter = 0x0102030405060708ULL + size;
    std::vector<std::uint8_t> a(size + kTagSize), b(size + kTagSize), c(size + kTagSize);
    openssl.seal(key, counter, plain, ad, a.data());
    sodium.seal(key, counter, plain, ad, b.data());
    tunnel.seal(key, counter, plain, ad, c.data());
    EXPECT_EQ(a, b) << size << " bytes";
    EXPECT_EQ(a, c) << size << " bytes";
    std::vector<std::uint8_t> back(size);
    ASSERT_TRUE(sodium.open(key, counter, a, ad, back.data())) << size << " bytes";
    EXPECT_EQ(back, plain) << size << " bytes";
    ASSERT_TRUE(openssl.open(key, counter, b, ad, back.data())) << size << " bytes";
    EXPECT_EQ(back, plain) << size << " bytes";
    c[size / 2] ^= 0x01;  // a byte of the message, or of the tag when there is none
    EXPECT_FALSE(tunnel.open(key, counter, c, ad, back.data())) << size << " bytes";
    EXPECT_FALSE(openssl.open(key, counter, c, ad, back.data())) << size << " bytes";
    EXPECT_FALSE(sodium.open(key, counter, c, ad, back.data())) << size << " bytes";
  }
}

TEST(CryptoXAead, DraftXChaChaA3_1) {
  std::vector<std::uint8_t> sealed(kXPlain.size() + kTagSize);
  xseal(kXKey, kXNonce, text(kXPlain), kXAad, sealed.data());
  EXPECT_EQ(sealed, kXSealed);
  std::vector<std::uint8_t> plain(kXPlain.size());
  ASSERT_TRUE(xopen(kXKey, kXNonce, kXSealed, kXAad, plain.data()));
  EXPECT_EQ(std::string(plain.begin(), plain.end()), kXPlain);
}

TEST(CryptoXAead, RoundTripInPlaceAndTamper) {
  Key key = generate_private_key();
  std::array<std::uint8_t, 24> nonce{};
  random_bytes(nonce);
  Mac ad = mac(key, text("the message this answers"));
  std::array<std::uint8_t, 32> box{};
  Mac cookie = mac(hash({text("secret")}), text("1.2.3.4:5"));
  std::copy(cookie.begin(), cookie.end(), box.begin());
  xseal(key, nonce, Bytes(box).first(16), ad, box.data());  // in place
  auto sealed = box;
  Mac out{};
  ASSERT_TRUE(xopen(key, nonce, sealed, ad, out.data()));
  EXPECT_EQ(out, cookie);
  for (std::size_t i : {std::size_t{0}, std::size_t{15}, std::size_t{16}, std::size_t{31}}) {
    auto bad = sealed;
    bad[i] ^= 0x10;
    EXPECT_FALSE(xopen(key, nonce, bad, ad, out.data())) << "byte " << i;
  }
  Mac other_ad = ad;
  other_ad[3] ^= 1;
  EXPECT_FALSE(xopen(key, nonce, sealed, other_ad, out.data()));
  auto other_nonce = nonce;
  other_nonce[23] ^= 1;
  EXPECT_FALSE(xopen(key, other_nonce, sealed, ad, out.data()));
  EXPECT_FALSE(xopen(key, nonce, Bytes(sealed).first(15), ad, out.data()));
  ASSERT_TRUE(xopen(key, nonce, sealed, ad, sealed.data()));  // in place
  EXPECT_TRUE(std::equal(cookie.begin(), cookie.end(), sealed.begin()));
}

TEST(CryptoMisc, RandomAndWipe) {
  std::array<std::uint8_t, 32> a{}, b{};
  random_bytes(a);
  random_bytes(b);
  EXPECT_NE(a, b);
  random_bytes({});  // nothing to fill is fine
  wipe(a);
  EXPECT_EQ(a, decltype(a){});
}

// The handshake primitives keep per-thread contexts: threads hashing at once must not interfere.
TEST(CryptoMisc, ThreadsDoNotShareContexts) {
  Key key = key_of("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto input = counting(255);
  const Key expected_hash = hash({text("abc")});
  const Mac expected_mac = mac(key, Bytes(input).first(64));
  const Key expected_hmac = hmac(key, input);
  std::vector<int> failures(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Aead aead;
      for (int i = 0; i < 300; ++i) {
        if (hash({text("abc")}) != expected_hash) ++failures[t];
        if (mac(key, Bytes(input).first(64)) != expected_mac) ++failures[t];
        if (hmac(key, input) != expected_hmac) ++failures[t];
        std::vector<std::uint8_t> sealed(kA5Sealed.size());
        aead.seal(kA5Key, kA5Counter, kA5Plain, kA5Aad, sealed.data());
        if (sealed != kA5Sealed) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures[0], 0);
  EXPECT_EQ(failures[1], 0);
}
