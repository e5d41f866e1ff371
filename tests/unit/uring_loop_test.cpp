// The io_uring loop's streams, with the kernel's multishot receives and with the fallback a
// kernel without them gets: every datagram arrives once, in order, with its sender's address,
// and nothing arrives after cancel().
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring_loop.hpp"

using namespace std::chrono_literals;

namespace {

class Loop : public ::testing::TestWithParam<bool> {
 protected:
  waygate::Pool pool{256, 2048, 128};
  waygate::UringLoop loop{pool, 64, 256, GetParam()};
  std::vector<std::vector<std::uint8_t>> got;
  std::vector<waygate::Endpoint> from;

  // Turns the loop `times` times, or until `want` packets have arrived (at most 500 turns).
  void turn(int times, std::size_t want = 0) {
    for (int i = 0; i < (want == 0 ? times : 500) && (want == 0 || got.size() < want); ++i) {
      loop.wait(waygate::UringLoop::clock() + 5ms);
      loop.drain([&](std::uint32_t owner, const waygate::Completion& c) {
        if (owner == waygate::UringLoop::kWakeOwner) return;
        if (c.result > 0) {
          got.emplace_back(c.packet->data(), c.packet->data() + c.packet->size());
          from.push_back(c.packet->endpoint);
        }
        pool.free(c.packet);
      });
    }
  }
};

TEST_P(Loop, ReadManyDeliversEveryPacketInOrder) {
  EXPECT_EQ(loop.multishot_receive(), GetParam());
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, fds), 0);
  loop.io(1).read_many(fds[0], 7);
  turn(1);
  for (int i = 0; i < 300; ++i) {  // more than the ring holds: buffers must come back around
    std::vector<std::uint8_t> p(10 + i % 50, static_cast<std::uint8_t>(i));
    ASSERT_EQ(::write(fds[1], p.data(), p.size()), static_cast<ssize_t>(p.size()));
    if (i % 40 == 39) turn(3);
  }
  turn(0, 300);
  ASSERT_EQ(got.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(got[i].size(), 10u + i % 50);
    EXPECT_EQ(got[i][0], static_cast<std::uint8_t>(i));
  }
  loop.io(1).cancel(fds[0]);
  got.clear();
  std::uint8_t late[20] = {};
  ASSERT_EQ(::write(fds[1], late, sizeof late), 20);
  turn(3);
  EXPECT_TRUE(got.empty());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_P(Loop, ReceiveManyCarriesTheSender) {
  auto udp = [] {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return std::pair{fd, a};
  };
  auto [rx, rx_addr] = udp();
  auto [tx, tx_addr] = udp();
  loop.io(2).receive_many(rx, 1);
  turn(1);
  for (int i = 0; i < 100; ++i) {
    std::uint8_t b[64];
    std::fill(std::begin(b), std::end(b), static_cast<std::uint8_t>(i));
    ::sendto(tx, b, 1 + i % 64, 0, reinterpret_cast<sockaddr*>(&rx_addr), sizeof rx_addr);
  }
  ::sendto(tx, nullptr, 0, 0, reinterpret_cast<sockaddr*>(&rx_addr), sizeof rx_addr);  // empty: valid
  turn(0, 100);
  turn(3);
  ASSERT_EQ(got.size(), 100u);  // the empty datagram completes with 0 and carries nothing
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(got[i].size(), 1u + i % 64);
    EXPECT_EQ(got[i][0], static_cast<std::uint8_t>(i));
    ASSERT_EQ(from[i].addr.sa.sa_family, AF_INET);
    EXPECT_EQ(from[i].addr.v4.sin_port, tx_addr.sin_port);
  }
  loop.io(2).cancel(rx);
  ::close(rx);
  ::close(tx);
}

INSTANTIATE_TEST_SUITE_P(Multishot, Loop, ::testing::Values(true));
INSTANTIATE_TEST_SUITE_P(Fallback, Loop, ::testing::Values(false));

}  // namespace
