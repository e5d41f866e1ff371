// Longest-prefix match, per address family, in two parts:
//
// Host routes (/32, /128), by far the most common allowed IPs (one per client of an exit node),
// sit in a hash table keyed by address. A host route is the longest prefix an address can have,
// so a lookup that finds its address there is done; otherwise it walks the trie, which then
// holds only the shorter prefixes (often just a default route) and stays small and shallow.
//
// The other prefixes form a path-compressed binary trie. Every node is a prefix (key, bits); a
// node's children extend it, child[b] having bit number `bits` (counted from the most
// significant) equal to b. Nodes without a peer are "glue" where two prefixes part ways and
// always have two children, so n prefixes take at most 2n - 1 nodes. A lookup walks down from
// the root, stops at the first node whose prefix does not cover the address (nothing below it
// can), and remembers the last peer it passed.
//
// Everything lives in a few vectors and refers to entries by 32-bit index: no per-node
// allocation, no pointers to chase but the ones a lookup needs. What a lookup reads (trie node:
// key, children, peer, bits; hash slot: key, peer) is kept apart from what only changes use
// (parents, and per peer a doubly linked list through its trie nodes and host routes, so that
// remove_peer costs O(that peer's prefixes)). Freed entries are reused, and when more than half
// of them are free the family is rebuilt compactly.
#include "allowed_ips.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <variant>

namespace waygate::wg {
namespace {

constexpr std::uint32_t kNull = 0xffffffffu;

// The finaliser of MurmurHash3 (fmix64): every input bit affects every output bit.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// The address families as unsigned integers, most significant bit first.
struct V4 {
  using Key = std::uint32_t;
  static constexpr unsigned kWidth = 32;

  static Key load(const std::uint8_t* p) {
    return static_cast<Key>(p[0]) << 24 | static_cast<Key>(p[1]) << 16 | static_cast<Key>(p[2]) << 8 | p[3];
  }
  static void store(Key key, std::uint8_t* p) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(key >> (24 - 8 * i));
  }
  // The number of leading bits a and b share (kWidth when equal).
  static unsigned common(Key a, Key b) { return static_cast<unsigned>(std::countl_zero(a ^ b)); }
  // Bit i, for i < kWidth.
  static unsigned bit(Key key, unsigned i) { return (key >> (31 - i)) & 1u; }
  static Key mask(Key key, unsigned bits) { return bits == 0 ? 0 : key & (~Key{0} << (32 - bits)); }
  static std::uint64_t hash(Key key) { return mix64(key); }
};

struct U128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  bool operator==(const U128&) const = default;
};

struct V6 {
  using Key = U128;
  static constexpr unsigned kWidth = 128;

  static std::uint64_t load64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return v;
  }
  static Key load(const std::uint8_t* p) { return {load64(p), load64(p + 8)}; }
  static void store(Key key, std::uint8_t* p) {
    for (int i = 0; i < 8; ++i) {
      p[i] = static_cast<std::uint8_t>(key.hi >> (56 - 8 * i));
      p[8 + i] = static_cast<std::uint8_t>(key.lo >> (56 - 8 * i));
    }
  }
  static unsigned common(Key a, Key b) {
    const std::uint64_t hi = a.hi ^ b.hi;
    if (hi != 0) return static_cast<unsigned>(std::countl_zero(hi));
    return 64 + static_cast<unsigned>(std::countl_zero(a.lo ^ b.lo));
  }
  static unsigned bit(Key key, unsigned i) {
    return i < 64 ? static_cast<unsigned>(key.hi >> (63 - i)) & 1u
                  : static_cast<unsigned>(key.lo >> (127 - i)) & 1u;
  }
  static Key mask(Key key, unsigned bits) {
    const std::uint64_t hi = bits == 0 ? 0 : bits >= 64 ? key.hi : key.hi & (~std::uint64_t{0} << (64 - bits));
    const std::uint64_t lo = bits <= 64 ? 0 : key.lo & (~std::uint64_t{0} << (128 - bits));
    return {hi, lo};
  }
  static std::uint64_t hash(Key key) { return mix64(key.hi ^ mix64(key.lo)); }
};

// Open addressing with linear probing, at most half full, a power of two in size. Erasing
// shifts the following slots back instead of leaving tombstones, so probes stay short however
// many changes there were. Traits give the key of a slot, its hash, and the empty slot.
template <class Slot, class Traits>
class FlatTable {
 public:
  using Key = typename Traits::Key;

  const Slot* find(const Key& key) const {
    if (size_ == 0) return nullptr;
    for (std::size_t i = Traits::hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (Traits::empty(slot)) return nullptr;
      if (Traits::key(slot) == key) return &slot;
    }
  }
  Slot* find(const Key& key) { return const_cast<Slot*>(std::as_const(*this).find(key)); }

