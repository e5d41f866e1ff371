#include "crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace waygate::wg {

namespace {

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("wireguard crypto: ") + what); }

// libsodium must be initialised once before use; a function-local static makes that thread-safe.
void ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) fail("sodium_init failed");
    return true;
  }();
  (void)ready;
}

// Fetching an algorithm from OpenSSL's providers is expensive (a locked lookup by name), so each
// is fetched once for the life of the process. They are deliberately never freed: a static
// destructor could run after OpenSSL's own atexit cleanup.
struct Algorithms {
  EVP_MD* blake2s = nullptr;      // HASH
  EVP_MAC* blake2s_mac = nullptr; // MAC (keyed BLAKE2s)
  EVP_MAC* hmac = nullptr;        // HMAC, with BLAKE2s-256 as its digest
  EVP_CIPHER* chacha = nullptr;   // AEAD
};

const Algorithms& algorithms() {
  static const Algorithms algs = [] {
    Algorithms a;
    a.blake2s = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
    a.blake2s_mac = EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr);
    a.hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    a.chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    if (a.blake2s == nullptr || a.blake2s_mac == nullptr || a.hmac == nullptr || a.chacha == nullptr)
      fail("OpenSSL lacks BLAKE2s or ChaCha20-Poly1305 (is the default provider loaded?)");
    return a;
  }();
  return algs;
}

// Per-thread contexts for the handshake-path primitives: created on a thread's first use and
// re-keyed on every call, so hashing and MACs allocate nothing after that.
struct DigestContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  DigestContext() {
    if (ctx == nullptr) fail("EVP_MD_CTX_new");
  }
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
};

struct MacContext {
  EVP_MAC_CTX* ctx = nullptr;
  MacContext(EVP_MAC* mac, OSSL_PARAM* params) : ctx(EVP_MAC_CTX_new(mac)) {
    if (ctx == nullptr) fail("EVP_MAC_CTX_new");
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      fail("EVP_MAC_CTX_set_params");
    }
  }
  ~MacContext() { EVP_MAC_CTX_free(ctx); }
  MacContext(const MacContext&) = delete;
  MacContext& operator=(const MacContext&) = delete;
};

EVP_MD_CTX* digest_context() {
  thread_local DigestContext holder;
  return holder.ctx;
}

// Keyed BLAKE2s producing 16 bytes; the key is set on each EVP_MAC_init.
EVP_MAC_CTX* blake2s_mac_context() {
  thread_local MacContext holder = [] {
    std::size_t size = 16;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
    return MacContext(algorithms().blake2s_mac, params);
  }();
  return holder.ctx;
}

EVP_MAC_CTX* hmac_context() {
  thread_local MacContext holder = [] {
    char digest[] = "BLAKE2S-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    return MacContext(algorithms().hmac, params);
  }();
  return holder.ctx;
}

void mac_update(EVP_MAC_CTX* ctx, Bytes input) {
  if (!input.empty() && EVP_MAC_update(ctx, input.data(), input.size()) != 1) fail("EVP_MAC_update");
}

// EVP cipher calls take int lengths; feed longer inputs in pieces.
constexpr std::size_t kChunk = std::size_t{1} << 30;

// What a cipher context was last keyed with, kept in its app data. A packet under the same key
// as the one before (the common case: a burst for one peer) re-initialises only the nonce, which
// costs OpenSSL 3 about half of what setting key and nonce together does.
struct CipherState {
  Key key{};
  bool keyed = false;
};

EVP_CIPHER_CTX* new_cipher_context(bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) fail("EVP_CIPHER_CTX_new");
  auto* state = new (std::nothrow) CipherState;
  int mode = encrypt ? 1 : 0;
  if (state == nullptr || EVP_CipherInit_ex2(ctx, algorithms().chacha, nullptr, nullptr, mode, nullptr) != 1) {
    delete state;
    EVP_CIPHER_CTX_free(ctx);
    fail("EVP_CipherInit_ex2");
  }
  EVP_CIPHER_CTX_set_app_data(ctx, state);
  return ctx;
}

void free_cipher_context(void* p) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(p);
  if (ctx == nullptr) return;
  auto* state = static_cast<CipherState*>(EVP_CIPHER_CTX_get_app_data(ctx));
  if (state != nullptr) {
    wipe(state->key);
    delete state;
  }
  EVP_CIPHER_CTX_free(ctx);
}

// Whether two keys are equal, in time that does not depend on where they differ: four words
// compared at once, where CRYPTO_memcmp's byte loop was 2% of sealing a 1420-byte packet.
bool same_key(const Key& a, const Key& b) {
  std::uint64_t differ = 0;
  for (std::size_t i = 0; i < a.size(); i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    differ |= x ^ y;
  }
  return differ == 0;
}

