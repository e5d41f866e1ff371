// The four WireGuard messages on the wire (whitepaper section 5.4): their layouts, classification
// of a received datagram, and MAC1/MAC2. All fields are little-endian. Parsing only checks sizes,
// type and reserved bytes; authentication is the caller's next step (MAC1, then the AEADs).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "crypto.hpp"

namespace waygate::wg {

enum class MessageType : std::uint8_t { initiation = 1, response = 2, cookie_reply = 3, transport = 4 };

inline constexpr std::size_t kInitiationSize = 148;
inline constexpr std::size_t kResponseSize = 92;
inline constexpr std::size_t kCookieReplySize = 64;
inline constexpr std::size_t kTransportHeaderSize = 16;
inline constexpr std::size_t kKeepaliveSize = kTransportHeaderSize + kTagSize;

struct Initiation {
  std::uint32_t sender = 0;
  Key ephemeral{};
  std::array<std::uint8_t, 32 + kTagSize> encrypted_static{};
  std::array<std::uint8_t, 12 + kTagSize> encrypted_timestamp{};
  Mac mac1{};
  Mac mac2{};
};

struct Response {
  std::uint32_t sender = 0;
  std::uint32_t receiver = 0;
  Key ephemeral{};
  std::array<std::uint8_t, kTagSize> encrypted_nothing{};
  Mac mac1{};
  Mac mac2{};
};

struct CookieReply {
  std::uint32_t receiver = 0;
  std::array<std::uint8_t, 24> nonce{};
  std::array<std::uint8_t, 16 + kTagSize> encrypted_cookie{};
};

struct TransportHeader {
  std::uint32_t receiver = 0;
  std::uint64_t counter = 0;
};

// The type of a datagram if its size and header fit one: initiation, response and cookie reply
// have exact sizes; a transport message is at least a header and a tag. nullopt otherwise.
std::optional<MessageType> classify(Bytes datagram);

// Each parse expects a datagram classify() gave that type; false if it is not one.
bool parse(Bytes datagram, Initiation& out);
bool parse(Bytes datagram, Response& out);
bool parse(Bytes datagram, CookieReply& out);
bool parse(Bytes datagram, TransportHeader& out);

// Writers fill exactly k...Size bytes (for transport: the 16-byte header).
void write(const Initiation& m, std::span<std::uint8_t, kInitiationSize> out);
void write(const Response& m, std::span<std::uint8_t, kResponseSize> out);
void write(const CookieReply& m, std::span<std::uint8_t, kCookieReplySize> out);
void write(const TransportHeader& h, std::span<std::uint8_t, kTransportHeaderSize> out);

// MAC1 and MAC2 over a written initiation or response (whitepaper 5.4.4). mac1_key is
// HASH(LABEL_MAC1 || receiver's static public key); a cookie, when the sender holds a fresh one,
// makes MAC2, otherwise MAC2 is zeros. Returns the MAC1 written (the cookie reply refers to it).
Mac add_macs(std::span<std::uint8_t> message, const Key& mac1_key, const std::optional<Mac>& cookie);
bool mac1_valid(Bytes message, const Key& mac1_key);
bool mac2_valid(Bytes message, const Mac& cookie);
Mac mac1_of(Bytes message);  // the MAC1 field of a written initiation or response

}  // namespace waygate::wg