  // For a key not in the table yet. Invalidates pointers to slots.
  void insert_new(const Slot& slot) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<std::size_t>(16, slots_.size() * 2));
    std::size_t i = Traits::hash(Traits::key(slot)) & mask_;
    while (!Traits::empty(slots_[i])) i = (i + 1) & mask_;
    slots_[i] = slot;
    ++size_;
  }

  // Invalidates pointers to slots.
  void erase(const Key& key) {
    const Slot* found = find(key);
    if (found == nullptr) return;
    std::size_t hole = static_cast<std::size_t>(found - slots_.data());
    for (std::size_t i = (hole + 1) & mask_; !Traits::empty(slots_[i]); i = (i + 1) & mask_) {
      // The slot at i may fill the hole unless its home lies cyclically in (hole, i].
      const std::size_t home = Traits::hash(Traits::key(slots_[i])) & mask_;
      const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!stays) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = Traits::empty_slot();
    --size_;
    if (slots_.size() > 16 && size_ * 8 < slots_.size()) rehash(slots_.size() / 2);
  }

  template <class Fn>
  void for_each(Fn fn) const {
    for (const Slot& slot : slots_)
      if (!Traits::empty(slot)) fn(slot);
  }

  void clear() { *this = FlatTable(); }
  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  void rehash(std::size_t capacity) {
    std::vector<Slot> old(capacity, Traits::empty_slot());
    old.swap(slots_);
    mask_ = capacity - 1;
    size_ = 0;
    for (const Slot& slot : old)
      if (!Traits::empty(slot)) insert_new(slot);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// The prev/next links of a peer's list.
struct Chain {
  std::uint32_t prev = kNull;
  std::uint32_t next = kNull;
};

// Which of a peer's two lists: its trie nodes, its host routes.
enum List : unsigned { kTrieList = 0, kHostList = 1 };

struct PeerSlot {
  std::uint32_t peer = kNoPeer;
  std::array<std::uint32_t, 2> head{kNull, kNull};
};
struct PeerTraits {
  using Key = std::uint32_t;
  static Key key(const PeerSlot& slot) { return slot.peer; }
  static std::uint64_t hash(Key peer) { return mix64(peer); }
  static bool empty(const PeerSlot& slot) { return slot.peer == kNoPeer; }
  static PeerSlot empty_slot() { return {}; }
};

template <class F>
class Family {
 public:
  using Key = typename F::Key;

  std::uint32_t lookup(Key address) const {
    if (const HostSlot* host = hosts_.find(address)) return host->peer;
    const Node* nodes = nodes_.data();
    std::uint32_t best = kNoPeer;
    // Trie nodes are shorter than kWidth, so F::bit() is always in range.
    for (std::uint32_t i = root_; i != kNull;) {
      const Node& n = nodes[i];
      if (F::common(address, n.key) < n.bits) break;
      if (n.peer != kNoPeer) best = n.peer;
      i = n.child[F::bit(address, n.bits)];
    }
    return best;
  }

  void insert(Key key, unsigned bits, std::uint32_t peer) {
    if (bits == F::kWidth) {
      insert_host(key, peer);
    } else {
      insert_trie(F::mask(key, bits), bits, peer);
    }
  }

  void remove_peer(std::uint32_t peer) {
    const PeerSlot* slot = peers_.find(peer);
    if (slot == nullptr) return;
    const std::array<std::uint32_t, 2> heads = slot->head;
    peers_.erase(peer);
    for (std::uint32_t i = heads[kTrieList]; i != kNull;) {
      // prune() frees i and at most i's parent, which then has no peer; the rest of this list
      // still belongs to `peer`, so it survives.
      const std::uint32_t next = links_[i].chain.next;
      nodes_[i].peer = kNoPeer;
      prune(i);
      i = next;
    }
    for (std::uint32_t e = heads[kHostList]; e != kNull;) {
      const std::uint32_t next = host_entries_[e].chain.next;
      hosts_.erase(host_entries_[e].key);
      host_entries_[e] = HostEntry{};
      free_hosts_.push_back(e);
      e = next;
    }
    const std::size_t entries = nodes_.size() + host_entries_.size();
    const std::size_t unused = free_nodes_.size() + free_hosts_.size();
    if (unused > 64 && unused * 2 > entries) rebuild();
  }

  void clear() { *this = Family(); }

  void append_prefixes(std::uint32_t peer, bool v6, std::vector<Prefix>& out) const {
    const PeerSlot* slot = peers_.find(peer);
    if (slot == nullptr) return;
    auto add = [&](Key key, unsigned bits) {
      Prefix p;
      F::store(key, p.address.data());
      p.bits = static_cast<std::uint8_t>(bits);
      p.v6 = v6;
      out.push_back(p);
    };
    for (std::uint32_t i = slot->head[kTrieList]; i != kNull; i = links_[i].chain.next)
      add(nodes_[i].key, nodes_[i].bits);
    for (std::uint32_t e = slot->head[kHostList]; e != kNull; e = host_entries_[e].chain.next)
      add(host_entries_[e].key, F::kWidth);
  }

  // Heap bytes held (capacities).
  std::size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + links_.capacity() * sizeof(Links) +
           free_nodes_.capacity() * sizeof(std::uint32_t) + hosts_.memory_bytes() +
           host_entries_.capacity() * sizeof(HostEntry) + free_hosts_.capacity() * sizeof(std::uint32_t) +
           peers_.memory_bytes();
  }

 private:
  // Trie nodes, what lookups read: 20 bytes for IPv4, 32 for IPv6.
  struct Node {
    Key key{};
    std::array<std::uint32_t, 2> child{kNull, kNull};
    std::uint32_t peer = kNoPeer;
    std::uint8_t bits = 0;
  };
  // And what changes need, in a parallel vector.
  struct Links {
    std::uint32_t parent = kNull;
    Chain chain;
  };
  // Host routes: the hash slot has what lookups need, the entry (stable index) the peer's list.
  struct HostSlot {
    Key key{};
    std::uint32_t peer = kNoPeer;
    std::uint32_t entry = kNull;
  };
  struct HostTraits {
    using Key = typename F::Key;
    static Key key(const HostSlot& slot) { return slot.key; }
    static std::uint64_t hash(const Key& key) { return F::hash(key); }
    static bool empty(const HostSlot& slot) { return slot.entry == kNull; }
    static HostSlot empty_slot() { return {}; }
  };
  struct HostEntry {
    Key key{};
    Chain chain;
  };

  Chain& chain(List list, std::uint32_t i) {
    return list == kTrieList ? links_[i].chain : host_entries_[i].chain;
  }

  void link(List list, std::uint32_t i, std::uint32_t peer) {
    PeerSlot* slot = peers_.find(peer);
    if (slot == nullptr) {
      peers_.insert_new(PeerSlot{peer, {kNull, kNull}});
      slot = peers_.find(peer);
    }
    std::uint32_t& head = slot->head[list];
    chain(list, i) = Chain{kNull, head};
    if (head != kNull) chain(list, head).prev = i;
    head = i;
  }

  void unlink(List list, std::uint32_t i, std::uint32_t peer) {
    const Chain c = chain(list, i);
    if (c.next != kNull) chain(list, c.next).prev = c.prev;
    if (c.prev != kNull) {
      chain(list, c.prev).next = c.next;
    } else {
      PeerSlot* slot = peers_.find(peer);
      slot->head[list] = c.next;
      if (slot->head[kTrieList] == kNull && slot->head[kHostList] == kNull) peers_.erase(peer);
    }
    chain(list, i) = Chain{};
  }

  void insert_host(Key key, std::uint32_t peer) {
    if (HostSlot* slot = hosts_.find(key)) {
      const std::uint32_t old = slot->peer;
      if (old == peer) return;
      slot->peer = peer;  // before unlink() and link(): they change peers_, not hosts_
      unlink(kHostList, slot->entry, old);
      link(kHostList, slot->entry, peer);
      return;
    }
    std::uint32_t e;
    if (!free_hosts_.empty()) {
      e = free_hosts_.back();
      free_hosts_.pop_back();
    } else {
      if (host_entries_.size() >= kNull) throw std::length_error("allowed IPs: too many host routes");
      e = static_cast<std::uint32_t>(host_entries_.size());
      host_entries_.emplace_back();
    }
    host_entries_[e] = HostEntry{key, Chain{}};
    hosts_.insert_new(HostSlot{key, peer, e});
    link(kHostList, e, peer);
  }

  std::uint32_t& slot_of(std::uint32_t parent, unsigned dir) {
    return parent == kNull ? root_ : nodes_[parent].child[dir];
  }

  void insert_trie(Key key, unsigned bits, std::uint32_t peer) {
    std::uint32_t parent = kNull;
    unsigned dir = 0;
    std::uint32_t i = root_;
    while (i != kNull) {
      const Key node_key = nodes_[i].key;
      const unsigned node_bits = nodes_[i].bits;
      const unsigned shared = std::min({F::common(key, node_key), node_bits, bits});
      if (shared == node_bits && shared == bits) {  // this very prefix
        set_peer(i, peer);
        return;
      }
      if (shared == node_bits) {  // i covers the prefix: go down
        parent = i;
        dir = F::bit(key, node_bits);
        i = nodes_[i].child[dir];
        continue;
      }
      if (shared == bits) {  // the prefix covers i: it goes between parent and i
        const std::uint32_t added = make_node(key, bits, peer, parent);
        nodes_[added].child[F::bit(node_key, bits)] = i;
        links_[i].parent = added;
        slot_of(parent, dir) = added;
        return;
      }
      // They part ways at bit `shared`: a glue node there holds i and the new prefix.
      const std::uint32_t glue = make_node(F::mask(key, shared), shared, kNoPeer, parent);
      const std::uint32_t leaf = make_node(key, bits, peer, glue);
      nodes_[glue].child[F::bit(node_key, shared)] = i;
      nodes_[glue].child[F::bit(key, shared)] = leaf;
      links_[i].parent = glue;
      slot_of(parent, dir) = glue;
      return;
    }
    const std::uint32_t added = make_node(key, bits, peer, parent);
    slot_of(parent, dir) = added;
  }

  std::uint32_t make_node(Key key, unsigned bits, std::uint32_t peer, std::uint32_t parent) {
    std::uint32_t i;
    if (!free_nodes_.empty()) {
      i = free_nodes_.back();
      free_nodes_.pop_back();
    } else {
      if (nodes_.size() >= kNull) throw std::length_error("allowed IPs: too many prefixes");
      i = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
      links_.emplace_back();
    }
    nodes_[i] = Node{key, {kNull, kNull}, kNoPeer, static_cast<std::uint8_t>(bits)};
    links_[i] = Links{parent, Chain{}};
    if (peer != kNoPeer) set_peer(i, peer);
    return i;
  }

  void set_peer(std::uint32_t i, std::uint32_t peer) {
    const std::uint32_t old = nodes_[i].peer;
    if (old == peer) return;
    if (old != kNoPeer) unlink(kTrieList, i, old);
    nodes_[i].peer = peer;
    link(kTrieList, i, peer);
  }

  // Removes i, which has no peer any more, unless it is needed as glue (two children).
  void prune(std::uint32_t i) {
    const Node n = nodes_[i];
    const int children = (n.child[0] != kNull) + (n.child[1] != kNull);
    if (children == 2) return;
    const std::uint32_t parent = links_[i].parent;
    const std::uint32_t only = children == 0 ? kNull : n.child[n.child[0] != kNull ? 0 : 1];
    if (parent == kNull) {
      root_ = only;
    } else {
      nodes_[parent].child[nodes_[parent].child[0] == i ? 0 : 1] = only;
    }
    if (only != kNull) links_[only].parent = parent;
    nodes_[i] = Node{};
    links_[i] = Links{};
    free_nodes_.push_back(i);
    // A glue parent that lost a child would be a mere link in a chain now; it goes too (and it
    // stops there: the grandparent keeps as many children as it had).
    if (children == 0 && parent != kNull && nodes_[parent].peer == kNoPeer) prune(parent);
  }

  // A fresh copy without free entries, the trie inserted in depth-first order so that nodes
  // sit near their parents.
  void rebuild() {
    Family fresh;
    fresh.nodes_.reserve(nodes_.size() - free_nodes_.size());
    fresh.links_.reserve(nodes_.size() - free_nodes_.size());
    if (root_ != kNull) copy_subtree(fresh, root_);
    fresh.host_entries_.reserve(host_entries_.size() - free_hosts_.size());
    hosts_.for_each([&](const HostSlot& slot) { fresh.insert_host(slot.key, slot.peer); });
    *this = std::move(fresh);
  }

  void copy_subtree(Family& into, std::uint32_t from) const {
    // Recursion depth is bounded by the key width (every level adds at least one bit).
    const Node& n = nodes_[from];
    if (n.peer != kNoPeer) into.insert_trie(n.key, n.bits, n.peer);
    for (const std::uint32_t c : n.child)
      if (c != kNull) copy_subtree(into, c);
  }

  std::vector<Node> nodes_;
  std::vector<Links> links_;
  std::vector<std::uint32_t> free_nodes_;
  std::uint32_t root_ = kNull;
  FlatTable<HostSlot, HostTraits> hosts_;
  std::vector<HostEntry> host_entries_;
  std::vector<std::uint32_t> free_hosts_;
  FlatTable<PeerSlot, PeerTraits> peers_;  // peer -> the heads of its two lists
};

}  // namespace

