#include "frame.hpp"

#include <endian.h>

#include <cstring>

#include "waygate/net/checksum.hpp"

namespace waygate::egress {

Unwrap unwrap(Packet& p, std::size_t link_len) {
  if (p.size() < kVnetHeader + link_len + 1) return Unwrap::malformed;
  VnetHeader h;
  std::memcpy(&h, p.data(), sizeof h);
  if (h.gso_type != kGsoNone) return Unwrap::too_big;
  p.strip(kVnetHeader + link_len);
  // Ethernet pads short frames to 60 bytes: the IP header's length is the packet's.
  const std::uint8_t* ip = p.data();
  std::size_t length = 0;
  if ((ip[0] >> 4) == 4 && p.size() >= 20) length = (std::size_t{ip[2]} << 8) | ip[3];
  else if ((ip[0] >> 4) == 6 && p.size() >= 40) length = 40 + ((std::size_t{ip[4]} << 8) | ip[5]);
  else return Unwrap::malformed;
  if (length > p.size()) return Unwrap::malformed;
  p.resize(length);
  if ((h.flags & kNeedsChecksum) == 0) return Unwrap::ok;
  const std::size_t start = le16toh(h.csum_start);
  const std::size_t field = start + le16toh(h.csum_offset);
  if (start < link_len || field + 2 > p.size() + link_len) return Unwrap::malformed;
  std::uint8_t* from = p.data() + (start - link_len);
  std::uint8_t* at = p.data() + (field - link_len);
  // The field holds the pseudo-header sum: summing from csum_start over it gives the whole sum.
  std::uint16_t sum = net::checksum({from, p.size() - (start - link_len)});
  if (sum == 0) sum = 0xffff;  // as the kernel writes it (0 means "no checksum" for UDP)
  at[0] = static_cast<std::uint8_t>(sum >> 8);
  at[1] = static_cast<std::uint8_t>(sum);
  return Unwrap::ok;
}

}  // namespace waygate::egress
