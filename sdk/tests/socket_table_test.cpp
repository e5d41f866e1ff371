// The kernel's socket tables as the SDK reads them: addresses and ports, a TCP socket's state,
// a UDP socket's drops; and the table of this very process, where a socket it binds shows up.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "waygate/net/socket_table.hpp"

namespace net = waygate::net;

namespace {

TEST(SocketTable, ReadsAddressesPortsStatesAndDrops) {
  const std::string udp =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  107: 0100007F:CA6C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4711 2 0000000000000000 2773\n"
      "  108: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4712 2 0000000000000000 0\n"
      "  109: not a line\n";
  const auto v4 = net::parse_socket_table(udp);
  ASSERT_EQ(v4.size(), 2u);
  EXPECT_EQ(v4[0].local.to_string(), "127.0.0.1");
  EXPECT_EQ(v4[0].port, 51820);
  EXPECT_EQ(v4[0].state, 7);
  EXPECT_EQ(v4[0].drops, 2773u);
  EXPECT_EQ(v4[1].local.to_string(), "0.0.0.0");
  EXPECT_EQ(v4[1].port, 53);
  EXPECT_EQ(v4[1].drops, 0u);

  // TCP's lines end otherwise: no drops read from them.
  const std::string tcp6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0\n";
  const auto v6 = net::parse_socket_table(tcp6);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].local.to_string(), "2001:db8::1");
  EXPECT_EQ(v6[0].port, 443);
  EXPECT_EQ(v6[0].state, net::kTcpListen);
  EXPECT_EQ(v6[0].drops, 0u);
}

TEST(SocketTable, FindsASocketThisProcessBound) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  socklen_t len = sizeof at;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len), 0);
  const auto table = net::socket_table("udp");
  const bool found = std::any_of(table.begin(), table.end(), [&](const net::SocketEntry& e) {
    return e.port == ntohs(at.sin_port) && e.local.to_string() == "127.0.0.1" && e.drops == 0;
  });
  EXPECT_TRUE(found);
  EXPECT_TRUE(net::socket_table("no-such-table").empty());
  ::close(fd);
}

}  // namespace
