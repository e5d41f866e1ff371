// What the shared mode's packet sockets deliver, turned into the IP packet the pipeline wants.
// Each read holds a virtio-net header (PACKET_VNET_HDR), the link header, then the IP packet.
// The virtio-net header is there for one reason: a packet from a neighbour on a virtual link
// (veth, or a VM's virtio NIC) may arrive with its TCP/UDP checksum not yet computed
// (CHECKSUM_PARTIAL: the field holds only the pseudo-header sum), which the kernel would have
// trusted but a WireGuard client behind us would drop. The header says so (NEEDS_CSUM, with where
// the sum starts and where it goes), and unwrap() completes it. A packet the kernel merged (GRO)
// is no job of unwrap()'s (too_big): the edge cuts it into its segments (waygate/net/gso.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "waygate/net/vnet.hpp"
#include "waygate/packet.hpp"

namespace waygate::egress {

// A packet socket's csum_start counts from the start of the frame (the link header).
using net::VnetHeader;
inline constexpr std::size_t kVnetHeader = net::kVnetHeaderSize;
inline constexpr std::uint8_t kNeedsChecksum = net::kVnetNeedsCsum;
inline constexpr std::uint8_t kGsoNone = net::kVnetGsoNone;

enum class Unwrap { ok, malformed, too_big };

// Strips the virtio-net and link headers (link_len bytes), trims link padding to the IP length and
// completes a pending checksum. malformed: not an IP packet, or shorter than its header says.
Unwrap unwrap(Packet& p, std::size_t link_len);

}  // namespace waygate::egress
