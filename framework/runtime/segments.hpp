// UDP GRO's side of a receive: the kernel may hand one socket read several datagrams of a sender
// glued together, all but the last of the size its control message gives. The host's loop and
// the test rig both cut them apart with these.
#pragma once

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace waygate {

// Room for the control message a UDP_GRO socket adds to a read.
inline constexpr std::size_t kGroControlSize = CMSG_SPACE(sizeof(int));

// The size each datagram of the read had, from its UDP_GRO control message among the `length`
// bytes at `control`; `whole` without one (the read is one datagram). Read byte-wise: in a
// multishot receive's buffer the control messages follow the sender's address, unaligned.
inline std::size_t gro_segment_size(const std::uint8_t* control, std::size_t length, std::size_t whole) {
  for (std::size_t at = 0; at + sizeof(cmsghdr) <= length;) {
    cmsghdr c;
    std::memcpy(&c, control + at, sizeof c);
    if (c.cmsg_len < sizeof(cmsghdr) || at + c.cmsg_len > length) break;
    if (c.cmsg_level == SOL_UDP && c.cmsg_type == UDP_GRO && c.cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      std::memcpy(&size, control + at + CMSG_LEN(0), sizeof size);
      if (size > 0) return static_cast<std::size_t>(size);
    }
    at += CMSG_ALIGN(c.cmsg_len);
  }
  return whole;
}

// Calls each(offset, length) for every datagram of a read of `length` bytes cut at `segment`.
template <typename Each>
void for_each_segment(std::size_t length, std::size_t segment, Each&& each) {
  if (segment == 0) segment = length;
  for (std::size_t at = 0; at < length; at += segment) each(at, length - at < segment ? length - at : segment);
}

}  // namespace waygate
