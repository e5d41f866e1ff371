// The NAT's translation engine: NAPT (RFC 4787 UDP, RFC 5382 TCP, RFC 5508 ICMP) for IPv4 and
// NAT66, with per-identity port blocks. It knows nothing of the host: the plugin (nat.cpp) hands
// it packets, the clock and counter handles; the fuzz target and the benchmark drive it directly.
//
// Tables (all plain zeroed arrays, sized from max_sessions at configure time, so the hot path
// never allocates; untouched pages cost no memory):
//  * sessions_: one 28-byte Session per (mapping, remote endpoint); free slots form a list.
//  * mappings_: one Mapping per (socket, family, protocol, inside address, inside port): the
//    endpoint-independent mapping to an outside port (RFC 4787 REQ-1), shared by its sessions.
//  * by_inside_ / by_outside_: open-addressing (linear probing, backward-shift deletion) indexes of
//    sessions by their inside 5-tuple and by their outside one, 8 bytes a slot, load <= 1/2.
//  * mapping_index_: the same kind of index for mappings by inside endpoint.
//  * per socket, per family and protocol, an array over the socket's port range giving the mapping
//    that holds each outside port (port allocation and hairpin/endpoint-independent lookups).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "waygate/counters.hpp"
#include "waygate/directory.hpp"
#include "waygate/net/headers.hpp"
#include "waygate/packet.hpp"
#include "waygate/timer.hpp"

