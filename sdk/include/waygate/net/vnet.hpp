// The virtio-net header the kernel puts before a packet (read from a TUN device opened with
// IFF_VNET_HDR, or a packet socket with PACKET_VNET_HDR) and reads before one written there: how
// it was or should be segmented (GSO) and whether its checksum is still to be finished. As
// struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include (a field there is named
// `class`); fields in the host's byte order (the kernel's vio_le() on little-endian machines).
#pragma once

#include <cstddef>
#include <cstdint>

namespace waygate::net {

struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;      // headers before the payload that segmentation repeats
  std::uint16_t gso_size;     // payload bytes per segment
  std::uint16_t csum_start;   // where the sum to finish starts
  std::uint16_t csum_offset;  // where it goes, from csum_start
};
inline constexpr std::size_t kVnetHeaderSize = sizeof(VnetHeader);
static_assert(kVnetHeaderSize == 10);

inline constexpr std::uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr std::uint8_t kVnetGsoNone = 0;    // VIRTIO_NET_HDR_GSO_NONE
inline constexpr std::uint8_t kVnetGsoTcpV4 = 1;   // VIRTIO_NET_HDR_GSO_TCPV4
inline constexpr std::uint8_t kVnetGsoTcpV6 = 4;   // VIRTIO_NET_HDR_GSO_TCPV6
inline constexpr std::uint8_t kVnetGsoUdpL4 = 5;   // VIRTIO_NET_HDR_GSO_UDP_L4: UDP, either family

}  // namespace waygate::net
