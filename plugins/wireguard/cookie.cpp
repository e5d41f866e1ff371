#include "cookie.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstring>

namespace waygate::wg {

namespace {
// Whitepaper 6.6: the responder's secret changes every two minutes, and an initiator's cookie is
// good for as long.
constexpr std::chrono::nanoseconds kCookieLifetime = std::chrono::seconds(120);
}  // namespace

// Cookie := MAC(R_m, A_m): R_m the current secret, A_m the sender's address and port.
CookieChecker::~CookieChecker() {
  wipe(seed_);
  wipe(secret_);
}

Mac CookieChecker::cookie_for(Bytes source, std::chrono::nanoseconds now) {
  const std::int64_t period = now / kCookieLifetime;
  if (period != period_) {
    std::array<std::uint8_t, 8> number{};
    for (std::size_t i = 0; i < number.size(); ++i) number[i] = static_cast<std::uint8_t>(period >> (8 * i));
    secret_ = hmac(seed_, number);
    period_ = period;
  }
  return mac(secret_, source);
}

bool CookieChecker::mac2_valid(Bytes message, Bytes source, std::chrono::nanoseconds now) {
  Mac cookie = cookie_for(source, now);
  bool valid = wg::mac2_valid(message, cookie);
  wipe(cookie);
  return valid;
}

// msg.cookie := XAEAD(HASH(LABEL_COOKIE || S_m^pub), nonce, cookie, M), M the message's MAC1.
CookieReply CookieChecker::reply(Bytes message, std::uint32_t sender_index, Bytes source, const Key& cookie_key,
                                 std::chrono::nanoseconds now) {
  Mac cookie = cookie_for(source, now);
  Mac mac1 = mac1_of(message);
  CookieReply reply;
  reply.receiver = sender_index;
  random_bytes(reply.nonce);
  xseal(cookie_key, reply.nonce, cookie, mac1, reply.encrypted_cookie.data());
  wipe(cookie);
  return reply;
}

bool CookieJar::consume(const CookieReply& reply, const Mac& sent_mac1, const Key& peer_cookie_key,
                        std::chrono::nanoseconds now) {
  Mac cookie;
  if (!xopen(peer_cookie_key, reply.nonce, reply.encrypted_cookie, sent_mac1, cookie.data())) return false;
  cookie_ = cookie;
  received_ = now;
  wipe(cookie);
  return true;
}

std::optional<Mac> CookieJar::cookie(std::chrono::nanoseconds now) const {
  if (received_ < std::chrono::nanoseconds::zero() || now - received_ >= kCookieLifetime) return std::nullopt;
  return cookie_;
}

std::size_t source_bytes(const void* address, std::span<std::uint8_t, 18> out) {
  // Copy rather than cast: the caller's storage need not be aligned for, or be, the struct type.
  sa_family_t family;
  std::memcpy(&family, static_cast<const std::byte*>(address) + offsetof(sockaddr, sa_family), sizeof family);
  if (family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    std::memcpy(out.data(), &in.sin_addr, 4);
    std::memcpy(out.data() + 4, &in.sin_port, 2);  // already in network byte order
    return 6;
  }
  if (family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    std::memcpy(out.data(), &in6.sin6_addr, 16);
    std::memcpy(out.data() + 16, &in6.sin6_port, 2);
    return 18;
  }
  return 0;  // no address family a cookie can be bound to
}

}  // namespace waygate::wg