namespace waygate::nat {

// Why a packet was not translated. The names (reason_name) are the drop counter labels.
enum class Reason : std::uint8_t {
  none,
  malformed,
  fragment,
  unsupported_protocol,
  no_session,
  ports_exhausted,
  table_full,
  no_egress_address,
  unknown_socket,
  count
};
const char* reason_name(Reason r);

enum class Filtering : std::uint8_t { address_and_port_dependent, endpoint_independent };

struct SocketSettings {
  std::uint32_t id = 0;
  std::optional<net::Address> egress4;
  std::optional<net::Address> egress6;
  PortRange ports;   // the outside ports of its sessions: the directory socket's egress_ports
  std::string name;  // the directory socket's, for messages; "" names it by id
  // With more than one worker, `ports` is this worker's share of `whole` (PortRange::share), and a
  // packet for a port of another share is that worker's; with one, the same as `ports`.
  PortRange whole;
};

// "socket 'corporate-exit'", or "socket 5" for one the directory does not name: for messages.
std::string label(const SocketSettings& s);

struct Settings {
  std::uint32_t block_size = 512;  // every socket's range holds at least one block
  std::uint32_t max_sessions = 1000000;
  std::uint32_t default_socket = 0;
  Filtering filtering = Filtering::address_and_port_dependent;
  Duration tcp_established = std::chrono::minutes(124);
  Duration tcp_transitory = std::chrono::minutes(4);
  Duration udp = std::chrono::minutes(2);
  Duration icmp = std::chrono::seconds(60);
  unsigned workers = 1;  // how many share each socket's ports (SocketSettings::whole)
  std::vector<SocketSettings> sockets;
};

// A reload the engine cannot take: `key` names the config key at fault ("" for the table).
struct SettingsError {
  std::string key;
  std::string message;
};

// Counter handles; every one must be bound before the engine sees a packet.
struct Metrics {
  std::array<Gauge, 3> sessions;         // by protocol: tcp, udp, icmp
  std::array<Counter, 2> translations;   // by direction: outbound, inbound
  Counter created;
  Counter expired;
  Gauge blocks;
};

// Metrics backed by slots of their own, exported nowhere: for driving an Engine without a host
// (the benchmark, the fuzz target).
struct LocalMetrics {
  std::array<std::atomic<std::uint64_t>, 8> slots{};
  Metrics metrics() {
    Metrics m;
    for (std::size_t i = 0; i < 3; ++i) m.sessions[i] = Gauge(&slots[i]);
    m.translations = {Counter(&slots[3]), Counter(&slots[4])};
    m.created = Counter(&slots[5]);
    m.expired = Counter(&slots[6]);
    m.blocks = Gauge(&slots[7]);
    return m;
  }
};

// What to do with a packet after process().
enum class Verdict : std::uint8_t {
  pass,      // translated: pass it on
  hairpin,   // translated both ways: send it back inside (Output::reply)
  drop,      // drop with the reason
  prohibit,  // drop with the reason, and answer with an ICMP "administratively prohibited"
  // Another worker holds the outside port it comes in for (or, hairpinned, goes to): hand it over
  // to `worker`, untouched (or translated outbound), to be processed there inbound.
  elsewhere,
};

struct Result {
  Verdict verdict;
  Reason reason = Reason::none;
  std::uint8_t worker = 0;  // for Verdict::elsewhere
};

// One session start or end, for the NAT log. See Engine::drain_events.
struct SessionEvent {
  std::int64_t wall_ns = 0;  // system_clock, since the Unix epoch
  bool start = true;
  bool replicated = false;  // held by a pair's standby: the active translated it
  std::uint8_t protocol = 0;
  std::uint32_t identity = kNoId;
  std::uint32_t socket = 0;
  net::Address inside;
  net::Address remote;
  net::Address outside;
  std::uint16_t inside_port = 0;
  std::uint16_t remote_port = 0;
  std::uint16_t outside_port = 0;
};

// One session as a connector pair's replication carries it (replication.hpp puts it on the wire):
// what the standby needs to translate the session's packets as the active did, through the same
// outside port.
struct SessionState {
  std::uint32_t socket = 0;   // the directory socket's id
  std::uint8_t version = 4;   // 4 or 6
  std::uint8_t protocol = 0;  // tcp, udp, icmp or icmpv6
  std::uint8_t tcp = 0;       // the TCP tracking's bits (RFC 5382), as the active has them
  std::uint32_t identity = kNoId;
  std::uint32_t peer = kNoId;
  net::Address inside;
  net::Address remote;
  std::uint16_t inside_port = 0;
  std::uint16_t remote_port = 0;  // 0 for ICMP echo
  std::uint16_t outside_port = 0;
  friend bool operator==(const SessionState&, const SessionState&) = default;
};

// A change of the active's table, for the standby: a session made or its TCP state changed
// (`up`), or a session gone.
struct SessionChange {
  bool up = true;
  SessionState state;
};

// Zeroed storage for trivially copyable records, committed page by page as it is touched: large
// arrays are anonymous mappings with transparent huge pages requested (random lookups in a
// table of a million sessions spend most of their time on TLB misses otherwise).
void* zeroed_alloc(std::size_t bytes);
void zeroed_free(void* p, std::size_t bytes);

template <class T>
class PodArray {
 public:
  PodArray() = default;
  explicit PodArray(std::size_t n) : p_(n ? static_cast<T*>(zeroed_alloc(n * sizeof(T))) : nullptr), n_(n) {}
  PodArray(PodArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  PodArray& operator=(PodArray&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  PodArray(const PodArray&) = delete;
  PodArray& operator=(const PodArray&) = delete;
  ~PodArray() {
    if (p_) zeroed_free(p_, n_ * sizeof(T));
  }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }
  std::size_t size() const { return n_; }
  T* data() { return p_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// Open addressing index: slots of (index + 1, low 32 hash bits); 0 is empty.
class Index {
 public:
  struct Slot {
    std::uint32_t ref;  // index + 1
    std::uint32_t tag;  // low hash bits; the home slot is tag & mask
  };
  Index() = default;
  explicit Index(std::size_t entries);  // room for `entries` at load <= 1/2
  template <class Match>
  std::uint32_t find(std::uint64_t hash, Match&& match) const {
    const std::uint32_t tag = static_cast<std::uint32_t>(hash);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.ref == 0) return kNone;
      if (s.tag == tag && match(s.ref - 1)) return s.ref - 1;
    }
  }
  void insert(std::uint64_t hash, std::uint32_t index);
  void erase(std::uint64_t hash, std::uint32_t index);
  std::size_t bytes() const { return slots_.size() * sizeof(Slot); }
  std::size_t capacity() const { return slots_.size(); }

  static constexpr std::uint32_t kNone = 0xffffffffu;

 private:
  PodArray<Slot> slots_;
  std::size_t mask_ = 0;
};

class Engine {
 public:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  static constexpr std::size_t kEventRing = 1024;
  static constexpr unsigned kSweepsPerPass = 16;  // a whole pass over the table takes 16 ticks

