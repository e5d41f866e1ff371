// Bursts: packets move through the pipeline a few hundred at a time, never one by one. A stage
// reads a Burst and, for each packet, tells its Output to pass it on, send it back the way it
// came (a reply: an ICMP error, a handshake response), or drop it with a named reason. A packet
// the stage keeps (queued for I/O, held for reassembly) is simply not handed to the Output.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "waygate/counters.hpp"
#include "waygate/packet.hpp"
#include "waygate/pool.hpp"

namespace waygate {

inline constexpr std::size_t kBurstMax = 256;

class Burst {
 public:
  explicit Burst(Direction d = Direction::outbound) : direction_(d) {}
  // Copies only the packets present, not the whole array.
  Burst(const Burst& o) : direction_(o.direction_), size_(o.size_) {
    std::copy_n(o.packets_.data(), size_, packets_.data());
  }
  Burst& operator=(const Burst& o) {
    direction_ = o.direction_;
    size_ = o.size_;
    std::copy_n(o.packets_.data(), size_, packets_.data());
    return *this;
  }

  Direction direction() const { return direction_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == kBurstMax; }
  Packet* operator[](std::size_t i) const { return packets_[i]; }
  Packet* const* begin() const { return packets_.data(); }
  Packet* const* end() const { return packets_.data() + size_; }

  void push(Packet* p) { packets_[size_++] = p; }  // caller checks full()
  void clear() { size_ = 0; }

 private:
  Direction direction_;
  std::uint16_t size_ = 0;
  std::array<Packet*, kBurstMax> packets_;
};

// Where an Output sends a burst that filled up before the stage finished, and hears of every drop
// (to count it by whose packet it was, and to end a traced packet's trace with its reason).
class BurstSink {
 public:
  virtual ~BurstSink() = default;
  virtual void flush(Burst& burst) = 0;  // must leave it empty
  virtual void dropped(const Packet& p, Drop why) = 0;  // before the packet goes back to the pool
};

class Output {
 public:
  Output(Direction d, Pool& pool, BurstSink& sink)
      : pass_(d), reply_(opposite(d)), pool_(&pool), sink_(&sink) {}

  // On to the next stage, in the burst's direction.
  void pass(Packet* p) { put(pass_, p); }
  // Back towards where the burst came from, starting at the previous stage.
  void reply(Packet* p) { put(reply_, p); }
  // On to the next stage in direction d: for what on_io() and on_handed() produce, which comes
  // from no burst.
  void pass(Packet* p, Direction d) { put(d == pass_.direction() ? pass_ : reply_, p); }
  // Counted under the reason (and, with a socket or identity in its metadata, as theirs too) and
  // returned to the pool.
  void drop(Packet* p, Drop why) {
    why.add();
    sink_->dropped(*p, why);
    pool_->free(p);
  }

  Burst& passed() { return pass_; }
  Burst& replies() { return reply_; }

 private:
  void put(Burst& b, Packet* p) {
    if (b.full()) sink_->flush(b);
    b.push(p);
  }
  Burst pass_;
  Burst reply_;
  Pool* pool_;
  BurstSink* sink_;
};

}  // namespace waygate
