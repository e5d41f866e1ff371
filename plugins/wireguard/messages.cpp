#include "messages.hpp"

#include <openssl/crypto.h>

#include <cstring>
#include <stdexcept>

namespace waygate::wg {

namespace {

// Field offsets (whitepaper 5.4.2 to 5.4.7; every message starts with type and 3 reserved bytes).
namespace initiation_at {
constexpr std::size_t sender = 4, ephemeral = 8, encrypted_static = 40, encrypted_timestamp = 88, mac1 = 116,
                      mac2 = 132;
}
namespace response_at {
constexpr std::size_t sender = 4, receiver = 8, ephemeral = 12, encrypted_nothing = 44, mac1 = 60, mac2 = 76;
}
namespace cookie_at {
constexpr std::size_t receiver = 4, nonce = 8, encrypted_cookie = 32;
}
namespace transport_at {
constexpr std::size_t receiver = 4, counter = 8;
}
static_assert(initiation_at::mac2 + 16 == kInitiationSize);
static_assert(response_at::mac2 + 16 == kResponseSize);
static_assert(cookie_at::encrypted_cookie + 32 == kCookieReplySize);

std::uint32_t load32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

std::uint64_t load64(const std::uint8_t* p) { return std::uint64_t{load32(p)} | std::uint64_t{load32(p + 4)} << 32; }

void store32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

void store64(std::uint8_t* p, std::uint64_t v) {
  store32(p, static_cast<std::uint32_t>(v));
  store32(p + 4, static_cast<std::uint32_t>(v >> 32));
}

template <std::size_t N>
void load(const std::uint8_t* p, std::array<std::uint8_t, N>& field) {
  std::memcpy(field.data(), p, N);
}

template <std::size_t N>
void store(std::uint8_t* p, const std::array<std::uint8_t, N>& field) {
  std::memcpy(p, field.data(), N);
}

void header(std::uint8_t* p, MessageType type) {
  p[0] = static_cast<std::uint8_t>(type);
  p[1] = p[2] = p[3] = 0;
}

// MAC1 sits 32 bytes before the end of an initiation or response, MAC2 16 bytes before it.
bool has_macs(std::size_t size) { return size == kInitiationSize || size == kResponseSize; }


bool equal(const Mac& a, const std::uint8_t* b) { return CRYPTO_memcmp(a.data(), b, a.size()) == 0; }

}  // namespace

std::optional<MessageType> classify(Bytes d) {
  if (d.size() < 4 || d[1] != 0 || d[2] != 0 || d[3] != 0) return std::nullopt;
  switch (d[0]) {
    case static_cast<std::uint8_t>(MessageType::initiation):
      if (d.size() == kInitiationSize) return MessageType::initiation;
      break;
    case static_cast<std::uint8_t>(MessageType::response):
      if (d.size() == kResponseSize) return MessageType::response;
      break;
    case static_cast<std::uint8_t>(MessageType::cookie_reply):
      if (d.size() == kCookieReplySize) return MessageType::cookie_reply;
      break;
    case static_cast<std::uint8_t>(MessageType::transport):
      if (d.size() >= kKeepaliveSize) return MessageType::transport;
      break;
    default:
      break;
  }
  return std::nullopt;
}

bool parse(Bytes d, Initiation& out) {
  if (classify(d) != MessageType::initiation) return false;
  const std::uint8_t* p = d.data();
  out.sender = load32(p + initiation_at::sender);
  load(p + initiation_at::ephemeral, out.ephemeral);
  load(p + initiation_at::encrypted_static, out.encrypted_static);
  load(p + initiation_at::encrypted_timestamp, out.encrypted_timestamp);
  load(p + initiation_at::mac1, out.mac1);
  load(p + initiation_at::mac2, out.mac2);
  return true;
}

bool parse(Bytes d, Response& out) {
  if (classify(d) != MessageType::response) return false;
  const std::uint8_t* p = d.data();
  out.sender = load32(p + response_at::sender);
  out.receiver = load32(p + response_at::receiver);
  load(p + response_at::ephemeral, out.ephemeral);
  load(p + response_at::encrypted_nothing, out.encrypted_nothing);
  load(p + response_at::mac1, out.mac1);
  load(p + response_at::mac2, out.mac2);
  return true;
}

bool parse(Bytes d, CookieReply& out) {
  if (classify(d) != MessageType::cookie_reply) return false;
  const std::uint8_t* p = d.data();
  out.receiver = load32(p + cookie_at::receiver);
  load(p + cookie_at::nonce, out.nonce);
  load(p + cookie_at::encrypted_cookie, out.encrypted_cookie);
  return true;
}

bool parse(Bytes d, TransportHeader& out) {
  if (classify(d) != MessageType::transport) return false;
  out.receiver = load32(d.data() + transport_at::receiver);
  out.counter = load64(d.data() + transport_at::counter);
  return true;
}

void write(const Initiation& m, std::span<std::uint8_t, kInitiationSize> out) {
  std::uint8_t* p = out.data();
  header(p, MessageType::initiation);
  store32(p + initiation_at::sender, m.sender);
  store(p + initiation_at::ephemeral, m.ephemeral);
  store(p + initiation_at::encrypted_static, m.encrypted_static);
  store(p + initiation_at::encrypted_timestamp, m.encrypted_timestamp);
  store(p + initiation_at::mac1, m.mac1);
  store(p + initiation_at::mac2, m.mac2);
}

void write(const Response& m, std::span<std::uint8_t, kResponseSize> out) {
  std::uint8_t* p = out.data();
  header(p, MessageType::response);
  store32(p + response_at::sender, m.sender);
  store32(p + response_at::receiver, m.receiver);
  store(p + response_at::ephemeral, m.ephemeral);
  store(p + response_at::encrypted_nothing, m.encrypted_nothing);
  store(p + response_at::mac1, m.mac1);
  store(p + response_at::mac2, m.mac2);
}

void write(const CookieReply& m, std::span<std::uint8_t, kCookieReplySize> out) {
  std::uint8_t* p = out.data();
  header(p, MessageType::cookie_reply);
  store32(p + cookie_at::receiver, m.receiver);
  store(p + cookie_at::nonce, m.nonce);
  store(p + cookie_at::encrypted_cookie, m.encrypted_cookie);
}

void write(const TransportHeader& h, std::span<std::uint8_t, kTransportHeaderSize> out) {
  std::uint8_t* p = out.data();
  header(p, MessageType::transport);
  store32(p + transport_at::receiver, h.receiver);
  store64(p + transport_at::counter, h.counter);
}

Mac add_macs(std::span<std::uint8_t> message, const Key& mac1_key, const std::optional<Mac>& cookie) {
  if (!has_macs(message.size())) throw std::invalid_argument("add_macs: not an initiation or response");
  std::size_t mac1_at = message.size() - 32;
  std::size_t mac2_at = message.size() - 16;
  Mac mac1 = mac(mac1_key, message.first(mac1_at));
  store(message.data() + mac1_at, mac1);
  Mac mac2{};
  if (cookie) mac2 = mac(*cookie, message.first(mac2_at));
  store(message.data() + mac2_at, mac2);
  return mac1;
}

bool mac1_valid(Bytes message, const Key& mac1_key) {
  if (!has_macs(message.size())) return false;
  std::size_t mac1_at = message.size() - 32;
  return equal(mac(mac1_key, message.first(mac1_at)), message.data() + mac1_at);
}

bool mac2_valid(Bytes message, const Mac& cookie) {
  if (!has_macs(message.size())) return false;
  std::size_t mac2_at = message.size() - 16;
  return equal(mac(cookie, message.first(mac2_at)), message.data() + mac2_at);
}

Mac mac1_of(Bytes message) {
  Mac out{};
  if (has_macs(message.size())) load(message.data() + message.size() - 32, out);
  return out;
}

}  // namespace waygate::wg