  explicit Engine(Metrics metrics, std::uint64_t seed = 0);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Takes the settings whole, or returns why not and keeps the old ones. Live sessions survive.
  std::optional<SettingsError> configure(Settings next);
  const Settings& settings() const { return settings_; }

  // The clock for the packets that follow (read once per burst by the plugin).
  void set_clock(Time now, std::chrono::system_clock::time_point wall);

  // Translates `p` in place (travelling in `d`); meta is restored on inbound packets.
  Result process(Packet& p, Direction d);
  Result process(std::span<std::uint8_t> bytes, Meta& meta, Direction d);

  // Where an answer to a refused packet of `meta` comes from: its socket's egress address of the
  // IP version, nullptr when it has none.
  const net::Address* answer_from(const Meta& meta, std::uint8_t version) const;

  // Expires idle sessions, looking at a bounded slice of the table (one tick of the timer).
  void sweep();

  // The NAT log hook. Session starts and ends are kept in a fixed ring of kEventRing events
  // (oldest overwritten, counted in events_lost()); nothing drains it yet: a future writer
  // (JSON lines: time, identity, inside 5-tuple, outside address and port) will call this.
  template <class F>
  void drain_events(F&& f) {
    for (; event_tail_ != event_head_; ++event_tail_) f(events_[event_tail_ % kEventRing]);
  }
  std::uint64_t events_lost() const { return events_lost_; }

  // ----- a connector pair's replication (replication.hpp) -----
  // The active keeps every change of its table, once asked to, in a ring of kChangeRing for the
  // link to drain after each burst; not asked (a connector alone), a change costs one test.
  static constexpr std::size_t kChangeRing = 4096;
  void record_changes(bool on);
  template <class F>
  void drain_changes(F&& f) {
    for (; change_tail_ != change_head_; ++change_tail_) f(changes_[change_tail_ % kChangeRing]);
  }
  // Whether changes were lost to a full ring since the last call: the standby then needs the
  // whole table again.
  bool changes_lost() { return std::exchange(changes_lost_, false); }
  // Every live session, for that whole table; or a slice of it: up to `most` from table slot
  // `from` on, returning where the next slice begins (kNone: none is left).
  void each_session(const std::function<void(const SessionState&)>& f) const;
  std::uint32_t each_session_from(std::uint32_t from, std::size_t most,
                                  const std::function<void(const SessionState&)>& f) const;
  // The standby's side. adopt(): the active's session, made or changed; false, and nothing
  // changed, when it cannot be held (an unknown socket, its outside port held by another mapping
  // or its block by another identity, a full table). forget(): the active's session gone. Both
  // write the NAT log's events, marked `replicated`: each connector's log answers for the pair.
  bool adopt(const SessionState& s);
  void forget(const SessionState& s);
  // The active's whole table, adopted between these two: what the standby holds and the table
  // does not (an end lost in a gap) goes at its end.
  void begin_snapshot();
  void end_snapshot();
  // A standby holds what it adopts and ages nothing (the active says when a session ends). Made
  // active, every session starts a whole lifetime of its kind, as if a packet had just passed.
  void set_standby(bool standby);
  bool standby() const { return standby_; }

  std::size_t session_count() const { return session_count_; }
  // A sum over the live sessions of a hash of each one's SessionState: two tables holding the
  // same sessions (in any slots, with any seeds) have the same digest. For telling a standby
  // level with its active; it reads the whole table.
  std::uint64_t digest() const;
  // Live sessions of the socket with this id (0 for none).
  std::size_t socket_sessions(std::uint32_t id) const;
  std::size_t mapping_count() const { return mapping_count_; }
  // Bytes of table memory per session slot at full load (records + indexes + mappings).
  std::size_t bytes_per_session() const;

  struct Session;
  struct Mapping;
  struct Socket;

 private:
  struct Key;
  struct Flowish;

