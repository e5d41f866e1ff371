#include "engine.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <cstring>
#include <string>

namespace waygate::nat {

namespace {

using net::Address;
using net::PacketInfo;

constexpr std::uint8_t kSynOut = 0x01, kSynIn = 0x02, kFinOut = 0x04, kFinIn = 0x08, kRst = 0x10,
                       kMidstream = 0x20;

std::uint16_t ld16(std::span<const std::uint8_t> b, std::size_t off) {
  return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}
void st16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

// The slot of a protocol in per-protocol arrays: tcp 0, udp 1, icmp 2; -1 for anything else.
int proto_slot(std::uint8_t version, std::uint8_t protocol) {
  if (protocol == net::ipproto::tcp) return 0;
  if (protocol == net::ipproto::udp) return 1;
  if ((version == 4 && protocol == net::ipproto::icmp) || (version == 6 && protocol == net::ipproto::icmpv6))
    return 2;
  return -1;
}
std::uint8_t proto_of(std::uint8_t fp) {
  static constexpr std::uint8_t p[6] = {net::ipproto::tcp, net::ipproto::udp, net::ipproto::icmp,
                                        net::ipproto::tcp, net::ipproto::udp, net::ipproto::icmpv6};
  return p[fp];
}
std::uint8_t version_of(std::uint8_t fp) { return fp < 3 ? 4 : 6; }
std::uint8_t fp_of(std::uint8_t version, int slot) {
  return static_cast<std::uint8_t>((version == 6 ? 3 : 0) + slot);
}

bool is_error(std::uint8_t version, std::uint8_t type) {
  if (version == 4)
    return type == net::icmp4::dest_unreachable || type == net::icmp4::time_exceeded ||
           type == net::icmp4::parameter_problem;
  return type == net::icmp6::dest_unreachable || type == net::icmp6::packet_too_big ||
         type == net::icmp6::time_exceeded || type == net::icmp6::parameter_problem;
}

Address from_raw(const std::array<std::uint8_t, 16>& raw, std::uint8_t version) {
  if (version == 4) return Address::v4(std::span<const std::uint8_t, 4>(raw.data(), 4));
  return Address::v6(std::span<const std::uint8_t, 16>(raw.data(), 16));
}

std::size_t addr_offset(std::uint8_t version, bool source) {
  if (version == 4) return source ? 12 : 16;
  return source ? 8 : 24;
}

// Offset of the port (or ICMP echo identifier) being rewritten, from the L4 header.
std::size_t port_offset(int slot, bool source) { return slot == 2 ? 4 : (source ? 0 : 2); }

std::size_t checksum_offset(int slot) {
  return slot == 0 ? net::tcp_checksum_offset : slot == 1 ? net::udp_checksum_offset : net::icmp_checksum_offset;
}

// Rewrites the source or destination address and port of a packet whose IP header starts at
// `b[0]` and whose L4 header is at `l4`, updating the IPv4 header checksum and the L4 checksum
// incrementally (RFC 1624). `outer`, when given, is the checksum of an enclosing ICMP message
// that covers these bytes: it is updated for every 16-bit word changed. `l4_checksum_present`
// says whether the L4 checksum field lies within `b` (a quote may be cut short).
void rewrite(std::span<std::uint8_t> b, std::uint8_t version, std::size_t l4, int slot, bool source,
             const Address& to, std::uint16_t to_port, std::uint16_t* outer) {
  const std::size_t aoff = addr_offset(version, source);
  const std::size_t alen = version == 4 ? 4 : 16;
  std::array<std::uint8_t, 16> old{};
  std::memcpy(old.data(), b.data() + aoff, alen);
  const std::span<const std::uint8_t> old_addr(old.data(), alen);
  const std::span<const std::uint8_t> new_addr = to.bytes();

  auto patch16 = [&](std::size_t off, std::uint16_t v) {
    const std::uint16_t was = ld16(b, off);
    st16(b, off, v);
    if (outer) *outer = net::update16(*outer, was, v);
  };

  // L4 checksum first (it reads the old values), then the fields themselves.
  const std::size_t poff = l4 + port_offset(slot, source);
  const std::uint16_t old_port = ld16(b, poff);
  const std::size_t coff = l4 + checksum_offset(slot);
  if (coff + 2 <= b.size()) {
    const std::uint16_t was = ld16(b, coff);
    std::uint16_t c = was;
    if (!(version == 4 && slot == 2)) c = net::update_bytes(c, old_addr, new_addr);  // pseudo-header
    c = net::update16(c, old_port, to_port);
    if (slot == 1) c = net::udp_update_fixup(was, c);
    patch16(coff, c);
  }
  if (version == 4) {
    const std::uint16_t c = net::update_bytes(ld16(b, net::ipv4_checksum_offset), old_addr, new_addr);
    patch16(net::ipv4_checksum_offset, c);
  }
  patch16(poff, to_port);
  if (outer) *outer = net::update_bytes(*outer, old_addr, new_addr);
  std::memcpy(b.data() + aoff, new_addr.data(), alen);
}

}  // namespace

namespace {
constexpr std::size_t kMapAbove = std::size_t{1} << 21;  // 2 MiB: one huge page
}

void* zeroed_alloc(std::size_t bytes) {
  if (bytes < kMapAbove) {
    void* p = std::calloc(1, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without transparent huge pages it changes nothing
  return p;
}

void zeroed_free(void* p, std::size_t bytes) {
  if (bytes < kMapAbove) std::free(p);
  else ::munmap(p, bytes);
}

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::none: return "none";
    case Reason::malformed: return "malformed";
    case Reason::fragment: return "fragment";
    case Reason::unsupported_protocol: return "unsupported_protocol";
    case Reason::no_session: return "no_session";
    case Reason::ports_exhausted: return "ports_exhausted";
    case Reason::table_full: return "table_full";
    case Reason::no_egress_address: return "no_egress_address";
    case Reason::unknown_socket: return "unknown_socket";
    case Reason::count: break;
  }
  return "unknown";
}

// 28 bytes: the remote endpoint, the mapping it belongs to, its deadline and TCP history.
struct Engine::Session {
  std::uint32_t mapping;  // kNone: a free slot
  std::uint32_t expires;  // now_s_ at which it dies; the next free slot while free
  std::array<std::uint8_t, 16> remote;
  std::uint16_t remote_port;  // 0 for ICMP echo
  std::uint8_t tcp;           // kSyn*/kFin*/kRst/kMidstream
  std::uint8_t seen;           // a standby's: adopted since the active's snapshot began
};
static_assert(sizeof(Engine::Session) == 28);

// 36 bytes: the endpoint-independent mapping of one inside endpoint to one outside port.
struct Engine::Mapping {
  std::array<std::uint8_t, 16> inside;
  std::uint32_t identity;
  std::uint32_t peer;
  std::uint32_t refs;  // sessions using it; the next free slot while free
  std::uint16_t inside_port;
  std::uint16_t outside_port;
  std::uint16_t socket;  // index into sockets_
  std::uint8_t fp;       // family * 3 + protocol slot
  std::uint8_t live;
};
static_assert(sizeof(Engine::Mapping) == 36);

struct Engine::Socket {
  struct Block {
    bool owned = false;
    std::uint32_t owner = kNoId;
    std::uint32_t total = 0;  // ports in use over all families and protocols
    std::array<std::uint16_t, 6> used{};
    std::array<std::uint16_t, 6> cursor{};
  };
  SocketSettings cfg;
  bool dead = false;  // removed by a reload; its index stays taken
  std::uint32_t sessions = 0;
  std::vector<Block> blocks;
  std::array<PodArray<std::uint32_t>, 6> ports;  // per family/protocol: mapping index + 1, 0 free

