// Asynchronous I/O for edges. An edge queues reads and writes of whole packets on its file
// descriptors; the host batches every queued operation of a loop turn into one submission to the
// kernel (io_uring) and hands each result back to the plugin's on_io() with the tag it chose.
// A queued packet belongs to the I/O until its completion; the completion gives it back.
// To take in traffic, an edge asks once: read_many()/receive_many() keep delivering packets,
// each in a fresh buffer from the pool, until the descriptor is cancelled.
#pragma once

#include <cstdint>

#include "waygate/packet.hpp"

namespace waygate {

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
  // A datagram socket's read: as read(), and the sender's address lands in p->endpoint.
  virtual void receive(int fd, Packet* p, std::uint64_t tag) = 0;
  // A datagram socket's write: p's bytes to p->endpoint.
  virtual void send(int fd, Packet* p, std::uint64_t tag) = 0;
  // Keeps reading packets from fd (a TUN device, say) until cancel(fd): each completes with a
  // fresh pool packet, result its length; a negative result is an error, and reading goes on.
  virtual void read_many(int fd, std::uint64_t tag) = 0;
  // The same for a datagram socket, with each sender's address in p->endpoint.
  virtual void receive_many(int fd, std::uint64_t tag) = 0;
  // Aborts every queued operation on fd and waits until none is left, so the fd can be closed.
  // Their completions are not delivered: their packets go straight back to the pool. For stop().
  virtual void cancel(int fd) = 0;
};

}  // namespace waygate
