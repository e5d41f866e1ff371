// The kernel's tables of sockets, /proc/net/{tcp,udp}{,6}: a line per socket with its local
// address and port, its state and, for UDP, the datagrams it dropped at a full receive buffer.
// What a stage's checks read: who listens where, what the kernel lost before a worker read it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "waygate/net/headers.hpp"

namespace waygate::net {

struct SocketEntry {
  Address local;            // 0.0.0.0 or :: for every address
  std::uint16_t port = 0;
  std::uint8_t state = 0;   // the kernel's TCP state (kTcpListen); 7 for an unconnected UDP socket
  std::uint64_t drops = 0;  // UDP's tables only: datagrams lost at a full receive buffer
};

inline constexpr std::uint8_t kTcpListen = 0x0A;

// One table's text, its heading line first; a line that does not read is skipped.
std::vector<SocketEntry> parse_socket_table(std::string_view text);

// The table "tcp", "udp", "tcp6" or "udp6" as the calling thread's network namespace has it;
// empty where the kernel has none (no IPv6).
std::vector<SocketEntry> socket_table(std::string_view kind);

}  // namespace waygate::net
