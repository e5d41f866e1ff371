// Cryptokey routing (whitepaper 2): which peer owns an inner address, by longest-prefix match
// over every peer's allowed IPs, IPv4 and IPv6. Outbound, the destination picks the peer to
// encrypt for; inbound, a decrypted packet's source must map back to the peer that sent it.
// Lookups allocate nothing and are the hot path; changes happen at configure time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace waygate::wg {

inline constexpr std::uint32_t kNoPeer = 0xffffffffu;

struct Prefix {
  std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  std::uint8_t bits = 0;
  bool v6 = false;
  // Parses "10.0.0.0/8", "fd00::/64", or a bare address (a host route). Host bits beyond the
  // prefix length are cleared. False if the text is none of these.
  static bool parse(const std::string& text, Prefix& out);
  std::string to_string() const;
  bool operator==(const Prefix&) const = default;
};

class AllowedIps {
 public:
  AllowedIps();
  ~AllowedIps();
  AllowedIps(AllowedIps&&) noexcept;
  AllowedIps& operator=(AllowedIps&&) noexcept;

  // Maps the prefix to the peer, replacing whichever peer held exactly this prefix before.
  void insert(const Prefix& prefix, std::uint32_t peer);
  void remove_peer(std::uint32_t peer);
  void clear();
  // The peer owning the longest matching prefix, or kNoPeer. address is 4 or 16 bytes.
  std::uint32_t lookup(std::span<const std::uint8_t> address) const;
  std::vector<Prefix> prefixes_of(std::uint32_t peer) const;
  // Bytes held by the tables (allocated capacity; the peer index is estimated), for benchmarks
  // and metrics.
  std::size_t memory_bytes() const;

 private:
  struct Trie;
  std::unique_ptr<Trie> v4_;
  std::unique_ptr<Trie> v6_;
};

}  // namespace waygate::wg