// One family's tables; v4_ holds the IPv4 alternative, v6_ the IPv6 one.
struct AllowedIps::Trie {
  std::variant<Family<V4>, Family<V6>> family;

  // The tables behind v4_ or v6_, created if a move took them away.
  template <std::size_t kIndex>
  static auto& get(std::unique_ptr<Trie>& trie) {
    if (!trie) trie = std::make_unique<Trie>(Trie{decltype(family)(std::in_place_index<kIndex>)});
    return *std::get_if<kIndex>(&trie->family);
  }
};

bool Prefix::parse(const std::string& text, Prefix& out) {
  if (text.find('\0') != std::string::npos) return false;
  const std::size_t slash = text.find('/');
  const std::string address = text.substr(0, slash);
  Prefix p;
  unsigned width;
  if (inet_pton(AF_INET, address.c_str(), p.address.data()) == 1) {
    width = 32;
  } else {
    p.address.fill(0);
    if (inet_pton(AF_INET6, address.c_str(), p.address.data()) != 1) return false;
    p.v6 = true;
    width = 128;
  }
  unsigned bits = width;
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    bits = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return false;
      bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    if (bits > width) return false;
  }
  p.bits = static_cast<std::uint8_t>(bits);
  // Clear the host bits.
  for (unsigned byte = 0; byte < 16; ++byte) {
    const unsigned first = byte * 8;
    if (first >= bits) {
      p.address[byte] = 0;
    } else if (bits - first < 8) {
      p.address[byte] &= static_cast<std::uint8_t>(0xff00u >> (bits - first));
    }
  }
  out = p;
  return true;
}

