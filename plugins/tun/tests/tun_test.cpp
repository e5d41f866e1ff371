// The tun edge in the rig, on a SOCK_SEQPACKET socketpair instead of a TUN device (the plugin's
// `fd` key): each write on one end is one packet on the other, as with a TUN. No root needed.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "waygate/testing/rig.hpp"

using namespace std::chrono_literals;
using waygate::Direction;
using waygate::testing::Rig;

namespace {

struct Pair {
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0); }
  ~Pair() {
    if (fds[1] >= 0) ::close(fds[1]);
  }
  int edge() { return std::exchange(fds[0], -1); }  // the plugin takes this end over
  int fds[2] = {-1, -1};
};

std::vector<std::uint8_t> ipv4(std::size_t size, std::uint8_t tag) {
  std::vector<std::uint8_t> p(size, tag);
  p[0] = 0x45;
  return p;
}

std::unique_ptr<Rig> edge(int fd, std::string extra = "") {
  return Rig::load(WAYGATE_TUN_PLUGIN, "fd = " + std::to_string(fd) + "\n" + extra);
}

TEST(TunEdge, ReadPacketsEnterThePipeline) {
  Pair pair;
  auto rig = edge(pair.edge());
  rig->start();
  for (std::uint8_t i = 0; i < 20; ++i) {
    auto pkt = ipv4(40 + i, i);
    ASSERT_EQ(::write(pair.fds[1], pkt.data(), pkt.size()), static_cast<ssize_t>(pkt.size()));
  }
  std::vector<waygate::testing::Captured> got;
  for (int tries = 0; got.size() < 20 && tries < 50; ++tries) {
    rig->poll(20ms);
    for (auto& c : rig->take(Direction::outbound)) got.push_back(std::move(c));
  }
  ASSERT_EQ(got.size(), 20u);
  for (std::uint8_t i = 0; i < 20; ++i) EXPECT_EQ(got[i].bytes, ipv4(40 + i, i));
  EXPECT_EQ(rig->counter("rx_packets_total"), 20);
  EXPECT_EQ(rig->counter("rx_bytes_total"), 20 * 40 + 190);
}

TEST(TunEdge, NonIpIsDroppedAndCounted) {
  Pair pair;
  auto rig = edge(pair.edge());
  rig->start();
  std::uint8_t junk[] = {0x12, 0x34, 0x56};
  ASSERT_EQ(::write(pair.fds[1], junk, sizeof junk), 3);
  rig->poll(200ms);
  EXPECT_TRUE(rig->take(Direction::outbound).empty());
  EXPECT_EQ(rig->drops("not_ip"), 1u);
}

TEST(TunEdge, PacketsReachingTheEdgeAreWritten) {
  Pair pair;
  auto rig = edge(pair.edge());
  rig->start();
  rig->push(Direction::inbound, std::vector<std::vector<std::uint8_t>>{ipv4(60, 1), ipv4(1400, 2)});
  rig->poll();  // delivers the write completions
  std::uint8_t buf[2048];
  EXPECT_EQ(::read(pair.fds[1], buf, sizeof buf), 60);
  EXPECT_EQ(buf[1], 1);
  EXPECT_EQ(::read(pair.fds[1], buf, sizeof buf), 1400);
  EXPECT_EQ(buf[1], 2);
  EXPECT_EQ(rig->counter("tx_packets_total"), 2);
  EXPECT_EQ(rig->counter("tx_bytes_total"), 1460);
}

// As a tap in the middle of a pipeline: only packets to its prefixes enter the device; the rest,
// and everything inbound, pass on; what the device answers goes back towards the clients.
TEST(TunEdge, TapTakesItsPrefixesAndAnswersBack) {
  Pair pair;
  auto rig = edge(pair.edge(), "take = [\"10.64.0.1/32\"]\n");
  rig->start();
  auto to = [](std::uint8_t last) {
    auto p = ipv4(40, 0);
    p[16] = 10, p[17] = 64, p[18] = 0, p[19] = last;
    return p;
  };
  rig->push(Direction::outbound, std::vector<std::vector<std::uint8_t>>{to(1), to(2)});
  rig->push(Direction::inbound, to(1));
  rig->poll();
  auto passed = rig->take(Direction::outbound);
  ASSERT_EQ(passed.size(), 1u);
  EXPECT_EQ(passed[0].bytes, to(2));
  EXPECT_EQ(rig->take(Direction::inbound).size(), 1u);  // inbound traffic is not the tap's
  std::uint8_t buf[2048];
  ASSERT_EQ(::read(pair.fds[1], buf, sizeof buf), 40);  // only the one for 10.64.0.1
  EXPECT_EQ(buf[19], 1);
  EXPECT_EQ(rig->counter("tx_packets_total"), 1);
  auto answer = ipv4(44, 7);
  ASSERT_EQ(::write(pair.fds[1], answer.data(), answer.size()), 44);
  rig->poll(200ms);
  auto back = rig->take(Direction::inbound);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].bytes, answer);
  EXPECT_TRUE(rig->take(Direction::outbound).empty());
  EXPECT_THROW(edge(Pair().edge(), "take = [\"10.64.0.1/40\"]\n"), waygate::ConfigError);
}

TEST(TunEdge, FailedWriteIsACountedDrop) {
  Pair pair;
  auto rig = edge(pair.edge());
  rig->start();
  ::close(std::exchange(pair.fds[1], -1));  // the device went away
  rig->push(Direction::inbound, ipv4(60, 1));
  rig->poll();
  EXPECT_EQ(rig->drops("write_failed"), 1u);
  EXPECT_EQ(rig->counter("tx_packets_total"), 0);
}

TEST(TunEdge, EveryBufferComesBack) {
  Pair pair;
  auto rig = edge(pair.edge());
  rig->start();
  auto pkt = ipv4(100, 3);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(::write(pair.fds[1], pkt.data(), pkt.size()), 100);
  rig->poll(50ms);
  EXPECT_EQ(rig->take(Direction::outbound).size(), 50u);
  rig->push(Direction::inbound, pkt);
  rig->poll();
  rig->stop();
  EXPECT_EQ(rig->pool().available(), rig->pool().capacity());
}

TEST(TunEdge, ConfigErrorsNameTheKey) {
  try {
    Rig::load(WAYGATE_TUN_PLUGIN, "mtu = 100");
    FAIL() << "accepted mtu 100";
  } catch (const waygate::ConfigError& e) {
    EXPECT_STREQ(e.what(), "<rig>:1:1: key 'mtu': expected an integer from 576 to 65535, got 100");
  }
  EXPECT_THROW(Rig::load(WAYGATE_TUN_PLUGIN, "address = ['10.0.0.300/24']"), waygate::ConfigError);
  EXPECT_THROW(Rig::load(WAYGATE_TUN_PLUGIN, "device = 'a-name-far-too-long'"), waygate::ConfigError);
  EXPECT_THROW(Rig::load(WAYGATE_TUN_PLUGIN, "speed = 1"), waygate::ConfigError);
}

TEST(TunEdge, RunningDeviceCannotBeSwapped) {
  Pair pair;
  auto rig = edge(pair.edge());
  rig->start();
  EXPECT_THROW(rig->reconfigure("fd = 99\n"), waygate::ConfigError);
}

}  // namespace