// WireGuard's nonce: 32 zero bits, then the counter little-endian.
void nonce_of(std::uint64_t counter, std::uint8_t nonce[12]) {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
}

// Starts a message: the nonce always, the key only when it differs from the last one.
bool start(EVP_CIPHER_CTX* ctx, const Key& key, std::uint64_t counter, int encrypt) {
  std::uint8_t nonce[12];
  nonce_of(counter, nonce);
  auto* state = static_cast<CipherState*>(EVP_CIPHER_CTX_get_app_data(ctx));
  bool same = state->keyed && same_key(state->key, key);
  if (EVP_CipherInit_ex2(ctx, nullptr, same ? nullptr : key.data(), nonce, encrypt, nullptr) != 1) {
    state->keyed = false;
    return false;
  }
  if (!same) {
    state->key = key;
    state->keyed = true;
  }
  return true;
}

// The tag through the provider's parameters (EVP_CIPHER_CTX_ctrl would build the same ones).
bool get_tag(EVP_CIPHER_CTX* ctx, std::uint8_t* tag) {
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
                         OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_get_params(ctx, params) == 1;
}

bool set_tag(EVP_CIPHER_CTX* ctx, std::uint8_t* tag) {
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
                         OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_set_params(ctx, params) == 1;
}

// Runs `data` through the cipher in pieces of at most kChunk bytes; out may equal data.
bool cipher_update(EVP_CIPHER_CTX* ctx, std::uint8_t* out, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    std::size_t n = std::min(size, kChunk);
    int written = 0;
    if (EVP_CipherUpdate(ctx, out, &written, data, static_cast<int>(n)) != 1) return false;
    out += n;
    data += n;
    size -= n;
  }
  return true;
}

bool cipher_ad(EVP_CIPHER_CTX* ctx, Bytes ad) {
  while (!ad.empty()) {
    std::size_t n = std::min(ad.size(), kChunk);
    int written = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &written, ad.data(), static_cast<int>(n)) != 1) return false;
    ad = ad.subspan(n);
  }
  return true;
}

}  // namespace

void wipe(void* p, std::size_t n) {
  if (n > 0) sodium_memzero(p, n);
}

Key generate_private_key() {
  Key k;
  random_bytes(k);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return k;
}

Key public_key(const Key& private_key) {
  ensure_sodium();
  Key pub;
  if (crypto_scalarmult_curve25519_base(pub.data(), private_key.data()) != 0) fail("crypto_scalarmult_base");
  return pub;
}

bool dh(const Key& private_key, const Key& public_key, Key& out) {
  ensure_sodium();
  // libsodium refuses (returns -1) when the shared point is all zeros, which is exactly when the
  // public key has small order.
  if (crypto_scalarmult_curve25519(out.data(), private_key.data(), public_key.data()) != 0) {
    wipe(out);
    return false;
  }
  return true;
}

