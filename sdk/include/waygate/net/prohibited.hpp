// Answering a refused packet with "communication administratively prohibited" (ICMP destination
// unreachable code 13, RFC 1812; ICMPv6 code 1, RFC 4443), so that the sender learns at once
// instead of retrying into silence: a NAT whose port block is full, a quota used up. The error is
// written into the refused packet's own buffer, ready for Output::reply(); nothing is allocated.
#pragma once

#include "waygate/net/headers.hpp"
#include "waygate/packet.hpp"

namespace waygate::net {

// Rewrites `p` into the error that answers it, from `from` (of the packet's family) to the
// packet's source, quoting what RFC 792 asks (the IP header and 8 bytes) or RFC 4443 (as much as
// fits in IPv6's minimum MTU). False for a packet that must not be answered (not IP, an ICMP
// error itself, `from` of the other family) or has no room for the headers; `p` may then have
// been moved within its buffer, so the caller drops it.
bool prohibit(Packet& p, const Address& from);

}  // namespace waygate::net
