// What the shared mode's packet sockets deliver, turned into the IP packet the pipeline wants.
// Each read holds a virtio-net header (PACKET_VNET_HDR), the link header, then the IP packet.
// The virtio-net header is there for one reason: a packet from a neighbour on a virtual link
// (veth, or a VM's virtio NIC) may arrive with its TCP/UDP checksum not yet computed
// (CHECKSUM_PARTIAL: the field holds only the pseudo-header sum), which the kernel would have
// trusted but a WireGuard client behind us would drop. The header says so (NEEDS_CSUM, with where
// the sum starts and where it goes), and unwrap() completes it. Packets the kernel merged (GRO) are
// larger than one packet and cannot go on as they are: too_big.
#pragma once

#include <cstddef>
#include <cstdint>

#include "waygate/packet.hpp"

namespace waygate::egress {

// struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include (a field there is named
// `class`). Fields in the host's byte order (the kernel's vio_le() on little-endian machines).
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;  // from the start of the frame (the link header)
  std::uint16_t csum_offset;
};
inline constexpr std::size_t kVnetHeader = sizeof(VnetHeader);
static_assert(kVnetHeader == 10);
inline constexpr std::uint8_t kNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr std::uint8_t kGsoNone = 0;        // VIRTIO_NET_HDR_GSO_NONE

enum class Unwrap { ok, malformed, too_big };

// Strips the virtio-net and link headers (link_len bytes), trims link padding to the IP length and
// completes a pending checksum. malformed: not an IP packet, or shorter than its header says.
Unwrap unwrap(Packet& p, std::size_t link_len);

}  // namespace waygate::egress
