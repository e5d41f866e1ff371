// The primitives of the WireGuard protocol, each from a well-kept library: X25519 and
// XChaCha20-Poly1305 from libsodium; BLAKE2s (hash, keyed MAC, HMAC) from OpenSSL 3;
// ChaCha20-Poly1305 from whichever of the two is the faster at the message's size (libsodium
// below 1 KiB, OpenSSL from there: tests/bench/aead_bench.cpp measures both).
// Names follow the whitepaper: HASH, MAC, HMAC, KDFn, AEAD, XAEAD, DH.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <type_traits>

namespace waygate::wg {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kTagSize = 16;

using Key = std::array<std::uint8_t, 32>;  // keys, hashes, chaining keys
using Mac = std::array<std::uint8_t, 16>;
using Bytes = std::span<const std::uint8_t>;

// Overwrites secrets so they do not outlive their use (sodium_memzero).
void wipe(void* p, std::size_t n);
// Only for objects that are their bytes (keys, arrays): a std::string's bytes are elsewhere
// (waygate::wipe(std::string&) from waygate/secret.hpp clears those).
template <class T>
  requires std::is_trivially_copyable_v<T>
void wipe(T& object) { wipe(&object, sizeof object); }

// DH-Generate: a random, clamped Curve25519 private key.
Key generate_private_key();
Key public_key(const Key& private_key);
// DH(private, public); false when the result is all zeros (a low-order public key).
[[nodiscard]] bool dh(const Key& private_key, const Key& public_key, Key& out);
// Whether a public key is a point of small order, with which dh() always fails: no handshake with
// its owner can ever complete. A comparison, not a scalar multiplication: cheap for 10,000 peers.
bool low_order(const Key& public_key);

// HASH(a || b || ...): BLAKE2s-256.
Key hash(std::initializer_list<Bytes> parts);
// MAC(key, input): keyed BLAKE2s with a 16-byte output. The key's length is part of BLAKE2s's
// parameters: MAC1 uses 32-byte keys, MAC2 the 16-byte cookie.
Mac mac(Bytes key, Bytes input);
// HMAC(key, input) with BLAKE2s-256.
Key hmac(const Key& key, Bytes input);
// KDF1..3 of the whitepaper (HKDF with HMAC-BLAKE2s), chaining key first.
void kdf(const Key& chaining_key, Bytes input, Key* t1, Key* t2 = nullptr, Key* t3 = nullptr);

// Messages shorter than this are sealed and opened by libsodium, longer ones by OpenSSL. OpenSSL 3
// spends about 0.3 us setting up each message (its parameters looked up by name), libsodium almost
// none, but libsodium's bytes cost more: from about 1 KiB on OpenSSL is the faster.
inline constexpr std::size_t kSodiumBelow = 1024;

// AEAD: ChaCha20-Poly1305 (RFC 8439) with the nonce WireGuard uses, 32 zero bits followed by a
// 64-bit little-endian counter. One per worker: it keeps a cipher context to avoid allocating.
class Aead {
 public:
  // `sodium_below` moves the boundary between the libraries (0: OpenSSL only; SIZE_MAX: libsodium
  // only), for aead_bench to measure each through this code.
  explicit Aead(std::size_t sodium_below = kSodiumBelow);
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  // Writes plain.size() + 16 bytes to out; out may be plain.data() (in place).
  void seal(const Key& key, std::uint64_t counter, Bytes plain, Bytes ad, std::uint8_t* out);
  // Writes sealed.size() - 16 bytes to out; out may be sealed.data(). False if the tag is wrong
  // or sealed is shorter than a tag.
  [[nodiscard]] bool open(const Key& key, std::uint64_t counter, Bytes sealed, Bytes ad, std::uint8_t* out);

 private:
  std::size_t sodium_below_;
  void* encrypt_;  // EVP_CIPHER_CTX*
  void* decrypt_;
};

// XAEAD: XChaCha20-Poly1305 with a 24-byte nonce, for cookie replies.
void xseal(const Key& key, std::span<const std::uint8_t, 24> nonce, Bytes plain, Bytes ad, std::uint8_t* out);
[[nodiscard]] bool xopen(const Key& key, std::span<const std::uint8_t, 24> nonce, Bytes sealed, Bytes ad,
                         std::uint8_t* out);

// Random bytes from the system's generator (randombytes_buf).
void random_bytes(std::span<std::uint8_t> out);

}  // namespace waygate::wg