  // A live socket: its range in blocks of `block_size` (the last one may be shorter).
  Socket(SocketSettings c, std::uint32_t block_size)
      : cfg(std::move(c)), blocks((cfg.ports.size() + block_size - 1) / block_size) {
    for (auto& p : ports) p = PodArray<std::uint32_t>(cfg.ports.size());
  }
  // The slot of a removed socket: no blocks, no ports, found by no lookup.
  Socket() : cfg{kNoId, std::nullopt, std::nullopt, {}, {}, {}}, dead(true) {}
  std::size_t mappings_of(std::uint8_t version) const {
    std::size_t n = 0;
    for (const auto& b : blocks)
      for (int s = 0; s < 3; ++s) n += b.used[fp_of(version, s)];
    return n;
  }
};

Index::Index(std::size_t entries) {
  std::size_t cap = 16;
  while (cap < entries * 2) cap <<= 1;
  slots_ = PodArray<Slot>(cap);
  mask_ = cap - 1;
}

void Index::insert(std::uint64_t hash, std::uint32_t index) {
  const std::uint32_t tag = static_cast<std::uint32_t>(hash);
  std::size_t i = tag & mask_;
  while (slots_[i].ref != 0) i = (i + 1) & mask_;
  slots_[i] = {index + 1, tag};
}

void Index::erase(std::uint64_t hash, std::uint32_t index) {
  const std::uint32_t tag = static_cast<std::uint32_t>(hash);
  std::size_t i = tag & mask_;
  while (slots_[i].ref != index + 1) {
    if (slots_[i].ref == 0) return;  // not there
    i = (i + 1) & mask_;
  }
  // Backward-shift deletion: pull later entries of the cluster into the hole when their home
  // slot does not lie cyclically in (hole, their position].
  for (std::size_t j = i;;) {
    j = (j + 1) & mask_;
    if (slots_[j].ref == 0) break;
    const std::size_t home = slots_[j].tag & mask_;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = {0, 0};
}

Engine::Engine(Metrics metrics, std::uint64_t seed)
    : metrics_(metrics), seed_(seed), events_(new SessionEvent[kEventRing]) {}

Engine::~Engine() = default;

std::size_t Engine::bytes_per_session() const {
  const std::size_t n = sessions_.size() ? sessions_.size() : 1;
  return (sessions_.size() * sizeof(Session) + mappings_.size() * sizeof(Mapping) + by_inside_.bytes() +
          by_outside_.bytes() + mapping_index_.bytes()) /
         n;
}

std::string label(const SocketSettings& s) {
  return s.name.empty() ? "socket " + std::to_string(s.id) : "socket '" + s.name + "'";
}

std::optional<SettingsError> Engine::configure(Settings next) {
  const bool live = mapping_count_ > 0;
  if (live && next.block_size != settings_.block_size)
    return SettingsError{"block_size", "cannot change while sessions are live: restart to apply it"};

  // Sockets: a kept socket keeps its index (sessions store it) and its blocks; a removed one must
  // hold no mapping; a new one takes a dead slot or a new index.
  std::vector<std::optional<Socket>> fresh(sockets_.size());  // built here, moved in on success
  std::vector<int> keep(sockets_.size(), 0);                  // 1: old state moved over
  std::vector<std::pair<std::size_t, std::size_t>> placed;    // (config position, index)
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    const Socket& old = sockets_[i];
    if (old.dead) continue;
    auto it = std::find_if(next.sockets.begin(), next.sockets.end(),
                           [&](const SocketSettings& s) { return s.id == old.cfg.id; });
    const bool busy4 = old.mappings_of(4) > 0, busy6 = old.mappings_of(6) > 0;
    if (it == next.sockets.end()) {
      if (busy4 || busy6)
        return SettingsError{"socket", label(old.cfg) + " has live sessions: removing it needs a restart"};
      continue;
    }
    if (busy4 && it->egress4 != old.cfg.egress4)
      return SettingsError{"socket", label(old.cfg) + " has live IPv4 sessions: changing egress4 needs a restart"};
    if (busy6 && it->egress6 != old.cfg.egress6)
      return SettingsError{"socket", label(old.cfg) + " has live IPv6 sessions: changing egress6 needs a restart"};
    // Sessions hold ports of the range as it was laid out: only an idle socket is laid out anew.
    if ((busy4 || busy6) && it->ports != old.cfg.ports)
      return SettingsError{"socket", label(*it) + ": egress_ports " + to_string(old.cfg.ports) + " -> " +
                                         to_string(it->ports) +
                                         " cannot change while sessions are live: restart to apply it"};
    placed.emplace_back(static_cast<std::size_t>(it - next.sockets.begin()), i);
    if (it->ports == old.cfg.ports && next.block_size == settings_.block_size) keep[i] = 1;
    else fresh[i].emplace(*it, next.block_size);
  }
  std::vector<std::optional<Socket>> added;
  std::size_t slots = sockets_.size();
  for (std::size_t c = 0; c < next.sockets.size(); ++c) {
    if (std::any_of(placed.begin(), placed.end(), [&](auto& p) { return p.first == c; })) continue;
    // Reuse a slot nobody keeps (a dead or removed socket) before growing.
    std::size_t at = slots;
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
      const bool taken = std::any_of(placed.begin(), placed.end(), [&](auto& p) { return p.second == i; });
      if (!taken && !fresh[i]) {
        at = i;
        break;
      }
    }
    if (at == slots) {
      ++slots;
      fresh.emplace_back();
      keep.push_back(0);
    }
    fresh[at].emplace(next.sockets[c], next.block_size);
    placed.emplace_back(c, at);
  }
  if (slots > 0xffff) return SettingsError{"socket", "too many sockets"};

