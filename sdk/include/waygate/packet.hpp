// One packet: a view into a fixed-size buffer from a Pool, with headroom in front of the data (so
// a tunnel can prepend its header in place) and tailroom behind it (for an authentication tag),
// plus the metadata that stages use to talk to each other. Packets are never allocated one by one:
// the Pool owns them all.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace waygate {

// Outbound travels from the pipeline's first stage (inside: clients) to its last (outside);
// inbound travels back.
enum class Direction : std::uint8_t { outbound, inbound };

constexpr Direction opposite(Direction d) {
  return d == Direction::outbound ? Direction::inbound : Direction::outbound;
}
constexpr const char* to_string(Direction d) {
  return d == Direction::outbound ? "outbound" : "inbound";
}

inline constexpr std::uint32_t kNoId = 0xffffffffu;

// A socket address, IPv4 or IPv6: where a datagram came from or goes to.
struct Endpoint {
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr{};
  socklen_t len = 0;  // 0: no endpoint

  bool empty() const { return len == 0; }
  bool operator==(const Endpoint& o) const;
};

// What stages know about a packet beyond its bytes. Stages communicate only through this.
struct Meta {
  Direction direction = Direction::outbound;
  std::uint32_t peer = kNoId;      // tunnel peer that sent it or will receive it
  std::uint32_t identity = kNoId;  // policy identity owning the peer
  std::uint32_t socket = kNoId;    // socket (exit node) the packet is bound to
  std::uint32_t flow_hash = 0;     // hash of the 5-tuple, for sharding and flow tables
  // The underlay address on the far side of a datagram edge: where a received datagram came from
  // (the tunnel leaves its client's here, for policy's *where*), where a sent one goes.
  Endpoint endpoint;
};

class Packet {
 public:
  Packet() = default;
  Packet(std::uint8_t* buffer, std::uint32_t capacity, std::uint32_t index)
      : buf_(buffer), cap_(capacity), index_(index) {}

  std::uint8_t* data() { return buf_ + head_; }
  const std::uint8_t* data() const { return buf_ + head_; }
  std::size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  std::span<std::uint8_t> bytes() { return {data(), len_}; }
  std::span<const std::uint8_t> bytes() const { return {data(), len_}; }

  std::size_t headroom() const { return head_; }
  std::size_t tailroom() const { return cap_ - head_ - len_; }
  // Room from the data start to the end of the buffer: how much a read into this packet may fill.
  std::span<std::uint8_t> writable() { return {data(), cap_ - head_}; }

  // Grows the data by n bytes in front (for an encapsulation header); nullptr without headroom.
  std::uint8_t* prepend(std::size_t n) {
    if (n > head_) return nullptr;
    head_ -= static_cast<std::uint32_t>(n);
    len_ += static_cast<std::uint32_t>(n);
    return data();
  }
  // Removes n bytes from the front (decapsulation); false if the packet is shorter.
  bool strip(std::size_t n) {
    if (n > len_) return false;
    head_ += static_cast<std::uint32_t>(n);
    len_ -= static_cast<std::uint32_t>(n);
    return true;
  }
  // Sets the data length, within what the buffer holds behind the data start.
  bool resize(std::size_t n) {
    if (n > cap_ - head_) return false;
    len_ = static_cast<std::uint32_t>(n);
    return true;
  }
  // Empties the packet and places its data start `headroom` bytes into the buffer.
  void reset(std::size_t headroom) {
    head_ = static_cast<std::uint32_t>(headroom < cap_ ? headroom : cap_);
    len_ = 0;
    meta = Meta{};
  }

  std::uint32_t index() const { return index_; }  // position in its pool

  Meta meta;

 private:
  std::uint8_t* buf_ = nullptr;
  std::uint32_t cap_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t len_ = 0;
  std::uint32_t index_ = 0;
};

// "192.0.2.1:51820" or "[2001:db8::1]:51820"; "" for no endpoint.
inline std::string to_string(const Endpoint& e) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (e.addr.sa.sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &e.addr.v4.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(e.addr.v4.sin_port));
  }
  if (e.addr.sa.sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &e.addr.v6.sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(e.addr.v6.sin6_port));
  }
  return "";
}

// The reverse: false if the text is not an IP literal and a port from 1 to 65535.
inline bool parse_endpoint(std::string_view text, Endpoint& out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host(text.substr(0, colon));
  unsigned port = 0;
  auto port_text = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) return false;
  out = Endpoint{};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (::inet_pton(AF_INET6, host.c_str(), &out.addr.v6.sin6_addr) != 1) return false;
    out.addr.v6.sin6_family = AF_INET6;
    out.addr.v6.sin6_port = htons(static_cast<std::uint16_t>(port));
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  if (::inet_pton(AF_INET, host.c_str(), &out.addr.v4.sin_addr) != 1) return false;
  out.addr.v4.sin_family = AF_INET;
  out.addr.v4.sin_port = htons(static_cast<std::uint16_t>(port));
  out.len = sizeof(sockaddr_in);
  return true;
}

inline bool Endpoint::operator==(const Endpoint& o) const {
  if (len != o.len || addr.sa.sa_family != o.addr.sa.sa_family) return false;
  if (addr.sa.sa_family == AF_INET)
    return addr.v4.sin_port == o.addr.v4.sin_port && addr.v4.sin_addr.s_addr == o.addr.v4.sin_addr.s_addr;
  if (addr.sa.sa_family == AF_INET6)
    return addr.v6.sin6_port == o.addr.v6.sin6_port &&
           std::equal(std::begin(addr.v6.sin6_addr.s6_addr), std::end(addr.v6.sin6_addr.s6_addr),
                      std::begin(o.addr.v6.sin6_addr.s6_addr)) &&
           addr.v6.sin6_scope_id == o.addr.v6.sin6_scope_id;
  return len == 0;
}

}  // namespace waygate
