// Coalescing for a TUN device opened with a virtio-net header (IFF_VNET_HDR): segments of one TCP
// flow that follow each other in a burst, or datagrams of one UDP flow (QUIC's, say), are glued
// into one large packet, as the kernel's GRO would have made them on a network card or a
// UDP_SEGMENT send hands them over, and given to the kernel in one write, so its stack handles
// one packet instead of dozens. The header tells the kernel how to cut the packet again (GSO, USO
// for UDP) and that the checksum is still to be finished (only the pseudo-header's is in it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "waygate/net/vnet.hpp"
#include "waygate/packet.hpp"
#include "waygate/pool.hpp"

namespace waygate::net {

// The most one glued packet holds: an IP packet's limit.
inline constexpr std::size_t kMaxGlued = 65535;

// How many packets from the front of `packets` form one train by their headers: the same TCP flow
// (IPv4 without options or fragments, or IPv6 without extension headers), consecutive sequence
// numbers, the same ACK, window and options, only ACK (and PSH on the last) set, every payload as
// long as the first but the last, kMaxGlued bytes at most. With `udp`, also the same UDP flow's
// datagrams, every payload as long as the first but the last's, for a device whose kernel takes
// UDP trains (tun::Device::uso()). 1 when the first starts none. Checksums are glue()'s to check.
std::size_t train_length(std::span<Packet* const> packets, bool udp = false);

// Brings each TCP or UDP flow's packets of a burst (kBurstMax at most) together, in the order of
// their flows' first packets, so that flows interleaved on the wire still form trains; what is
// neither follows, in its order. Order within a flow is kept; packets of different flows may change
// places, which nothing on a network promises to keep. `scratch`: reserved room for the pointers.
void group_by_flow(std::span<Packet*> packets, std::vector<Packet*>& scratch);

// Writes the train's packet into `out` (room for kVnetHeaderSize + kMaxGlued bytes): a virtio-net
// header asking for TCP or UDP segmentation at the first payload's size, the first packet's
// headers with the lengths of the whole (PSH from the last), and every payload, each summed as it
// is copied: the train ends before a segment whose checksum does not hold (the kernel would have
// dropped it; glued, it could no longer tell). `segments`: how many it took from the front; fewer
// than 2, no train (and `bytes` 0).
struct GluedTrain {
  std::size_t segments = 0;
  std::size_t bytes = 0;
};
GluedTrain glue(std::span<Packet* const> train, std::uint8_t* out);

// Prepends the header of a packet that needs nothing from the kernel; false without headroom.
bool add_plain_header(Packet& p);

// The few large buffers of an edge's own that trains are glued into, each lent to one write
// until its completion. Packets over this memory are not the pool's: the host's cancel() leaves
// them alone, and reset() takes them all back.
class GlueBuffers {
 public:
  // A train's buffer comes back only with its write's completion, a turn of the loop later, and
  // a turn may glue several bursts: with 8, a third of a single stream's segments (and nearly
  // half of four streams') found every buffer lent and went one by one. 4 MiB, touched as used.
  static constexpr std::size_t kCount = 64;
  struct Glued {
    Packet* packet = nullptr;  // to write; null: write the `count` packets in front one by one
    std::size_t buffer = 0;    // for done()
    std::size_t count = 1;     // packets taken from the front
    bool starved = false;      // they were a train, but every buffer was in flight
  };
  struct Done {
    std::uint32_t packets;
    std::uint64_t bytes;  // theirs, as IP packets
  };

  // `udp`: UDP datagrams are glued too (train_length's).
  explicit GlueBuffers(bool udp = false);
  // Glues the train at the front of `packets` into a free buffer and gives the packets back to
  // `pool`; a packet of null and count 1 when there is no train there, and of null and the
  // train's length, starved, when no buffer is free.
  Glued take(std::span<Packet* const> packets, Pool& pool);
  // The write of `buffer` completed: what it held; the buffer is free again.
  Done done(std::size_t buffer);
  void reset();

 private:
  struct Slot {
    Packet packet;
    Done held{0, 0};  // packets 0: free
  };
  bool udp_;
  std::unique_ptr<std::uint8_t[]> memory_;
  std::array<Slot, kCount> slots_;
};

}  // namespace waygate::net