  // Tables: grown (never shrunk) to max_sessions, re-indexed when they grow.
  const bool grow = next.max_sessions > sessions_.size();
  PodArray<Session> sessions;
  PodArray<Mapping> mappings;
  Index by_inside, by_outside, mapping_index;
  if (grow) {
    sessions = PodArray<Session>(next.max_sessions);
    mappings = PodArray<Mapping>(next.max_sessions);
    by_inside = Index(next.max_sessions);
    by_outside = Index(next.max_sessions);
    mapping_index = Index(next.max_sessions);
    if (session_high_) std::memcpy(sessions.data(), sessions_.data(), session_high_ * sizeof(Session));
    if (mapping_high_) std::memcpy(mappings.data(), mappings_.data(), mapping_high_ * sizeof(Mapping));
  }

  // Nothing can fail from here on.
  std::vector<Socket> next_sockets;
  next_sockets.reserve(slots);
  for (std::size_t i = 0; i < slots; ++i) {
    if (i < sockets_.size() && keep[i]) {
      Socket s = std::move(sockets_[i]);
      auto it = std::find_if(next.sockets.begin(), next.sockets.end(),
                             [&](const SocketSettings& c) { return c.id == s.cfg.id; });
      s.cfg = *it;
      next_sockets.push_back(std::move(s));
    } else if (fresh[i]) {
      next_sockets.push_back(std::move(*fresh[i]));
    } else {
      next_sockets.emplace_back();
    }
  }
  sockets_ = std::move(next_sockets);
  settings_ = std::move(next);
  if (grow) {
    sessions_ = std::move(sessions);
    mappings_ = std::move(mappings);
    by_inside_ = std::move(by_inside);
    by_outside_ = std::move(by_outside);
    mapping_index_ = std::move(mapping_index);
    for (std::uint32_t m = 0; m < mapping_high_; ++m) {
      const Mapping& mp = mappings_[m];
      if (!mp.live) continue;
      mapping_index_.insert(
          mapping_hash(mp.socket, mp.fp, from_raw(mp.inside, version_of(mp.fp)), mp.inside_port), m);
    }
    for (std::uint32_t s = 0; s < session_high_; ++s) {
      const Session& ss = sessions_[s];
      if (ss.mapping == kNone) continue;
      const Mapping& mp = mappings_[ss.mapping];
      const Address rem = from_raw(ss.remote, version_of(mp.fp));
      by_inside_.insert(inside_hash(mp.socket, mp.fp, from_raw(mp.inside, version_of(mp.fp)), mp.inside_port,
                                    rem, ss.remote_port),
                        s);
      by_outside_.insert(outside_hash(mp.socket, mp.fp, mp.outside_port, rem, ss.remote_port), s);
    }
  }
  return std::nullopt;
}

void Engine::set_clock(Time now, std::chrono::system_clock::time_point wall) {
  now_s_ = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + 1;
  wall_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count();
}

// ----- lookups -----

std::size_t Engine::socket_sessions(std::uint32_t id) const {
  const std::uint32_t si = find_socket(id);
  return si == kNone ? 0 : sockets_[si].sessions;
}

std::uint32_t Engine::find_socket(std::uint32_t id) const {
  for (std::uint32_t i = 0; i < sockets_.size(); ++i)
    if (!sockets_[i].dead && sockets_[i].cfg.id == id) return i;
  return kNone;
}

std::uint32_t Engine::socket_of_egress(const Address& a) const {
  for (std::uint32_t i = 0; i < sockets_.size(); ++i) {
    const auto& c = sockets_[i].cfg;
    if (sockets_[i].dead) continue;
    if ((c.egress4 && *c.egress4 == a) || (c.egress6 && *c.egress6 == a)) return i;
  }
  return kNone;
}

const Address* Engine::egress(std::uint16_t si, std::uint8_t version) const {
  const auto& c = sockets_[si].cfg;
  const auto& e = version == 4 ? c.egress4 : c.egress6;
  return e ? &*e : nullptr;
}

std::uint64_t Engine::inside_hash(std::uint16_t si, std::uint8_t fp, const Address& in, std::uint16_t iport,
                                  const Address& rem, std::uint16_t rport) const {
  return net::hash(net::Flow{in, rem, proto_of(fp), iport, rport}, seed_ ^ (std::uint64_t{si} << 8) ^ 1);
}
std::uint64_t Engine::outside_hash(std::uint16_t si, std::uint8_t fp, std::uint16_t oport, const Address& rem,
                                   std::uint16_t rport) const {
  return net::hash(net::Flow{Address{}, rem, proto_of(fp), oport, rport}, seed_ ^ (std::uint64_t{si} << 8) ^ 2);
}
std::uint64_t Engine::mapping_hash(std::uint16_t si, std::uint8_t fp, const Address& in,
                                   std::uint16_t iport) const {
  return net::hash(net::Flow{in, Address{}, proto_of(fp), iport, 0}, seed_ ^ (std::uint64_t{si} << 8) ^ 3);
}

