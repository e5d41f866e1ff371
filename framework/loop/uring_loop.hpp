// The data plane's event loop: one io_uring per worker thread. Edges queue packet reads and
// writes through per-stage Io objects; the loop turns everything queued in one turn into a single
// submission, sleeps until a completion, a timer deadline or a wake-up, and hands completions back
// tagged with the stage that queued them. Operations live in a fixed table: nothing is allocated
// per packet, and a full table completes the operation at once with -ENOBUFS instead.
//
// Receiving is one multishot request per descriptor (read_many/receive_many) drawing buffers
// from a ring the loop keeps stocked from the pool, so a busy socket costs no submission per
// packet and no queued request is woken for nothing. Where the kernel lacks a multishot read, a
// stream falls back to a few single reads that the loop re-queues itself.
//
// Segments (UDP GSO and GRO): a send of several datagrams is one sendmsg whose iovecs are the
// packets, from a small table of trains; a UDP_GRO socket's multishot receive draws large buffers
// from a second ring, and the loop copies each datagram out into a pool packet of its own. Where
// the kernel consumes those buffers incrementally, reads share a buffer until too little is left
// for a whole coalesced read, so single datagrams (a stock client sends no trains) do not take a
// large buffer each.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "waygate/io.hpp"
#include "waygate/pool.hpp"
#include "waygate/timer.hpp"

namespace waygate {

class UringLoop {
 public:
  static constexpr std::uint32_t kWakeOwner = 0xffffffffu;
  using Handler = std::function<void(std::uint32_t owner, const Completion&)>;

  // multishot = false forces the fallback a kernel without multishot receives would get.
  UringLoop(Pool& pool, unsigned entries, unsigned max_ops, bool multishot = true);
  ~UringLoop();
  UringLoop(const UringLoop&) = delete;
  UringLoop& operator=(const UringLoop&) = delete;

  // The Io a stage uses; its completions come back with `owner`.
  Io& io(std::uint32_t owner);

  // Submits what was queued and waits for at least one completion or until `deadline` (monotonic).
  void wait(Time deadline);
  // Hands every available completion to `handler`; returns how many.
  unsigned drain(const Handler& handler);
  // Thread-safe: makes a wait() on the loop's thread return.
  void wake();

  static Time clock();  // CLOCK_MONOTONIC, the time base of deadlines

  bool multishot_receive() const { return buffers_ != nullptr; }
  // Whether reads share the large buffers (known once a receive_segments has made them).
  bool shared_large_buffers() const { return !large_used_.empty(); }
  bool multishot_read() const { return buffers_ != nullptr && read_multishot_; }

 private:
  class StageIo;
  enum class Kind : std::uint8_t {
    read, write, receive, send,  // one packet each
    read_many, receive_many,     // multishot, buffers from the ring
    read_each, receive_each,     // the fallback: single operations the loop queues again
    send_segments,               // a train of datagrams, one sendmsg with UDP_SEGMENT
    receive_segments             // multishot from a UDP_GRO socket, large buffers
  };
  struct Op {
    bool live = false;
    bool cancelled = false;
    Kind kind = Kind::read;
    std::uint32_t owner = 0;
    int fd = -1;
    std::uint64_t tag = 0;
    Packet* packet = nullptr;
    msghdr msg{};  // receive/send: the kernel reads it until the operation completes
    iovec iov{};
    std::uint32_t train = 0;  // send_segments: its slot in trains_
  };
  // The packets of one send_segments, and what its sendmsg points at.
  struct Train {
    std::array<iovec, kMaxSegments> iov;
    std::array<Packet*, kMaxSegments> packets;
    std::uint32_t count = 0;
    alignas(cmsghdr) std::array<std::uint8_t, CMSG_SPACE(sizeof(std::uint16_t))> control;
  };
  struct Delivery {
    std::uint32_t owner;
    Completion completion;
    int fd;
  };
  static constexpr unsigned kFallbackDepth = 8;
  static constexpr unsigned kTrains = 64;
  // What the kernel has coalesced into the large buffers waits for the loop, so they are a queue
  // every packet behind a bulk transfer waits in: 32 reads' room (2 MiB) made a ping beside a
  // download wait 2.5 ms at the median, 8 (512 KiB) 1.2 ms, for the same throughput. Either 8
  // buffers of one read each, or, shared, 4 of two: a buffer takes reads until less than one
  // read's room is left, so it holds two coalesced reads of a train or about forty datagrams.
  static constexpr std::size_t kLargeRead = 65536 + 512;  // a coalesced read and its header
  static constexpr unsigned kLargeReads = 8;
  static constexpr unsigned kReadsPerSharedBuffer = 2;

  std::optional<std::uint32_t> new_op(std::uint32_t owner, int fd, std::uint64_t tag, Kind kind, Packet* p);
  void queue(std::uint32_t owner, int fd, Packet* p, std::uint64_t tag, Kind kind);
  void stream(std::uint32_t owner, int fd, std::uint64_t tag, bool receive);
  void send_segments(std::uint32_t owner, int fd, std::span<Packet* const> packets, std::uint64_t tag);
  void receive_segments(std::uint32_t owner, int fd, std::uint64_t tag);
  bool large_ring();
  io_uring_buf_ring* buffer_ring(unsigned entries, std::uint16_t group, std::uint32_t shared_min_left = 0);
  void give_large(std::uint32_t buffer);
  void submit(std::uint32_t id);
  void cancel(int fd);
  io_uring_sqe* sqe();
  void arm_wake();
  void stock_ring();
  template <typename Deliver>
  void settle(const io_uring_cqe& cqe, Deliver&& deliver);
  template <typename Deliver>
  void finish(std::uint32_t id, std::int32_t result, Deliver&& deliver);
  template <typename Deliver>
  void split(const Op& op, std::uint32_t buffer, std::int32_t result, bool more, Deliver&& deliver);

  Pool& pool_;
  io_uring ring_{};
  int wake_fd_ = -1;
  std::uint64_t wake_value_ = 0;
  std::vector<Op> ops_;
  std::vector<std::uint32_t> free_ops_;
  std::vector<std::uint32_t> rearm_;  // multishot requests the kernel ended; submitted again next turn
  // Completions to hand out on the next drain: operations refused for want of an op slot, and
  // completions that arrived while cancel() was waiting for another descriptor.
  std::vector<std::pair<std::uint32_t, Completion>> deferred_;
  std::vector<std::unique_ptr<StageIo>> ios_;

  io_uring_buf_ring* buffers_ = nullptr;  // the provided-buffer ring, or null (no multishot)
  unsigned ring_entries_ = 0;
  unsigned in_ring_ = 0;
  bool read_multishot_ = false;

  std::vector<Train> trains_;
  std::vector<std::uint32_t> free_trains_;
  io_uring_buf_ring* large_ = nullptr;  // receive_segments' ring, made on first use
  unsigned large_count_ = 0;
  std::size_t large_size_ = 0;
  std::vector<std::uint32_t> large_used_;  // shared buffers: where each one's next read starts
  std::unique_ptr<std::uint8_t[]> large_memory_;
};

}  // namespace waygate