std::string Prefix::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, address.data(), text, sizeof text) == nullptr) return {};
  return std::string(text) + "/" + std::to_string(bits);
}

AllowedIps::AllowedIps() {
  Trie::get<0>(v4_);
  Trie::get<1>(v6_);
}
AllowedIps::~AllowedIps() = default;
// A moved-from AllowedIps has no tables: it looks empty, and insert() creates them again.
AllowedIps::AllowedIps(AllowedIps&&) noexcept = default;
AllowedIps& AllowedIps::operator=(AllowedIps&&) noexcept = default;

void AllowedIps::insert(const Prefix& prefix, std::uint32_t peer) {
  if (peer == kNoPeer) throw std::invalid_argument("allowed IPs: kNoPeer is not a peer");
  if (prefix.bits > (prefix.v6 ? 128 : 32))
    throw std::invalid_argument("allowed IPs: prefix length " + std::to_string(prefix.bits) + " is too long");
  if (prefix.v6) {
    Trie::get<1>(v6_).insert(V6::load(prefix.address.data()), prefix.bits, peer);
  } else {
    Trie::get<0>(v4_).insert(V4::load(prefix.address.data()), prefix.bits, peer);
  }
}

void AllowedIps::remove_peer(std::uint32_t peer) {
  if (v4_) std::get_if<0>(&v4_->family)->remove_peer(peer);
  if (v6_) std::get_if<1>(&v6_->family)->remove_peer(peer);
}