std::uint32_t Engine::find_inside(std::uint16_t si, std::uint8_t fp, const Address& in, std::uint16_t iport,
                                  const Address& rem, std::uint16_t rport) const {
  return by_inside_.find(inside_hash(si, fp, in, iport, rem, rport), [&](std::uint32_t s) {
    const Session& ss = sessions_[s];
    const Mapping& m = mappings_[ss.mapping];
    return m.socket == si && m.fp == fp && m.inside_port == iport && ss.remote_port == rport &&
           m.inside == in.raw() && ss.remote == rem.raw();
  });
}

std::uint32_t Engine::find_outside(std::uint16_t si, std::uint8_t fp, std::uint16_t oport, const Address& rem,
                                   std::uint16_t rport) const {
  return by_outside_.find(outside_hash(si, fp, oport, rem, rport), [&](std::uint32_t s) {
    const Session& ss = sessions_[s];
    const Mapping& m = mappings_[ss.mapping];
    return m.socket == si && m.fp == fp && m.outside_port == oport && ss.remote_port == rport &&
           ss.remote == rem.raw();
  });
}

bool Engine::elsewhere(std::uint16_t si, std::uint16_t oport, Result& r) const {
  if (settings_.workers < 2) return false;
  const SocketSettings& c = sockets_[si].cfg;
  if ((oport >= c.ports.first && oport <= c.ports.last) || oport < c.whole.first || oport > c.whole.last) return false;
  r = {Verdict::elsewhere, Reason::none, static_cast<std::uint8_t>(c.whole.share_of(oport, settings_.workers))};
  return true;
}

std::uint32_t Engine::mapping_at(std::uint16_t si, std::uint8_t fp, std::uint16_t oport) const {
  const PortRange r = sockets_[si].cfg.ports;
  if (oport < r.first || oport > r.last) return kNone;
  const std::uint32_t v = sockets_[si].ports[fp][oport - r.first];
  return v == 0 ? kNone : v - 1;
}

// ----- ports -----

std::uint32_t Engine::allocate_port(std::uint16_t si, std::uint8_t fp, std::uint32_t identity,
                                    std::uint16_t want) {
  Socket& S = sockets_[si];
  const std::uint32_t first = S.cfg.ports.first, bs = settings_.block_size;
  const std::uint32_t range = S.cfg.ports.size();
  const auto nblocks = static_cast<std::uint32_t>(S.blocks.size());
  auto len_of = [&](std::uint32_t b) { return std::min(bs, range - b * bs); };
  // A free port of block b: `want` itself, else the next free one after it (or after the
  // block's cursor when `want` lies elsewhere).
  auto take = [&](std::uint32_t b, std::uint32_t want_port) -> std::uint32_t {
    auto& B = S.blocks[b];
    const std::uint32_t len = len_of(b), base = b * bs;
    if (B.used[fp] >= len) return kNone;
    auto& ports = S.ports[fp];
    std::uint32_t start = B.cursor[fp];
    if (want_port >= first + base && want_port < first + base + len) start = want_port - first - base;
    for (std::uint32_t k = 0; k < len; ++k) {
      const std::uint32_t off = (start + k) % len;
      if (ports[base + off] == 0) {
        B.cursor[fp] = static_cast<std::uint16_t>((off + 1) % len);
        return first + base + off;
      }
    }
    return kNone;
  };
  auto claim = [&](std::uint32_t b) { claim_block(si, b, identity); };
  const bool in_range = want >= first && want <= S.cfg.ports.last;
  const std::uint32_t wb = in_range ? (want - first) / bs : kNone;
  // 1. Port preservation (or the next free port) in the wanted port's block, if it is ours.
  if (wb != kNone && S.blocks[wb].owned && S.blocks[wb].owner == identity) {
    if (auto p = take(wb, want); p != kNone) return p;
  }
  // 2. Any other block this identity holds.
  for (std::uint32_t b = 0; b < nblocks; ++b) {
    if (b == wb || !S.blocks[b].owned || S.blocks[b].owner != identity) continue;
    if (auto p = take(b, kNone); p != kNone) return p;
  }
  // 3. A new block: the wanted port's if it is free (so the port is preserved), else the first free.
  if (wb != kNone && !S.blocks[wb].owned) {
    claim(wb);
    return take(wb, want);
  }
  for (std::uint32_t b = 0; b < nblocks; ++b) {
    if (S.blocks[b].owned) continue;
    claim(b);
    return take(b, kNone);
  }
  return kNone;
}

void Engine::claim_block(std::uint16_t si, std::uint32_t block, std::uint32_t identity) {
  auto& B = sockets_[si].blocks[block];
  B = Socket::Block{};
  B.owned = true;
  B.owner = identity;
  metrics_.blocks.add(1);
}

void Engine::release_port(std::uint16_t si, std::uint8_t fp, std::uint16_t oport) {
  Socket& S = sockets_[si];
  const std::uint32_t off = oport - S.cfg.ports.first;
  S.ports[fp][off] = 0;
  auto& B = S.blocks[off / settings_.block_size];
  --B.used[fp];
  if (--B.total == 0) {
    B.owned = false;
    metrics_.blocks.add(-1);
  }
}

// ----- sessions -----

std::uint32_t Engine::create(std::uint16_t si, std::uint8_t fp, const Address& in, std::uint16_t iport,
                             const Address& rem, std::uint16_t rport, const Meta& meta, Reason& why) {
  if (session_count_ >= settings_.max_sessions || session_count_ >= sessions_.size()) {
    why = Reason::table_full;
    return kNone;
  }
  std::uint32_t mi = find_mapping(si, fp, in, iport);
  if (mi == kNone) {
    const std::uint32_t port = allocate_port(si, fp, meta.identity, iport);
    if (port == kNone) {
      why = Reason::ports_exhausted;
      return kNone;
    }
    mi = new_mapping(si, fp, in, iport, meta, static_cast<std::uint16_t>(port));
  }
  return attach(mi, rem, rport);
}

std::uint32_t Engine::find_mapping(std::uint16_t si, std::uint8_t fp, const Address& in, std::uint16_t iport) const {
  return mapping_index_.find(mapping_hash(si, fp, in, iport), [&](std::uint32_t m) {
    const Mapping& mp = mappings_[m];
    return mp.socket == si && mp.fp == fp && mp.inside_port == iport && mp.inside == in.raw();
  });
}

