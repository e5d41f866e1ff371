// Asynchronous I/O for edges. An edge queues reads and writes of whole packets on its file
// descriptors; the host batches every queued operation of a loop turn into one submission to the
// kernel (io_uring) and hands each result back to the plugin's on_io() with the tag it chose.
// A queued packet belongs to the I/O until its completion; the completion gives it back.
// To take in traffic, an edge asks once: read_many()/receive_many() keep delivering packets,
// each in a fresh buffer from the pool, until the descriptor is cancelled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "waygate/packet.hpp"

namespace waygate {

// The most datagrams one send_segments() call carries, and the most bytes in all (what one UDP
// datagram of the kernel's GSO may hold).
inline constexpr std::size_t kMaxSegments = 64;
inline constexpr std::size_t kMaxSegmentsBytes = 65000;

struct Completion {
  std::uint64_t tag;     // what the plugin passed when queueing
  std::int32_t result;   // bytes moved, or -errno
  Packet* packet;        // the packet that was read into or written from
};

class Io {
 public:
  virtual ~Io() = default;
  // Reads one datagram/packet into p's writable area; on success the completion's result and
  // the packet's size are its length.
  virtual void read(int fd, Packet* p, std::uint64_t tag) = 0;
  // Writes p's bytes as one datagram/packet.
  virtual void write(int fd, Packet* p, std::uint64_t tag) = 0;
  // A datagram socket's read: as read(), and the sender's address lands in p->meta.endpoint.
  virtual void receive(int fd, Packet* p, std::uint64_t tag) = 0;
  // A datagram socket's write: p's bytes to p->meta.endpoint.
  virtual void send(int fd, Packet* p, std::uint64_t tag) = 0;
  // Keeps reading packets from fd (a TUN device, say) until cancel(fd): each completes with a
  // fresh pool packet, result its length; a negative result is an error, and reading goes on.
  virtual void read_many(int fd, std::uint64_t tag) = 0;
  // The same for a datagram socket, with each sender's address in p->meta.endpoint.
  virtual void receive_many(int fd, std::uint64_t tag) = 0;
  // Several datagrams to the first packet's endpoint in one call, which the kernel cuts apart (UDP
  // GSO): one trip through the stack for all of them. Every packet is as long as the first, but
  // the last, which may be shorter; at most kMaxSegments, kMaxSegmentsBytes in all. Each completes
  // on its own, with its length or the call's -errno (-EIO: the route cannot segment; send them
  // one by one).
  virtual void send_segments(int fd, std::span<Packet* const> packets, std::uint64_t tag) = 0;
  // receive_many() for a UDP socket with UDP_GRO on: the kernel may coalesce datagrams of one
  // sender into one; they are cut apart again, each completing in its own pool packet.
  virtual void receive_segments(int fd, std::uint64_t tag) = 0;
  // Aborts every queued operation on fd and waits until none is left, so the fd can be closed.
  // Their completions are not delivered: pool packets go straight back to the pool (a packet the
  // edge made over memory of its own stays the edge's). For stop().
  virtual void cancel(int fd) = 0;
};

}  // namespace waygate