void AllowedIps::clear() {
  if (v4_) std::get_if<0>(&v4_->family)->clear();
  if (v6_) std::get_if<1>(&v6_->family)->clear();
}

std::uint32_t AllowedIps::lookup(std::span<const std::uint8_t> address) const {
  if (address.size() == 4) {
    return v4_ ? std::get_if<0>(&v4_->family)->lookup(V4::load(address.data())) : kNoPeer;
  }
  if (address.size() == 16) {
    return v6_ ? std::get_if<1>(&v6_->family)->lookup(V6::load(address.data())) : kNoPeer;
  }
  return kNoPeer;
}

std::vector<Prefix> AllowedIps::prefixes_of(std::uint32_t peer) const {
  std::vector<Prefix> out;
  if (v4_) std::get_if<0>(&v4_->family)->append_prefixes(peer, false, out);
  if (v6_) std::get_if<1>(&v6_->family)->append_prefixes(peer, true, out);
  // IPv4 first, then by address, shorter prefixes before longer ones.
  std::sort(out.begin(), out.end(), [](const Prefix& a, const Prefix& b) {
    return std::tie(a.v6, a.address, a.bits) < std::tie(b.v6, b.address, b.bits);
  });
  return out;
}

std::size_t AllowedIps::memory_bytes() const {
  std::size_t total = sizeof *this;
  if (v4_) total += sizeof(Trie) + std::get_if<0>(&v4_->family)->memory_bytes();
  if (v6_) total += sizeof(Trie) + std::get_if<1>(&v6_->family)->memory_bytes();
  return total;
}

}  // namespace waygate::wg
