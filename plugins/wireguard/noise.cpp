// The handshake, step by step as in the whitepaper (5.4.2 and 5.4.3). Each step names the
// whitepaper's line it computes; C is the chaining key, H the hash, k a message key.
#include "noise.hpp"

#include <sodium.h>

#include <stdexcept>

namespace waygate::wg {

namespace {

template <std::size_t N>
Bytes text(const char (&s)[N]) {
  return {reinterpret_cast<const std::uint8_t*>(s), N - 1};  // without the terminating NUL
}

constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
constexpr char kLabelMac1[] = "mac1----";
constexpr char kLabelCookie[] = "cookie--";

// C := HASH(CONSTRUCTION); H := HASH(C || IDENTIFIER). The same for every handshake.
struct Initial {
  Key chaining_key;
  Key hash;
};

const Initial& initial() {
  static const Initial value = [] {
    Initial v;
    v.chaining_key = hash({text(kConstruction)});
    v.hash = hash({v.chaining_key, text(kIdentifier)});
    return v;
  }();
  return value;
}

// One AEAD per thread for the handshake messages (counter 0, the whitepaper's nonce for them).
Aead& handshake_aead() {
  thread_local Aead aead;
  return aead;
}

bool is_zero(const Key& k) { return sodium_is_zero(k.data(), k.size()) == 1; }

// Wipes the keys it was given when it goes out of scope, however the function leaves.
template <std::size_t N>
struct Wiper {
  Key* keys[N];
  ~Wiper() {
    for (Key* k : keys) wipe(*k);
  }
};
template <class... K>
Wiper(K*...) -> Wiper<sizeof...(K)>;

}  // namespace

Tai64n tai64n(std::uint64_t unix_nanoseconds) {
  // TAI64 labels second s since the epoch as 2^62 + 10 + s (the 10 being TAI - UTC in 1970,
  // as wireguard-go and the kernel use); then 32 bits of nanoseconds. Both big-endian.
  std::uint64_t seconds = 0x400000000000000aULL + unix_nanoseconds / 1'000'000'000ULL;
  auto nanoseconds = static_cast<std::uint32_t>(unix_nanoseconds % 1'000'000'000ULL);
  Tai64n out{};
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(seconds >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<std::uint8_t>(nanoseconds >> (24 - 8 * i));
  return out;
}

Identity Identity::from_private(const Key& private_key) {
  Identity id;
  id.private_key = private_key;
  id.public_key = wg::public_key(private_key);
  id.mac1_key = hash({text(kLabelMac1), id.public_key});
  id.cookie_key = hash({text(kLabelCookie), id.public_key});
  return id;
}

PeerKeys PeerKeys::derive(const Key& public_key, const Key& preshared) {
  PeerKeys peer;
  peer.public_key = public_key;
  peer.preshared = preshared;
  peer.mac1_key = hash({text(kLabelMac1), public_key});
  peer.cookie_key = hash({text(kLabelCookie), public_key});
  peer.usable = !low_order(public_key);
  return peer;
}

bool Initiator::create(const Identity& local, const PeerKeys& peer, std::uint32_t local_index, const Tai64n& now,
                       Initiation& out) {
  Key static_static{};  // zero from a low-order S_r^pub, which no responder could answer
  if (!dh(local.private_key, peer.public_key, static_static)) return false;
  Key c = initial().chaining_key;
  Key h = hash({initial().hash, peer.public_key});  // H := HASH(H || S_r^pub)
  Key ephemeral_private = generate_private_key();   // (E_i^priv, E_i^pub) := DH-Generate()
  Key ephemeral_public = public_key(ephemeral_private);
  Key k{};
  Key shared{};
  Wiper wiper{&c, &h, &ephemeral_private, &k, &shared, &static_static};

  out = Initiation{};
  out.sender = local_index;
  out.ephemeral = ephemeral_public;
  kdf(c, ephemeral_public, &c);     // C := KDF1(C, E_i^pub)
  h = hash({h, ephemeral_public});  // H := HASH(H || msg.ephemeral)
  // (C, k) := KDF2(C, DH(E_i^priv, S_r^pub)); not zero, since DH(S_i, S_r) proved S_r's order.
  if (!dh(ephemeral_private, peer.public_key, shared)) throw std::logic_error("Initiator::create: DH failed");
  kdf(c, shared, &c, &k);
  handshake_aead().seal(k, 0, local.public_key, h, out.encrypted_static.data());  // AEAD(k, 0, S_i^pub, H)
  h = hash({h, out.encrypted_static});                                             // H := HASH(H || msg.static)
  kdf(c, static_static, &c, &k);  // (C, k) := KDF2(C, DH(S_i^priv, S_r^pub))
  handshake_aead().seal(k, 0, now, h, out.encrypted_timestamp.data());  // AEAD(k, 0, TAI64N(), H)
  h = hash({h, out.encrypted_timestamp});                               // H := HASH(H || msg.timestamp)

  hash_ = h;
  chaining_key_ = c;
  ephemeral_private_ = ephemeral_private;
  local_index_ = local_index;
  return true;
}

std::optional<Keypair> Initiator::consume(const Identity& local, const PeerKeys& peer, const Response& response) {
  // Nothing pending (never created, or already completed), or a response to another initiation.
  if (is_zero(ephemeral_private_) || response.receiver != local_index_) return std::nullopt;
  Key c = chaining_key_;
  Key h = hash_;
  Key shared{};
  Key tau{};
  Key k{};
  Wiper wiper{&c, &h, &shared, &tau, &k};

  kdf(c, response.ephemeral, &c);     // C := KDF1(C, E_r^pub)
  h = hash({h, response.ephemeral});  // H := HASH(H || msg.ephemeral)
  if (!dh(ephemeral_private_, response.ephemeral, shared)) return std::nullopt;
  kdf(c, shared, &c);  // C := KDF1(C, DH(E_i^priv, E_r^pub))
  if (!dh(local.private_key, response.ephemeral, shared)) return std::nullopt;
  kdf(c, shared, &c);                    // C := KDF1(C, DH(S_i^priv, E_r^pub))
  kdf(c, peer.preshared, &c, &tau, &k);  // (C, tau, k) := KDF3(C, Q)
  h = hash({h, tau});                    // H := HASH(H || tau)
  std::uint8_t nothing[1];  // receives the empty plaintext
  if (!handshake_aead().open(k, 0, response.encrypted_nothing, h, nothing)) return std::nullopt;

  Keypair keys;
  kdf(c, {}, &keys.send, &keys.receive);  // (T_i^send, T_i^recv) := KDF2(C, empty)
  keys.local_index = local_index_;
  keys.remote_index = response.sender;
  keys.initiator = true;
  // The handshake is spent: a replay of this response must not yield keys again.
  wipe(hash_);
  wipe(chaining_key_);
  wipe(ephemeral_private_);
  return keys;
}

Initiator::~Initiator() {
  wipe(hash_);
  wipe(chaining_key_);
  wipe(ephemeral_private_);
}

bool Responder::consume(const Identity& local, const Initiation& initiation) {
  Key c = initial().chaining_key;
  Key h = hash({initial().hash, local.public_key});  // H := HASH(H || S_r^pub)
  Key shared{};
  Key k{};
  Key peer_public{};
  Tai64n timestamp{};
  Wiper wiper{&c, &h, &shared, &k};

  kdf(c, initiation.ephemeral, &c);     // C := KDF1(C, E_i^pub)
  h = hash({h, initiation.ephemeral});  // H := HASH(H || msg.ephemeral)
  if (!dh(local.private_key, initiation.ephemeral, shared)) return false;
  kdf(c, shared, &c, &k);  // (C, k) := KDF2(C, DH(S_r^priv, E_i^pub))
  if (!handshake_aead().open(k, 0, initiation.encrypted_static, h, peer_public.data())) return false;
  h = hash({h, initiation.encrypted_static});  // H := HASH(H || msg.static)
  // (C, k) := KDF2(C, DH(S_r^priv, S_i^pub)); a small-order S_i^pub cannot be a peer.
  if (!dh(local.private_key, peer_public, shared)) return false;
  kdf(c, shared, &c, &k);
  if (!handshake_aead().open(k, 0, initiation.encrypted_timestamp, h, timestamp.data())) return false;
  h = hash({h, initiation.encrypted_timestamp});  // H := HASH(H || msg.timestamp)

  hash_ = h;
  chaining_key_ = c;
  remote_ephemeral_ = initiation.ephemeral;
  peer_public_ = peer_public;
  timestamp_ = timestamp;
  remote_index_ = initiation.sender;
  return true;
}

Keypair Responder::respond(const Identity& local, const PeerKeys& peer, std::uint32_t local_index, Response& out) {
  (void)local;  // the responder's static key was used by consume(); the ephemeral ones follow
  if (is_zero(remote_ephemeral_)) throw std::logic_error("Responder::respond without a consumed initiation");
  if (sodium_memcmp(peer.public_key.data(), peer_public_.data(), kKeySize) != 0)
    throw std::logic_error("Responder::respond: the peer is not the initiation's sender");
  Key c = chaining_key_;
  Key h = hash_;
  Key ephemeral_private = generate_private_key();  // (E_r^priv, E_r^pub) := DH-Generate()
  Key ephemeral_public = public_key(ephemeral_private);
  Key shared{};
  Key tau{};
  Key k{};
  Wiper wiper{&c, &h, &ephemeral_private, &shared, &tau, &k};

  out = Response{};
  out.sender = local_index;
  out.receiver = remote_index_;
  out.ephemeral = ephemeral_public;
  kdf(c, ephemeral_public, &c);     // C := KDF1(C, E_r^pub)
  h = hash({h, ephemeral_public});  // H := HASH(H || msg.ephemeral)
  // consume() refused small-order E_i and S_i, so neither DH can be zero.
  if (!dh(ephemeral_private, remote_ephemeral_, shared)) throw std::logic_error("Responder::respond: DH failed");
  kdf(c, shared, &c);  // C := KDF1(C, DH(E_r^priv, E_i^pub))
  if (!dh(ephemeral_private, peer_public_, shared)) throw std::logic_error("Responder::respond: DH failed");
  kdf(c, shared, &c);                    // C := KDF1(C, DH(E_r^priv, S_i^pub))
  kdf(c, peer.preshared, &c, &tau, &k);  // (C, tau, k) := KDF3(C, Q)
  h = hash({h, tau});                    // H := HASH(H || tau)
  handshake_aead().seal(k, 0, {}, h, out.encrypted_nothing.data());  // AEAD(k, 0, empty, H)

  Keypair keys;
  kdf(c, {}, &keys.receive, &keys.send);  // (T_r^recv, T_r^send) := KDF2(C, empty)
  keys.local_index = local_index;
  keys.remote_index = remote_index_;
  keys.initiator = false;
  // One response per consumed initiation.
  wipe(hash_);
  wipe(chaining_key_);
  wipe(remote_ephemeral_);
  return keys;
}

Responder::~Responder() {
  wipe(hash_);
  wipe(chaining_key_);
  wipe(remote_ephemeral_);
}

}  // namespace waygate::wg