  Result outbound(std::span<std::uint8_t> b, const net::PacketInfo& info, Meta& meta);
  Result inbound(std::span<std::uint8_t> b, const net::PacketInfo& info, Meta& meta);
  Result outbound_error(std::span<std::uint8_t> b, const net::PacketInfo& info, std::uint16_t si);
  Result inbound_error(std::span<std::uint8_t> b, const net::PacketInfo& info, std::uint16_t si,
                       Meta& meta);
  Result hairpin(std::span<std::uint8_t> b, Meta& meta, std::uint16_t target_socket);

  std::uint32_t find_socket(std::uint32_t id) const;
  std::uint32_t socket_of_egress(const net::Address& a) const;
  const net::Address* egress(std::uint16_t si, std::uint8_t version) const;

  std::uint64_t inside_hash(std::uint16_t si, std::uint8_t fp, const net::Address& in, std::uint16_t iport,
                            const net::Address& rem, std::uint16_t rport) const;
  std::uint64_t outside_hash(std::uint16_t si, std::uint8_t fp, std::uint16_t oport, const net::Address& rem,
                             std::uint16_t rport) const;
  std::uint64_t mapping_hash(std::uint16_t si, std::uint8_t fp, const net::Address& in,
                             std::uint16_t iport) const;
  std::uint32_t find_inside(std::uint16_t si, std::uint8_t fp, const net::Address& in, std::uint16_t iport,
                            const net::Address& rem, std::uint16_t rport) const;
  std::uint32_t find_outside(std::uint16_t si, std::uint8_t fp, std::uint16_t oport, const net::Address& rem,
                             std::uint16_t rport) const;
  std::uint32_t mapping_at(std::uint16_t si, std::uint8_t fp, std::uint16_t oport) const;
  // Whether `oport` of socket si is another worker's share: then `r` says which.
  bool elsewhere(std::uint16_t si, std::uint16_t oport, Result& r) const;

  // Session creation (outbound) and removal.
  std::uint32_t create(std::uint16_t si, std::uint8_t fp, const net::Address& in, std::uint16_t iport,
                       const net::Address& rem, std::uint16_t rport, const Meta& meta, Reason& why);
  std::uint32_t find_mapping(std::uint16_t si, std::uint8_t fp, const net::Address& in, std::uint16_t iport) const;
  std::uint32_t new_mapping(std::uint16_t si, std::uint8_t fp, const net::Address& in, std::uint16_t iport,
                            const Meta& meta, std::uint16_t port);
  void claim_block(std::uint16_t si, std::uint32_t block, std::uint32_t identity);
  std::uint32_t attach(std::uint32_t mi, const net::Address& rem, std::uint16_t rport);
  std::uint32_t allocate_port(std::uint16_t si, std::uint8_t fp, std::uint32_t identity, std::uint16_t want);
  void release_port(std::uint16_t si, std::uint8_t fp, std::uint16_t oport);
  void remove(std::uint32_t s);
  void refresh(Session& s, std::uint8_t tcp_flags, bool outbound_dir);
  Duration lifetime(const Session& s) const;  // what a packet passing now would give it
  void event(bool start, const Session& s);
  SessionState state_of(std::uint32_t s) const;
  void change(bool up, std::uint32_t s);

  Metrics metrics_;
  std::uint64_t seed_;
  Settings settings_;
  std::vector<Socket> sockets_;  // index = what sessions store; removed sockets leave dead slots

  PodArray<Session> sessions_;
  PodArray<Mapping> mappings_;
  Index by_inside_, by_outside_, mapping_index_;
  std::uint32_t session_high_ = 0, mapping_high_ = 0;  // slots ever used
  std::uint32_t session_free_ = kNone, mapping_free_ = kNone;
  std::size_t session_count_ = 0, mapping_count_ = 0;
  std::uint32_t sweep_cursor_ = 0;

  std::uint32_t now_s_ = 1;  // seconds of the monotonic clock, + 1
  std::int64_t wall_ns_ = 0;

  std::unique_ptr<SessionEvent[]> events_;
  std::uint64_t event_head_ = 0, event_tail_ = 0, events_lost_ = 0;

  std::unique_ptr<SessionChange[]> changes_;  // allocated by record_changes(true)
  std::uint64_t change_head_ = 0, change_tail_ = 0;
  std::uint32_t last_changed_ = kNone;  // the session of the newest change
  bool recording_ = false, changes_lost_ = false, standby_ = false;
};

}  // namespace waygate::nat
