// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper 5.4.2 and 5.4.3): the
// initiator's and the responder's halves of one handshake, and the transport keys it yields.
// Pure computation: no clock, no sockets, no peer table; the edge decides what to do with them.
#pragma once

#include <optional>

#include "crypto.hpp"
#include "messages.hpp"

namespace waygate::wg {

using Tai64n = std::array<std::uint8_t, 12>;
// TAI64N of a wall-clock time in nanoseconds since the Unix epoch (whitepaper 5.1).
Tai64n tai64n(std::uint64_t unix_nanoseconds);

// The local static key and what is derived from it once.
struct Identity {
  Key private_key{};
  Key public_key{};
  Key mac1_key{};    // HASH(LABEL_MAC1 || public_key): checks MAC1 of messages sent to us
  Key cookie_key{};  // HASH(LABEL_COOKIE || public_key): seals our cookie replies
  static Identity from_private(const Key& private_key);
  ~Identity() { wipe(private_key); }
};

// What we know of one remote peer, derived when it is configured: two hashes, so that ten
// thousand peers load at once. The static-static DH (a Curve25519 multiplication, as long as
// ten thousand such hashes) waits for an initiation of ours: a responder, as a connector mostly
// is, computes it from the initiation anyway.
struct PeerKeys {
  Key public_key{};
  Key preshared{};     // zeros when none is configured
  Key mac1_key{};      // HASH(LABEL_MAC1 || public_key): for MAC1 of messages we send it
  Key cookie_key{};    // HASH(LABEL_COOKIE || public_key): opens its cookie replies
  bool usable = true;  // false for a public key of small order: it can never handshake
  static PeerKeys derive(const Key& public_key, const Key& preshared);
  ~PeerKeys() { wipe(preshared); }
};

// Transport keys of one completed handshake.
struct Keypair {
  Key send{};
  Key receive{};
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
  bool initiator = false;
  ~Keypair() { wipe(send); wipe(receive); }
};

// The initiator's side: create() an initiation, then consume() the response to it.
class Initiator {
 public:
  // Fills everything but the MACs (add_macs does those once the message is written); false, with
  // nothing filled, if the peer's public key is a low-order point (DH(S_i, S_r) is zero).
  [[nodiscard]] bool create(const Identity& local, const PeerKeys& peer, std::uint32_t local_index, const Tai64n& now,
              Initiation& out);
  // The keys, or nullopt if the response does not complete this handshake.
  std::optional<Keypair> consume(const Identity& local, const PeerKeys& peer, const Response& response);
  ~Initiator();

 private:
  Key hash_{};
  Key chaining_key_{};
  Key ephemeral_private_{};
  std::uint32_t local_index_ = 0;
};

// The responder's side. consume() decrypts an initiation: who sent it (its static public key) and
// its timestamp. The caller finds the peer, checks the timestamp is newer than the last one it
// accepted, and then respond()s.
class Responder {
 public:
  bool consume(const Identity& local, const Initiation& initiation);
  const Key& peer_public_key() const { return peer_public_; }
  const Tai64n& timestamp() const { return timestamp_; }
  // Fills everything but the MACs and returns the keys.
  Keypair respond(const Identity& local, const PeerKeys& peer, std::uint32_t local_index, Response& out);
  ~Responder();

 private:
  Key hash_{};
  Key chaining_key_{};
  Key remote_ephemeral_{};
  Key peer_public_{};
  Tai64n timestamp_{};
  std::uint32_t remote_index_ = 0;
};

}  // namespace waygate::wg