bool low_order(const Key& public_key) {
  // The u-coordinates of Curve25519's points of order 1, 2, 4 and 8, with their encodings at or
  // above p (p - 1, p, p + 1); the top bit of the last byte is not part of the coordinate (RFC
  // 7748, 5). The same list as libsodium's check before its scalar multiplication.
  static constexpr std::array<std::array<std::uint8_t, 32>, 7> points{{
      {0x00},
      {0x01},
      {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
       0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
      {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
       0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
      {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
      {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
      {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
  }};
  Key u = public_key;
  u[31] &= 0x7f;
  return std::any_of(points.begin(), points.end(), [&](const auto& point) { return std::equal(u.begin(), u.end(), point.begin()); });
}

Key hash(std::initializer_list<Bytes> parts) {
  EVP_MD_CTX* ctx = digest_context();
  if (EVP_DigestInit_ex2(ctx, algorithms().blake2s, nullptr) != 1) fail("EVP_DigestInit_ex2");
  for (Bytes part : parts)
    if (!part.empty() && EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) fail("EVP_DigestUpdate");
  Key out;
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx, out.data(), &size) != 1 || size != out.size()) fail("EVP_DigestFinal_ex");
  return out;
}

Mac mac(Bytes key, Bytes input) {
  EVP_MAC_CTX* ctx = blake2s_mac_context();
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1) fail("EVP_MAC_init(BLAKE2SMAC)");
  mac_update(ctx, input);
  Mac out;
  std::size_t size = 0;
  if (EVP_MAC_final(ctx, out.data(), &size, out.size()) != 1 || size != out.size()) fail("EVP_MAC_final");
  return out;
}

Key hmac(const Key& key, Bytes input) {
  EVP_MAC_CTX* ctx = hmac_context();
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1) fail("EVP_MAC_init(HMAC)");
  mac_update(ctx, input);
  Key out;
  std::size_t size = 0;
  if (EVP_MAC_final(ctx, out.data(), &size, out.size()) != 1 || size != out.size()) fail("EVP_MAC_final");
  // The context keeps the keyed inner and outer states for re-use; HMAC keys here are chaining
  // keys and their offspring, from which session keys follow, so key it with zeros instead.
  static constexpr Key kZero{};
  (void)EVP_MAC_init(ctx, kZero.data(), kZero.size(), nullptr);
  return out;
}

// KDFn(key, input): T0 = HMAC(key, input), T1 = HMAC(T0, 0x1), Ti = HMAC(T0, Ti-1 || i).
// The outputs may alias chaining_key or input: both are read only for T0.
void kdf(const Key& chaining_key, Bytes input, Key* t1, Key* t2, Key* t3) {
  Key t0 = hmac(chaining_key, input);
  std::array<std::uint8_t, kKeySize + 1> block{};  // T(i-1) || i
  block[0] = 1;
  Key t = hmac(t0, Bytes(block).first(1));
  if (t1 != nullptr) *t1 = t;
  if (t2 != nullptr || t3 != nullptr) {
    std::copy(t.begin(), t.end(), block.begin());
    block[kKeySize] = 2;
    t = hmac(t0, block);
    if (t2 != nullptr) *t2 = t;
    if (t3 != nullptr) {
      std::copy(t.begin(), t.end(), block.begin());
      block[kKeySize] = 3;
      t = hmac(t0, block);
      *t3 = t;
    }
  }
  wipe(t0);
  wipe(t);
  wipe(block);
}

Aead::Aead(std::size_t sodium_below)
    : sodium_below_(sodium_below), encrypt_(new_cipher_context(true)), decrypt_(nullptr) {
  try {
    ensure_sodium();
    decrypt_ = new_cipher_context(false);
  } catch (...) {
    free_cipher_context(encrypt_);
    throw;
  }
}

Aead::~Aead() {
  free_cipher_context(encrypt_);
  free_cipher_context(decrypt_);
}

void Aead::seal(const Key& key, std::uint64_t counter, Bytes plain, Bytes ad, std::uint8_t* out) {
  if (plain.size() < sodium_below_) {
    std::uint8_t nonce[12];
    nonce_of(counter, nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + plain.size(), nullptr, plain.data(), plain.size(),
                                                       ad.data(), ad.size(), nullptr, nonce, key.data());
    return;
  }
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(encrypt_);
  int written = 0;
  if (!start(ctx, key, counter, 1) || !cipher_ad(ctx, ad) || !cipher_update(ctx, out, plain.data(), plain.size()) ||
      EVP_CipherFinal_ex(ctx, out + plain.size(), &written) != 1 || !get_tag(ctx, out + plain.size()))
    fail("ChaCha20-Poly1305 seal");
}

bool Aead::open(const Key& key, std::uint64_t counter, Bytes sealed, Bytes ad, std::uint8_t* out) {
  if (sealed.size() < kTagSize) return false;
  std::size_t size = sealed.size() - kTagSize;
  if (size < sodium_below_) {
    std::uint8_t nonce[12];
    nonce_of(counter, nonce);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, sealed.data(), size, sealed.data() + size,
                                                           ad.data(), ad.size(), nonce, key.data()) == 0)
      return true;
    if (size > 0) wipe(out, size);  // as below: what was there is no message either
    return false;
  }
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(decrypt_);
  // The tag is copied into the context before decrypting, so decrypting in place cannot clobber it.
  std::uint8_t tag[kTagSize];
  std::memcpy(tag, sealed.data() + size, kTagSize);
  int written = 0;
  if (!start(ctx, key, counter, 0) || !set_tag(ctx, tag) || !cipher_ad(ctx, ad) ||
      !cipher_update(ctx, out, sealed.data(), size) || EVP_CipherFinal_ex(ctx, out + size, &written) != 1) {
    // Never hand out plaintext that failed authentication.
    if (size > 0) wipe(out, size);
    return false;
  }
  return true;
}

void xseal(const Key& key, std::span<const std::uint8_t, 24> nonce, Bytes plain, Bytes ad, std::uint8_t* out) {
  ensure_sodium();
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(out, nullptr, plain.data(), plain.size(), ad.data(), ad.size(),
                                                 nullptr, nonce.data(), key.data()) != 0)
    fail("XChaCha20-Poly1305 seal");
}

bool xopen(const Key& key, std::span<const std::uint8_t, 24> nonce, Bytes sealed, Bytes ad, std::uint8_t* out) {
  if (sealed.size() < kTagSize) return false;
  ensure_sodium();
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, nullptr, nullptr, sealed.data(), sealed.size(), ad.data(),
                                                    ad.size(), nonce.data(), key.data()) == 0;
}

void random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return;  // randombytes_buf wants a non-null pointer
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

}  // namespace waygate::wg
