// Cutting what the kernel glued: a packet that came with a virtio-net header asking for TCP
// segmentation (a packet socket's read of what GRO merged, say) becomes the segments it stands
// for, each in a pool packet of its own with whole headers and checksums, as the kernel's GSO
// would have cut it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vnet.hpp"
#include "waygate/packet.hpp"
#include "waygate/pool.hpp"

namespace waygate::tun {

enum class Cut { ok, malformed, no_buffer };

// Appends the segments of `ip` (the IP packet, TCP over IPv4 or IPv6 without extension headers)
// to `out`, `h.gso_size` payload bytes each but the last. no_buffer: the pool ran dry, and what
// was cut so far is in `out`; malformed: nothing was appended.
Cut cut(const VnetHeader& h, std::span<const std::uint8_t> ip, Pool& pool, std::vector<Packet*>& out);

// Finishes a checksum the kernel left to be done (NEEDS_CSUM): the field `offset` bytes past
// `start` holds the pseudo-header's sum, and summing from `start` over it gives the whole one.
// false if the field lies outside the packet.
bool finish_checksum(std::span<std::uint8_t> ip, std::size_t start, std::size_t offset);

}  // namespace waygate::tun
