// Cutting what the kernel glued: a packet that came with a virtio-net header asking for TCP or
// UDP segmentation (a packet socket's read of what GRO merged; a TUN device's of what TCP, or a
// UDP socket's UDP_SEGMENT send, left whole with TSO and USO) becomes the segments it stands for,
// each in a pool packet of its own with whole headers and checksums, as the kernel's GSO would
// have cut it. Such a packet is up to 64 KiB, which no pool packet holds: edges read it into
// large buffers of their own (ReadBuffers).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "waygate/net/vnet.hpp"
#include "waygate/packet.hpp"
#include "waygate/pool.hpp"

namespace waygate::net {

enum class Cut { ok, malformed, no_buffer };

// Appends the segments of `ip` (the IP packet, TCP or UDP over IPv4 or IPv6 without extension
// headers) to `out`, `h.gso_size` payload bytes each but the last. no_buffer: the pool ran dry, and what
// was cut so far is in `out`; malformed: nothing was appended.
Cut cut(const VnetHeader& h, std::span<const std::uint8_t> ip, Pool& pool, std::vector<Packet*>& out);

// Finishes a checksum the kernel left to be done (NEEDS_CSUM): the field `offset` bytes past
// `start` holds the pseudo-header's sum, and summing from `start` over it gives the whole one.
// false if the field lies outside the packet.
bool finish_checksum(std::span<std::uint8_t> ip, std::size_t start, std::size_t offset);

// What one read with a virtio-net header stands for, appended to `out` in pool packets of their
// own: its segments if the kernel asked for segmentation, else the packet with a checksum the
// kernel left to do finished. `ip` follows the header, and h.csum_start counts from its start.
// Results as cut()'s; malformed also when the checksum to finish lies outside the packet or the
// packet is larger than a pool packet.
Cut take_apart(const VnetHeader& h, std::span<const std::uint8_t> ip, Pool& pool, std::vector<Packet*>& out);

// A few large buffers of an edge's own, each read into by one queued read at a time. Packets
// over this memory are not the pool's (the host's cancel() leaves them alone). The memory is
// touched only as reads fill it.
class ReadBuffers {
 public:
  static constexpr std::size_t kSize = kVnetHeaderSize + 65536 + 256;  // the largest GSO packet
  explicit ReadBuffers(std::size_t count);
  std::size_t size() const { return packets_.size(); }
  // The buffer, emptied for its next read.
  Packet* operator[](std::size_t i);

 private:
  std::unique_ptr<std::uint8_t[]> memory_;
  std::vector<Packet> packets_;
};

}  // namespace waygate::net
