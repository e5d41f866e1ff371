// The cookie mechanism (whitepaper 5.4.7 and 6.6): under load a responder answers handshake
// messages lacking a valid MAC2 with a cookie reply instead of doing Curve25519 work; the
// initiator puts that cookie into MAC2 of its next message. Times are the monotonic nanoseconds
// of waygate::Time, so the rig's fake clock drives expiry.
#pragma once

#include <chrono>
#include <optional>

#include "messages.hpp"

namespace waygate::wg {

// Responder side. The secret behind cookies is replaced every two minutes. It is not drawn at
// random but derived from a secret seed and the number of the two minutes (of the monotonic
// clock), so checkers seeded alike (every worker's, seeded from the private key) make and take
// the same cookies: an initiator's retry, with a fresh sender index, may land on another worker.
class CookieChecker {
 public:
  explicit CookieChecker(const Key& seed) : seed_(seed) {}
  ~CookieChecker();
  CookieChecker(const CookieChecker&) = delete;
  CookieChecker& operator=(const CookieChecker&) = delete;
  // The cookie a sender at this address (IP bytes followed by the port, big-endian) should hold.
  Mac cookie_for(Bytes source, std::chrono::nanoseconds now);
  bool mac2_valid(Bytes message, Bytes source, std::chrono::nanoseconds now);
  // A cookie reply to `message` (an initiation or response that arrived from `source`),
  // addressed to the message's sender index, sealed with our cookie_key.
  CookieReply reply(Bytes message, std::uint32_t sender_index, Bytes source, const Key& cookie_key,
                    std::chrono::nanoseconds now);

 private:
  Key seed_;
  Key secret_{};
  std::int64_t period_ = -1;  // whose secret_ is
};

// Initiator side, one per peer: the last cookie received, good for two minutes.
class CookieJar {
 public:
  // Opens a reply to the message whose MAC1 was `sent_mac1`, with the peer's cookie_key.
  bool consume(const CookieReply& reply, const Mac& sent_mac1, const Key& peer_cookie_key,
               std::chrono::nanoseconds now);
  std::optional<Mac> cookie(std::chrono::nanoseconds now) const;

 private:
  Mac cookie_{};
  std::chrono::nanoseconds received_{-1};
};

// The bytes a cookie is bound to: the source IP address (4 or 16 bytes) and port (big-endian).
// Returns how many bytes of `out` were written.
std::size_t source_bytes(const void* sockaddr, std::span<std::uint8_t, 18> out);

}  // namespace waygate::wg