// The mapping of an inside endpoint to `port`, a free port of a block its identity holds.
std::uint32_t Engine::new_mapping(std::uint16_t si, std::uint8_t fp, const Address& in, std::uint16_t iport,
                                  const Meta& meta, std::uint16_t port) {
  std::uint32_t mi;
  if (mapping_free_ != kNone) {
    mi = mapping_free_;
    mapping_free_ = mappings_[mi].refs;
  } else {
    mi = mapping_high_++;
  }
  Mapping& m = mappings_[mi];
  m.inside = in.raw();
  m.identity = meta.identity;
  m.peer = meta.peer;
  m.refs = 0;
  m.inside_port = iport;
  m.outside_port = port;
  m.socket = si;
  m.fp = fp;
  m.live = 1;
  Socket& S = sockets_[si];
  const std::uint32_t off = port - S.cfg.ports.first;
  S.ports[fp][off] = mi + 1;
  auto& B = S.blocks[off / settings_.block_size];
  ++B.used[fp];
  ++B.total;
  mapping_index_.insert(mapping_hash(si, fp, in, iport), mi);
  ++mapping_count_;
  return mi;
}

std::uint32_t Engine::attach(std::uint32_t mi, const Address& rem, std::uint16_t rport) {
  std::uint32_t s;
  if (session_free_ != kNone) {
    s = session_free_;
    session_free_ = sessions_[s].expires;
  } else {
    s = session_high_++;
  }
  Mapping& m = mappings_[mi];
  ++m.refs;
  Session& ss = sessions_[s];
  ss.mapping = mi;
  ss.expires = now_s_;
  ss.remote = rem.raw();
  ss.remote_port = rport;
  ss.tcp = 0;
  ss.seen = 0;
  const Address in = from_raw(m.inside, version_of(m.fp));
  by_inside_.insert(inside_hash(m.socket, m.fp, in, m.inside_port, rem, rport), s);
  by_outside_.insert(outside_hash(m.socket, m.fp, m.outside_port, rem, rport), s);
  ++session_count_;
  ++sockets_[m.socket].sessions;
  metrics_.sessions[m.fp % 3].add(1);
  metrics_.created.add();
  event(true, ss);
  if (recording_) change(true, s);
  return s;
}

void Engine::remove(std::uint32_t s) {
  Session& ss = sessions_[s];
  const std::uint32_t mi = ss.mapping;
  Mapping& m = mappings_[mi];
  event(false, ss);
  if (recording_) change(false, s);
  const Address rem = from_raw(ss.remote, version_of(m.fp));
  const Address in = from_raw(m.inside, version_of(m.fp));
  by_inside_.erase(inside_hash(m.socket, m.fp, in, m.inside_port, rem, ss.remote_port), s);
  by_outside_.erase(outside_hash(m.socket, m.fp, m.outside_port, rem, ss.remote_port), s);
  metrics_.sessions[m.fp % 3].add(-1);
  --sockets_[m.socket].sessions;
  if (--m.refs == 0) {
    mapping_index_.erase(mapping_hash(m.socket, m.fp, in, m.inside_port), mi);
    release_port(m.socket, m.fp, m.outside_port);
    m.live = 0;
    m.refs = mapping_free_;
    mapping_free_ = mi;
    --mapping_count_;
  }
  ss.mapping = kNone;
  ss.expires = session_free_;
  session_free_ = s;
  --session_count_;
}

// Deadlines. TCP follows RFC 5382: established (SYN seen both ways, not both FINs, no RST) gets
// tcp_established, anything else tcp_transitory; packets both ways refresh it. A session picked up
// mid-stream (first packet not a SYN) counts as established once the outside answers. UDP (RFC
// 4787 REQ-6) and ICMP echo are refreshed by outbound packets only.
void Engine::refresh(Session& s, std::uint8_t flags, bool out) {
  const Mapping& m = mappings_[s.mapping];
  const int slot = m.fp % 3;
  if (slot == 0) {
    const std::uint8_t before = s.tcp;
    if ((flags & net::tcpflag::syn) && !(flags & net::tcpflag::ack) && out && (s.tcp & (kRst | kFinOut | kFinIn)))
      s.tcp = 0;  // a new connection on the same tuple
    if (flags & net::tcpflag::rst) s.tcp |= kRst;
    if (flags & net::tcpflag::syn) s.tcp |= out ? kSynOut : kSynIn;
    if (flags & net::tcpflag::fin) s.tcp |= out ? kFinOut : kFinIn;
    if (!out && (s.tcp & kMidstream) && !(flags & net::tcpflag::rst)) s.tcp |= kSynOut | kSynIn;
    if (recording_ && s.tcp != before) change(true, static_cast<std::uint32_t>(&s - &sessions_[0]));
  } else if (!out) {
    return;
  }
  s.expires = now_s_ + static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(lifetime(s)).count());
}

Duration Engine::lifetime(const Session& s) const {
  const int slot = mappings_[s.mapping].fp % 3;
  if (slot == 1) return settings_.udp;
  if (slot == 2) return settings_.icmp;
  const bool established = (s.tcp & (kSynOut | kSynIn)) == (kSynOut | kSynIn) && !(s.tcp & kRst) &&
                           (s.tcp & (kFinOut | kFinIn)) != (kFinOut | kFinIn);
  return established ? settings_.tcp_established : settings_.tcp_transitory;
}

void Engine::sweep() {
  if (session_high_ == 0 || standby_) return;  // a standby's sessions end when the active's do
  std::uint32_t budget = std::min<std::uint32_t>(session_high_, session_high_ / kSweepsPerPass + 64);
  for (; budget > 0; --budget) {
    if (sweep_cursor_ >= session_high_) sweep_cursor_ = 0;
    const std::uint32_t s = sweep_cursor_++;
    const Session& ss = sessions_[s];
    if (ss.mapping != kNone && ss.expires <= now_s_) {
      remove(s);
      metrics_.expired.add();
    }
  }
}

