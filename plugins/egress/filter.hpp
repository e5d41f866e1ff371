// The classic BPF programs attached (SO_ATTACH_FILTER) to the shared mode's packet sockets, one per
// family. The kernel runs them on every packet the egress interface receives, before the packet is
// queued to the socket, so only what is Waygate's is copied: TCP and UDP to an egress address and a
// port in the NAT's range, ICMP echo replies whose identifier is in the range, and ICMP errors to an
// egress address (the nat stage drops the ones that match no session). Everything else, including
// the kernel's own flows on the shared address, never reaches user space.
//
// `base` is where the IP header starts in what the filter sees: the link header's length for a
// SOCK_RAW packet socket (14 on Ethernet, 0 on an L3 device such as a TUN or WireGuard), 0 on a
// datagram socket (which is how the tests run the programs on a socketpair).
//
// Not accepted, so left to the kernel: IPv4 fragments after the first (no ports), IPv6 packets with
// extension headers before the transport header.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <vector>

#include "settings.hpp"

namespace waygate::egress {

std::vector<sock_filter> filter4(std::uint32_t base, std::span<const Address4> egress, PortRange ports);
std::vector<sock_filter> filter6(std::uint32_t base, std::span<const Address6> egress, PortRange ports);

// With more than one worker ([host] workers), every worker's packet socket of a family is one
// PACKET_FANOUT group, and these programs pick the member for a packet the filter took: the worker
// whose share of the NAT's ports (PortRange::share) holds its destination port, or an echo reply's
// identifier; anything else (an ICMP error, a port outside the range) goes to the first, whose NAT
// hands it on. Members are numbered in the order they joined, which is the workers' order.
// `base` as above; the kernel runs them where SKF_NET_OFF names the IP header.
std::vector<sock_filter> steer4(std::uint32_t base, PortRange ports, unsigned workers);
std::vector<sock_filter> steer6(std::uint32_t base, PortRange ports, unsigned workers);

}  // namespace waygate::egress
