// What listens on the NAT's ports of an egress address. The egress edge's table drops whatever
// arrives at an egress address on one of the NAT's ports before the kernel's sockets see it (the
// NAT takes it from its packet sockets), so a socket bound there, or to that port of every
// address, is never reached through the egress address: a WireGuard listen_port inside
// egress_ports, say, whose clients dial the egress address. Read from /proc/net/{tcp,udp}{,6} of
// the calling thread's network namespace: TCP sockets listening, UDP sockets bound.
#pragma once

#include <string>
#include <vector>

#include "settings.hpp"

namespace waygate::egress {

// "UDP 0.0.0.0:51820", one per socket in the way, in the files' order.
std::vector<std::string> listeners_in_nat_ports(const Settings& s);

// The same from the text of one /proc/net file ("tcp", "udp", "tcp6" or "udp6" says its kind).
std::vector<std::string> listeners_in_nat_ports(const Settings& s, const std::string& kind, const std::string& text);

}  // namespace waygate::egress