void Engine::event(bool start, const Session& s) {
  const Mapping& m = mappings_[s.mapping];
  const std::uint8_t v = version_of(m.fp);
  if (event_head_ - event_tail_ == kEventRing) {
    ++event_tail_;
    ++events_lost_;
  }
  SessionEvent& e = events_[event_head_++ % kEventRing];
  e.wall_ns = wall_ns_;
  e.start = start;
  e.replicated = standby_;
  e.protocol = proto_of(m.fp);
  e.identity = m.identity;
  e.socket = sockets_[m.socket].cfg.id;
  e.inside = from_raw(m.inside, v);
  e.remote = from_raw(s.remote, v);
  const Address* eg = egress(m.socket, v);
  e.outside = eg ? *eg : Address{};
  e.inside_port = m.inside_port;
  e.remote_port = s.remote_port;
  e.outside_port = m.outside_port;
}

// ----- a pair's replication -----

void Engine::record_changes(bool on) {
  if (on && !changes_) changes_.reset(new SessionChange[kChangeRing]);
  recording_ = on;
}

SessionState Engine::state_of(std::uint32_t s) const {
  const Session& ss = sessions_[s];
  const Mapping& m = mappings_[ss.mapping];
  const std::uint8_t v = version_of(m.fp);
  SessionState st;
  st.socket = sockets_[m.socket].cfg.id;
  st.version = v;
  st.protocol = proto_of(m.fp);
  st.tcp = ss.tcp;
  st.identity = m.identity;
  st.peer = m.peer;
  st.inside = from_raw(m.inside, v);
  st.remote = from_raw(ss.remote, v);
  st.inside_port = m.inside_port;
  st.remote_port = ss.remote_port;
  st.outside_port = m.outside_port;
  return st;
}

void Engine::each_session(const std::function<void(const SessionState&)>& f) const {
  each_session_from(0, session_high_, f);
}

std::uint32_t Engine::each_session_from(std::uint32_t from, std::size_t most,
                                        const std::function<void(const SessionState&)>& f) const {
  std::uint32_t s = from;
  for (; s < session_high_ && most > 0; ++s)
    if (sessions_[s].mapping != kNone) {
      f(state_of(s));
      --most;
    }
  return s < session_high_ ? s : kNone;
}

