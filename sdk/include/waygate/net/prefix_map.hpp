// A longest-prefix-match table for IPv4 and IPv6, built once and read on the packet path.
//
// Built from a list of (prefix, value) entries: the most specific prefix that holds an address
// decides, and of two entries with the same prefix the later one. The build flattens the entries
// into the ranges of addresses that one entry decides, sorted, so a lookup is a binary search over
// range starts (a few dozen prefixes: five or six comparisons, without a branch to mispredict)
// that allocates nothing and takes no lock. Building sorts and paints the ranges: it allocates and belongs in configure(), not in a
// stage's process().
//
// Suited to tables that change with the configuration (what a socket may reach, a set of
// prefixes to filter); a table changed per packet wants another structure.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "waygate/net/prefix.hpp"

namespace waygate::net {

template <typename V>
class PrefixMap {
 public:
  struct Entry {
    Prefix prefix;
    V value;
  };

  PrefixMap() = default;
  explicit PrefixMap(std::vector<Entry> entries) : entries_(std::move(entries)) {
    build(v4_, Family::v4);
    build(v6_, Family::v6);
  }

  // The entry deciding `a`, or nullptr when no prefix holds it.
  const Entry* find(const Address& a) const {
    if (a.is_v4()) return find4(a.bytes().data());
    if (a.is_v6()) return find6(a.bytes().data());
    return nullptr;
  }
  // The same from an address in a packet, network byte order: 4 bytes, or 16.
  const Entry* find4(const std::uint8_t* b) const {
    std::uint32_t k;
    std::memcpy(&k, b, 4);
    return at(v4_, __builtin_bswap32(k));
  }
  const Entry* find6(const std::uint8_t* b) const {
    std::uint64_t hi, lo;
    std::memcpy(&hi, b, 8);
    std::memcpy(&lo, b + 8, 8);
    return at(v6_, Key{__builtin_bswap64(hi)} << 64 | __builtin_bswap64(lo));
  }

  const std::vector<Entry>& entries() const { return entries_; }
  // How many ranges the entries flattened into, both families: what a lookup searches.
  std::size_t ranges() const { return v4_.starts.size() + v6_.starts.size(); }

 private:
  // An address as a number, most significant byte first.
  __extension__ typedef unsigned __int128 Key;
  static constexpr std::uint32_t kNone = 0xffffffffu;

  // Ranges of one family: range i covers [starts[i], starts[i + 1]) and is decided by
  // entries_[owner[i]] (kNone: by no entry). starts[0] is 0, so every address has a range.
  template <typename K>
  struct Ranges {
    std::vector<K> starts{0};
    std::vector<std::uint32_t> owner{kNone};
  };

  // For building; lookups take the bytes with a load and a byte swap.
  static Key load(const std::uint8_t* b, std::size_t n) {
    Key k = 0;
    for (std::size_t i = 0; i < n; ++i) k = k << 8 | b[i];
    return k;
  }

  // The last range starting at or before k, by a binary search whose steps are conditional moves,
  // not branches: destinations are as good as random to a branch predictor.
  template <typename K>
  const Entry* at(const Ranges<K>& r, K k) const {
    const K* base = r.starts.data();
    for (std::size_t n = r.starts.size(); n > 1; n -= n / 2) base = base[n / 2] <= k ? base + n / 2 : base;
    const std::uint32_t owner = r.owner[static_cast<std::size_t>(base - r.starts.data())];
    return owner == kNone ? nullptr : &entries_[owner];
  }

  // Paints each entry's range over the ones before it, shortest prefixes first (ties in list
  // order), so what is left on top of every address is its most specific entry.
  template <typename K>
  void build(Ranges<K>& out, Family family) {
    const unsigned width = family == Family::v4 ? 32 : 128;
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].prefix.family() == family) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return entries_[a].prefix.bits < entries_[b].prefix.bits;
    });
    // Where each range starts and who decides it; the space begins undecided.
    std::map<Key, std::uint32_t> painted{{0, kNone}};
    for (std::uint32_t i : order) {
      const Prefix& p = entries_[i].prefix;
      const Key first = load(p.address.bytes().data(), p.address.size());
      const unsigned host = width - p.bits;
      const Key span = host == 128 ? ~Key{0} : host == 0 ? 0 : (Key{1} << host) - 1;
      const Key last = first + span;
      const bool to_end = last == (width == 128 ? ~Key{0} : (Key{1} << width) - 1);
      std::optional<std::uint32_t> after;  // who decides the address after `last`
      if (!to_end) after = std::prev(painted.upper_bound(last))->second;
      painted.erase(painted.lower_bound(first), painted.upper_bound(last));
      painted[first] = i;
      if (after) painted.emplace(last + 1, *after);
    }
    out.starts.clear();
    out.owner.clear();
    for (auto& [start, owner] : painted) {
      if (!out.owner.empty() && out.owner.back() == owner) continue;  // merge neighbours
      out.starts.push_back(static_cast<K>(start));
      out.owner.push_back(owner);
    }
  }

  std::vector<Entry> entries_;
  Ranges<std::uint32_t> v4_;
  Ranges<Key> v6_;
};

}  // namespace waygate::net
