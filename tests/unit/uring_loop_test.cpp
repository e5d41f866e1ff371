// The io_uring loop's streams, with the kernel's multishot receives and with the fallback a
// kernel without them gets: every datagram arrives once, in order, with its sender's address,
// and nothing arrives after cancel(); trains of datagrams (UDP GSO) leave as one send and a
// UDP_GRO socket's glued reads arrive cut apart again, single datagrams many to a large buffer.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "uring_loop.hpp"

using namespace std::chrono_literals;

namespace {

// A UDP socket on loopback, and its address.
std::pair<int, sockaddr_in> udp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return {fd, a};
}

// The datagrams of a train: 40 of 1200 bytes and a last one of 300, each filled with its number.
constexpr int kTrain = 41;
std::size_t train_size(int i) { return i < kTrain - 1 ? 1200 : 300; }

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
          from.push_back(c.packet->meta.endpoint);
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

TEST_P(Loop, SendSegmentsLeaveAsOneTrain) {
  auto [rx, rx_addr] = udp();
  auto [tx, tx_addr] = udp();
  int one = 1;
  ASSERT_EQ(::setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof one), 0);
  std::vector<waygate::Packet*> train;
  for (int i = 0; i < kTrain; ++i) {
    waygate::Packet* p = pool.alloc();
    p->resize(train_size(i));
    std::fill(p->data(), p->data() + p->size(), static_cast<std::uint8_t>(i));
    std::memcpy(&p->meta.endpoint.addr, &rx_addr, sizeof rx_addr);
    p->meta.endpoint.len = sizeof rx_addr;
    train.push_back(p);
  }
  std::vector<std::int32_t> sent;
  loop.io(3).send_segments(tx, train, 9);
  for (int i = 0; i < 100 && sent.size() < train.size(); ++i) {
    loop.wait(waygate::UringLoop::clock() + 5ms);
    loop.drain([&](std::uint32_t owner, const waygate::Completion& c) {
      if (owner != 3) return;
      EXPECT_EQ(c.tag, 9u);
      sent.push_back(c.result);
      pool.free(c.packet);
    });
  }
  ASSERT_EQ(sent.size(), train.size());
  for (int i = 0; i < kTrain; ++i) EXPECT_EQ(sent[i], static_cast<std::int32_t>(train_size(i)));
  EXPECT_EQ(pool.available(), pool.capacity() - (GetParam() ? 64 : 0));  // only the ring's buffers are out

  // One send, so the receiving kernel hands the whole train over in one read.
  std::vector<std::uint8_t> big(65536);
  alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(int))];
  iovec iov{big.data(), big.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(rx, &msg, 0);
  EXPECT_EQ(n, 40 * 1200 + 300);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->cmsg_type, UDP_GRO);
  int segment = 0;
  std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
  EXPECT_EQ(segment, 1200);
  ::close(rx);
  ::close(tx);
}

TEST_P(Loop, ReceiveSegmentsCutsGluedReadsApart) {
  auto [rx, rx_addr] = udp();
  auto [tx, tx_addr] = udp();
  int one = 1;
  ASSERT_EQ(::setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof one), 0);
  int room = 4 << 20;  // three trains cut apart by the kernel (the fallback's) must fit
  ::setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  loop.io(4).receive_segments(rx, 2);
  turn(1);
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < kTrain; ++i) bytes.insert(bytes.end(), train_size(i), static_cast<std::uint8_t>(i));
  for (int round = 0; round < 3; ++round) {  // trains sent by the test itself, in one sendmsg each
    iovec iov{bytes.data(), bytes.size()};
    alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
    msghdr msg{};
    msg.msg_name = &rx_addr;
    msg.msg_namelen = sizeof rx_addr;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    std::uint16_t segment = 1200;
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    ASSERT_EQ(::sendmsg(tx, &msg, 0), static_cast<ssize_t>(bytes.size()));
  }
  turn(0, 3 * kTrain);
  ASSERT_EQ(got.size(), 3u * kTrain);
  for (std::size_t i = 0; i < got.size(); ++i) {
    int k = static_cast<int>(i % kTrain);
    ASSERT_EQ(got[i].size(), train_size(k)) << i;
    EXPECT_EQ(got[i].front(), static_cast<std::uint8_t>(k));
    EXPECT_EQ(got[i].back(), static_cast<std::uint8_t>(k));
    EXPECT_EQ(from[i].addr.v4.sin_port, tx_addr.sin_port);
  }
  loop.io(4).cancel(rx);
  ::close(rx);
  ::close(tx);
}

// A stock WireGuard client sends no trains: each datagram is a read of its own. Where the kernel
// lets reads share the large buffers, a turn takes dozens of them; one read per buffer, 8.
TEST_P(Loop, SingleDatagramsShareLargeBuffers) {
  if (!GetParam()) GTEST_SKIP() << "the fallback has no large buffers";
  auto [rx, rx_addr] = udp();
  auto [tx, tx_addr] = udp();
  int one = 1;
  ASSERT_EQ(::setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof one), 0);
  int room = 4 << 20;
  ::setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  loop.io(5).receive_segments(rx, 3);
  turn(1);
  if (!loop.shared_large_buffers()) GTEST_SKIP() << "this kernel consumes provided buffers whole";
  constexpr int kDatagrams = 120;
  auto size = [](int i) { return std::size_t{1001} + static_cast<std::size_t>(i % 7); };  // reads end unaligned
  for (int i = 0; i < kDatagrams; ++i) {
    std::vector<std::uint8_t> bytes(size(i), static_cast<std::uint8_t>(i));
    ASSERT_EQ(::sendto(tx, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&rx_addr), sizeof rx_addr),
              static_cast<ssize_t>(bytes.size()));
  }
  int turns = 0;
  while (got.size() < kDatagrams && turns < 100) {
    turn(1);
    ++turns;
  }
  ASSERT_EQ(got.size(), std::size_t{kDatagrams});
  for (int i = 0; i < kDatagrams; ++i) {
    ASSERT_EQ(got[i].size(), size(i)) << i;
    EXPECT_EQ(got[i].front(), static_cast<std::uint8_t>(i));
    EXPECT_EQ(got[i].back(), static_cast<std::uint8_t>(i));
    EXPECT_EQ(from[i].addr.v4.sin_port, tx_addr.sin_port);
  }
  EXPECT_LE(turns, 8) << "a read per buffer takes 8 datagrams a turn: 15 turns";
  loop.io(5).cancel(rx);
  ::close(rx);
  ::close(tx);
}

INSTANTIATE_TEST_SUITE_P(Multishot, Loop, ::testing::Values(true));
INSTANTIATE_TEST_SUITE_P(Fallback, Loop, ::testing::Values(false));

}  // namespace
