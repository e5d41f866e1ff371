// The replication link of a connector pair: the active sends every change of its NAT table to
// the standby, in batches, and the whole table when the standby asks. Datagrams over UDP between
// the two, each sealed with a key both hold (libsodium's XSalsa20-Poly1305 secretbox, a random
// nonce each): a datagram that does not open is someone else's, counted and dropped.
//
// A datagram: nonce (24 bytes) | sealed: "WGNR", version, kind, epoch (the sender's start, 8
// bytes), sequence (8), the sender's connector name (a length byte, up to 32 bytes: the NAT log
// of the standby says who translated), count (2), then `count` records of 54 bytes: up or gone, IP version,
// protocol, TCP state, socket, identity, peer, inside and remote address (16 each), inside,
// remote and outside port. All big-endian.
//
// Sequence numbers count the active's datagrams within its epoch. The standby expects each next
// one; a gap, or a new epoch (the active restarted), and it asks for the whole table, which comes
// as snapshot_begin, snapshot_part..., snapshot_end; until then it says it is behind.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine.hpp"

namespace waygate::nat {

using ReplicationKey = std::array<std::uint8_t, 32>;

enum class Kind : std::uint8_t {
  changes = 1,         // active -> standby: changes of the table
  snapshot_begin = 2,  // active -> standby: the whole table follows
  snapshot_part = 3,
  snapshot_end = 4,
  heartbeat = 5,       // active -> standby: nothing changed; its sequence says what was sent
  ask_snapshot = 6,    // standby -> active: send the whole table
};

inline constexpr std::size_t kMaxSender = 32;  // a connector name's most

struct Header {
  Kind kind = Kind::changes;
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;
  // The sender's connector name (longer ones are cut): fixed room, so sealing allocates nothing.
  std::array<char, kMaxSender> sender_text{};
  std::uint8_t sender_size = 0;

  std::string_view sender() const { return {sender_text.data(), sender_size}; }
  void set_sender(std::string_view name) {
    sender_size = static_cast<std::uint8_t>(std::min(name.size(), kMaxSender));
    std::copy_n(name.data(), sender_size, sender_text.data());
  }
};

// What open() found in a datagram.
struct Datagram : Header {
  std::vector<SessionChange> records;
};

inline constexpr std::size_t kRecordBytes = 54;
inline constexpr std::size_t kOverheadBytes = 24 + 16 + 4 + 1 + 1 + 8 + 8 + 1 + kMaxSender + 2;  // nonce, MAC, header
inline constexpr std::size_t kMaxDatagram = 1400;  // below any path's MTU between the pair
inline constexpr std::size_t kRecordsPerDatagram = (kMaxDatagram - kOverheadBytes) / kRecordBytes;

// Seals the header and `records` (at most kRecordsPerDatagram) into `out`; returns its length (0:
// too many records, or `out` too small). Allocates nothing: the active does it after each burst.
std::size_t seal(const ReplicationKey& key, const Header& h, std::span<const SessionChange> records,
                 std::span<std::uint8_t> out);
// Opens a datagram; nullopt when it does not open with the key or is not well formed.
std::optional<Datagram> open(const ReplicationKey& key, std::span<const std::uint8_t> bytes);

// The standby's view of the link: what to do with each datagram that opened.
class Replica {
 public:
  enum class Step {
    apply,         // changes in order, or a part of the snapshot being received: adopt/forget them
    begin,         // a snapshot begins: Engine::begin_snapshot(), then adopt its records
    end,           // the snapshot is whole: Engine::end_snapshot()
    ask,           // a gap or a new epoch: ask for the whole table (and apply nothing)
    ignore,        // old, repeated, or changes while a snapshot is awaited
  };
  Step receive(const Datagram& d);
  // The snapshot just taken could not be held whole (what stood in the way is gone with its end):
  // behind again, awaiting another.
  void ask_again() {
    awaiting_ = true;
    behind_ = true;
  }
  // Behind: since the last gap, until a whole snapshot came.
  bool behind() const { return behind_; }
  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t sequence() const { return next_ == 0 ? 0 : next_ - 1; }  // the last one taken

 private:
  std::uint64_t epoch_ = 0, next_ = 0;
  bool behind_ = true;    // nothing yet: everything is to come
  bool awaiting_ = true;  // asked (or about to ask) for the whole table: only its beginning counts
  bool in_snapshot_ = false;
};

}  // namespace waygate::nat
