#include "frame.hpp"

#include <endian.h>

#include <cstring>

#include "waygate/net/gso.hpp"
#include "waygate/net/ip.hpp"

namespace waygate::egress {

Unwrap unwrap(Packet& p, std::size_t link_len) {
  if (p.size() < kVnetHeader + link_len + 1) return Unwrap::malformed;
  VnetHeader h;
  std::memcpy(&h, p.data(), sizeof h);
  if (h.gso_type != kGsoNone) return Unwrap::too_big;
  p.strip(kVnetHeader + link_len);
  // Ethernet pads short frames to 60 bytes: the IP header's length is the packet's.
  const std::size_t length = net::ip::claimed_length(p.bytes());
  if (length == 0 || length > p.size()) return Unwrap::malformed;
  p.resize(length);
  if ((h.flags & kNeedsChecksum) == 0) return Unwrap::ok;
  const std::size_t start = le16toh(h.csum_start);  // counted from the link header
  if (start < link_len || !net::finish_checksum(p.bytes(), start - link_len, le16toh(h.csum_offset)))
    return Unwrap::malformed;
  return Unwrap::ok;
}

}  // namespace waygate::egress