std::uint64_t Engine::digest() const {
  // splitmix64's finalizer over the state's fields, folded one after another; summed, so the
  // order of the slots does not matter.
  auto mix = [](std::uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  std::uint64_t sum = 0;
  each_session([&](const SessionState& st) {
    std::uint64_t h = mix((std::uint64_t{st.socket} << 32) | (std::uint64_t{st.version} << 24) |
                          (std::uint64_t{st.protocol} << 16) | (std::uint64_t{st.tcp} << 8));
    h = mix(h ^ ((std::uint64_t{st.identity} << 32) | st.peer));
    for (const net::Address* a : {&st.inside, &st.remote})
      for (std::uint8_t b : a->bytes()) h = mix(h ^ b);
    h = mix(h ^ ((std::uint64_t{st.inside_port} << 32) | (std::uint64_t{st.remote_port} << 16) | st.outside_port));
    sum += h;
  });
  return sum;
}

void Engine::change(bool up, std::uint32_t s) {
  // A session made and its state moved by the same packet (a TCP SYN) is one change, not two.
  if (up && change_head_ != change_tail_ && last_changed_ == s && changes_[(change_head_ - 1) % kChangeRing].up) {
    changes_[(change_head_ - 1) % kChangeRing].state.tcp = sessions_[s].tcp;
    return;
  }
  last_changed_ = s;
  if (change_head_ - change_tail_ == kChangeRing) {  // the link fell behind: it sends everything again
    ++change_tail_;
    changes_lost_ = true;
  }
  changes_[change_head_++ % kChangeRing] = {up, state_of(s)};
}

bool Engine::adopt(const SessionState& st) {
  const std::uint32_t si = find_socket(st.socket);
  const int slot = proto_slot(st.version, st.protocol);
  const std::size_t size = st.version == 4 ? 4 : 16;
  if (si == kNone || slot < 0 || (st.version != 4 && st.version != 6) || st.inside.size() != size ||
      st.remote.size() != size)
    return false;
  const std::uint8_t fp = fp_of(st.version, slot);
  const Socket& S = sockets_[si];
  if (st.outside_port < S.cfg.ports.first || st.outside_port > S.cfg.ports.last) return false;
  std::uint32_t s = find_inside(static_cast<std::uint16_t>(si), fp, st.inside, st.inside_port, st.remote, st.remote_port);
  if (s != kNone) {  // held already: its TCP state moved on
    if (mappings_[sessions_[s].mapping].outside_port != st.outside_port) return false;
    sessions_[s].tcp = st.tcp;
    sessions_[s].seen = 1;
    return true;
  }
  if (session_count_ >= settings_.max_sessions || session_count_ >= sessions_.size()) return false;
  std::uint32_t mi = find_mapping(static_cast<std::uint16_t>(si), fp, st.inside, st.inside_port);
  if (mi != kNone && mappings_[mi].outside_port != st.outside_port) return false;
  if (mi == kNone) {
    if (mapping_at(static_cast<std::uint16_t>(si), fp, st.outside_port) != kNone) return false;  // another's port
    const std::uint32_t block = (st.outside_port - S.cfg.ports.first) / settings_.block_size;
    const Socket::Block& B = S.blocks[block];
    if (B.owned && B.owner != st.identity) return false;  // another identity's block
    if (!B.owned) claim_block(static_cast<std::uint16_t>(si), block, st.identity);
    Meta meta;
    meta.identity = st.identity;
    meta.peer = st.peer;
    mi = new_mapping(static_cast<std::uint16_t>(si), fp, st.inside, st.inside_port, meta, st.outside_port);
  }
  s = attach(mi, st.remote, st.remote_port);
  sessions_[s].tcp = st.tcp;
  sessions_[s].seen = 1;
  sessions_[s].expires = now_s_ + static_cast<std::uint32_t>(
                                      std::chrono::duration_cast<std::chrono::seconds>(lifetime(sessions_[s])).count());
  return true;
}

void Engine::forget(const SessionState& st) {
  const std::uint32_t si = find_socket(st.socket);
  const int slot = proto_slot(st.version, st.protocol);
  if (si == kNone || slot < 0) return;
  const std::uint32_t s = find_inside(static_cast<std::uint16_t>(si), fp_of(st.version, slot), st.inside,
                                      st.inside_port, st.remote, st.remote_port);
  if (s != kNone) remove(s);
}

void Engine::begin_snapshot() {
  for (std::uint32_t s = 0; s < session_high_; ++s) sessions_[s].seen = 0;
}

void Engine::end_snapshot() {
  for (std::uint32_t s = 0; s < session_high_; ++s)
    if (sessions_[s].mapping != kNone && !sessions_[s].seen) remove(s);
}

void Engine::set_standby(bool standby) {
  if (standby_ && !standby)  // taking over: a whole lifetime each, from now
    for (std::uint32_t s = 0; s < session_high_; ++s)
      if (sessions_[s].mapping != kNone)
        sessions_[s].expires = now_s_ + static_cast<std::uint32_t>(
                                            std::chrono::duration_cast<std::chrono::seconds>(lifetime(sessions_[s])).count());
  standby_ = standby;
}

// ----- packets -----

Result Engine::process(Packet& p, Direction d) { return process(p.bytes(), p.meta, d); }

Result Engine::process(std::span<std::uint8_t> bytes, Meta& meta, Direction d) {
  const auto r = net::parse_packet(bytes);
  if (!r) return {Verdict::drop, Reason::malformed};
  // Non-first fragments carry no ports, so they cannot be matched to a session. Reassembly (or a
  // fragment-id table following the first fragment) is future work; until then they are dropped.
  if (r.info.non_first_fragment) return {Verdict::drop, Reason::fragment};
  // Work on the IP datagram only: trailing padding is left untouched.
  const auto b = bytes.first(r.info.packet_end());
  return d == Direction::outbound ? outbound(b, r.info, meta) : inbound(b, r.info, meta);
}

Result Engine::outbound(std::span<std::uint8_t> b, const PacketInfo& info, Meta& meta) {
  const std::uint32_t si = find_socket(meta.socket == kNoId ? settings_.default_socket : meta.socket);
  if (si == kNone) return {Verdict::drop, Reason::unknown_socket};
  const Address* eg = egress(static_cast<std::uint16_t>(si), info.version);
  if (!eg) return {Verdict::drop, Reason::no_egress_address};
  const int slot = proto_slot(info.version, info.protocol);
  if (slot < 0) return {Verdict::drop, Reason::unsupported_protocol};
  if (slot == 2) {
    if (is_error(info.version, info.icmp_type)) return outbound_error(b, info, static_cast<std::uint16_t>(si));
    const std::uint8_t request = info.version == 4 ? net::icmp4::echo_request : net::icmp6::echo_request;
    // Echo replies would answer an inbound request, which never has a session.
    if (!info.has_icmp_id || info.icmp_type != request) return {Verdict::drop, Reason::unsupported_protocol};
  }
  const std::uint8_t fp = fp_of(info.version, slot);
  const std::uint16_t iport = slot == 2 ? info.icmp_id : info.src_port;
  const std::uint16_t rport = slot == 2 ? 0 : info.dst_port;
  const auto s16 = static_cast<std::uint16_t>(si);

  // Hairpinning: TCP/UDP to a port of an egress address that has a live mapping (here, or
  // possibly on the worker whose share holds it).
  std::uint32_t target = kNone;
  Result handed{Verdict::pass};
  if (slot != 2) {
    target = socket_of_egress(info.dst);
    if (target != kNone && mapping_at(static_cast<std::uint16_t>(target), fp, info.dst_port) == kNone) {
      elsewhere(static_cast<std::uint16_t>(target), info.dst_port, handed);
      target = kNone;
    }
  }

  std::uint32_t s = find_inside(s16, fp, info.src, iport, info.dst, rport);
  if (s == kNone) {
    Reason why = Reason::none;
    s = create(s16, fp, info.src, iport, info.dst, rport, meta, why);
    if (s == kNone) return {Verdict::prohibit, why};
    if (slot == 0 && !(info.tcp_flags & net::tcpflag::syn)) sessions_[s].tcp |= kMidstream;
  }
  Session& ss = sessions_[s];
  Mapping& m = mappings_[ss.mapping];
  m.peer = meta.peer;
  refresh(ss, info.tcp_flags, true);
  rewrite(b, info.version, info.l4_offset, slot, true, *eg, m.outside_port, nullptr);
  metrics_.translations[0].add();
  if (target != kNone) return hairpin(b, meta, static_cast<std::uint16_t>(target));
  return handed;
}

// The outbound leg is done; now the packet arrives at the target mapping as if from outside, with
// the same filtering (RFC 4787 REQ-9, RFC 5382 REQ-8: hairpinned packets show the outside
// address and port of their source).
Result Engine::hairpin(std::span<std::uint8_t> b, Meta& meta, std::uint16_t target) {
  const auto r = net::parse_packet(b);
  if (!r) return {Verdict::drop, Reason::malformed};
  // The packet's destination is now known to be `target`'s egress address: inbound() finds it.
  if (socket_of_egress(r.info.dst) != target) return {Verdict::drop, Reason::no_session};
  const Result res = inbound(b, r.info, meta);
  return res.verdict == Verdict::pass ? Result{Verdict::hairpin} : res;
}

Result Engine::inbound(std::span<std::uint8_t> b, const PacketInfo& info, Meta& meta) {
  const std::uint32_t si = socket_of_egress(info.dst);
  if (si == kNone) return {Verdict::drop, Reason::no_session};
  const auto s16 = static_cast<std::uint16_t>(si);
  const int slot = proto_slot(info.version, info.protocol);
  if (slot < 0) return {Verdict::drop, Reason::unsupported_protocol};
  if (slot == 2) {
    if (is_error(info.version, info.icmp_type)) return inbound_error(b, info, s16, meta);
    const std::uint8_t reply = info.version == 4 ? net::icmp4::echo_reply : net::icmp6::echo_reply;
    if (!info.has_icmp_id) return {Verdict::drop, Reason::unsupported_protocol};
    if (info.icmp_type != reply) return {Verdict::drop, Reason::no_session};
  }
  const std::uint8_t fp = fp_of(info.version, slot);
  const std::uint16_t oport = slot == 2 ? info.icmp_id : info.dst_port;
  const std::uint16_t rport = slot == 2 ? 0 : info.src_port;
  std::uint32_t s = find_outside(s16, fp, oport, info.src, rport);
  if (s == kNone) {
    if (Result r{Verdict::drop}; elsewhere(s16, oport, r)) return r;
    // Address-and-port-dependent filtering (RFC 4787 REQ-8 allows it) admits only packets from
    // a remote endpoint the mapping has sent to; endpoint-independent filtering admits anyone.
    const std::uint32_t mi = mapping_at(s16, fp, oport);
    if (settings_.filtering != Filtering::endpoint_independent || mi == kNone)
      return {Verdict::drop, Reason::no_session};
    if (session_count_ >= settings_.max_sessions || session_count_ >= sessions_.size())
      return {Verdict::drop, Reason::table_full};
    s = attach(mi, info.src, rport);
  }
  Session& ss = sessions_[s];
  const Mapping& m = mappings_[ss.mapping];
  refresh(ss, info.tcp_flags, false);
  rewrite(b, info.version, info.l4_offset, slot, false, from_raw(m.inside, info.version), m.inside_port, nullptr);
  meta.socket = sockets_[si].cfg.id;
  meta.identity = m.identity;
  meta.peer = m.peer;
  metrics_.translations[1].add();
  return {Verdict::pass};
}

namespace {

// The quoted packet of an ICMP error, and the session it is about.
struct Quote {
  std::span<std::uint8_t> bytes;
  PacketInfo info;
  int slot = -1;
};

bool quote_of(std::span<std::uint8_t> b, const PacketInfo& outer, Quote& q) {
  const std::size_t off = outer.l4_offset + net::icmp_header_len;
  if (off >= b.size()) return false;
  q.bytes = b.subspan(off);
  const auto r = net::parse_embedded(q.bytes);
  if (!r || r.info.version != outer.version || r.info.non_first_fragment) return false;
  q.info = r.info;
  q.slot = proto_slot(q.info.version, q.info.protocol);
  if (q.slot < 0) return false;
  if (q.slot == 2 && !q.info.has_icmp_id) return false;
  return q.slot == 2 || q.info.has_ports;
}

}  // namespace

// An ICMP error from outside about a packet we sent (RFC 5508 REQ-3): the quote holds our
// translated packet (source = egress:outside port); put the inside endpoint back in it and in the
// outer destination.
Result Engine::inbound_error(std::span<std::uint8_t> b, const PacketInfo& info, std::uint16_t si, Meta& meta) {
  Quote q;
  if (!quote_of(b, info, q)) return {Verdict::drop, Reason::no_session};
  if (q.info.src != info.dst) return {Verdict::drop, Reason::no_session};
  const std::uint8_t fp = fp_of(info.version, q.slot);
  const std::uint16_t oport = q.slot == 2 ? q.info.icmp_id : q.info.src_port;
  const std::uint16_t rport = q.slot == 2 ? 0 : q.info.dst_port;
  const std::uint32_t s = find_outside(si, fp, oport, q.info.dst, rport);
  if (Result r{Verdict::drop}; s == kNone && elsewhere(si, oport, r)) return r;
  if (s == kNone) return {Verdict::drop, Reason::no_session};
  const Session& ss = sessions_[s];
  const Mapping& m = mappings_[ss.mapping];
  const Address in = from_raw(m.inside, info.version);

  std::uint16_t icmp = ld16(b, info.l4_offset + net::icmp_checksum_offset);
  rewrite(q.bytes, q.info.version, q.info.l4_offset, q.slot, true, in, m.inside_port, &icmp);
  // The outer destination: IPv4 header checksum, or the ICMPv6 pseudo-header.
  const std::size_t aoff = addr_offset(info.version, false);
  const auto old = info.dst;
  if (info.version == 4) {
    st16(b, net::ipv4_checksum_offset, net::update_addr(ld16(b, net::ipv4_checksum_offset), old, in));
  } else {
    icmp = net::update_addr(icmp, old, in);
  }
  std::memcpy(b.data() + aoff, in.bytes().data(), in.size());
  st16(b, info.l4_offset + net::icmp_checksum_offset, icmp);
  meta.socket = sockets_[si].cfg.id;
  meta.identity = m.identity;
  meta.peer = m.peer;
  metrics_.translations[1].add();
  return {Verdict::pass};
}

// An ICMP error from a client about a packet it received through us: the quote holds the packet
// as we delivered it (destination = inside endpoint); show the outside endpoint instead, and send
// the error from the egress address.
Result Engine::outbound_error(std::span<std::uint8_t> b, const PacketInfo& info, std::uint16_t si) {
  Quote q;
  if (!quote_of(b, info, q)) return {Verdict::drop, Reason::no_session};
  const std::uint8_t fp = fp_of(info.version, q.slot);
  const std::uint16_t iport = q.slot == 2 ? q.info.icmp_id : q.info.dst_port;
  const std::uint16_t rport = q.slot == 2 ? 0 : q.info.src_port;
  const std::uint32_t s = find_inside(si, fp, q.info.dst, iport, q.info.src, rport);
  if (s == kNone) return {Verdict::drop, Reason::no_session};
  const Mapping& m = mappings_[sessions_[s].mapping];
  const Address& eg = *egress(si, info.version);

  std::uint16_t icmp = ld16(b, info.l4_offset + net::icmp_checksum_offset);
  rewrite(q.bytes, q.info.version, q.info.l4_offset, q.slot, false, eg, m.outside_port, &icmp);
  const std::size_t aoff = addr_offset(info.version, true);
  const auto old = info.src;
  if (info.version == 4) {
    st16(b, net::ipv4_checksum_offset, net::update_addr(ld16(b, net::ipv4_checksum_offset), old, eg));
  } else {
    icmp = net::update_addr(icmp, old, eg);
  }
  std::memcpy(b.data() + aoff, eg.bytes().data(), eg.size());
  st16(b, info.l4_offset + net::icmp_checksum_offset, icmp);
  metrics_.translations[0].add();
  return {Verdict::pass};
}

const Address* Engine::answer_from(const Meta& meta, std::uint8_t version) const {
  const std::uint32_t si = find_socket(meta.socket == kNoId ? settings_.default_socket : meta.socket);
  return si == kNone ? nullptr : egress(static_cast<std::uint16_t>(si), version);
}

}  // namespace waygate::nat
