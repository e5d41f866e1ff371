// A connector pair's nat stages, each in a rig of its own, linked over loopback UDP: the standby
// catches up with the active's table by itself, forwards nothing while standby, and once made
// active (as keepalived's notify script does, through the admin API) carries the active's
// connection on through the same outside port.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "waygate/testing/packets.hpp"
#include "waygate/testing/rig.hpp"

using namespace std::chrono_literals;
using waygate::Direction;
using waygate::testing::Rig;

namespace {

struct Pair {
  Pair() {
    char dir[] = "/tmp/waygate-pair-XXXXXX";
    folder = ::mkdtemp(dir);
    key = folder + "/pair.key";
    std::ofstream(key) << "c2l4dGVlbiBieXRlcyBvZiBrZXksIHR3aWNlIG92ZXI=\n";  // 32 bytes, base64
    ::chmod(key.c_str(), 0600);
    a = Rig::load(WAYGATE_NAT_PLUGIN, config(port_a, port_b, "active"), options());
    b = Rig::load(WAYGATE_NAT_PLUGIN, config(port_b, port_a, "standby"), options());
    a->start();
    b->start();
  }
  ~Pair() {
    a->stop();
    b->stop();
    std::remove(key.c_str());
    ::rmdir(folder.c_str());
  }
  std::string config(int listen, int peer, const char* role) {
    return "block_size = 100\n[pair]\nlisten = '127.0.0.1:" + std::to_string(listen) + "'\npeer = '127.0.0.1:" +
           std::to_string(peer) + "'\nkey_file = '" + key + "'\nrole = '" + role + "'\n";
  }
  static waygate::testing::RigOptions options() {
    waygate::testing::RigOptions o;
    o.directory = "[[socket]]\nname = 'exit'\ntype = 'exit_node'\negress = ['198.51.100.1']\negress_ports = '20000-20999'\n";
    return o;
  }
  // Both sides' I/O and timers, a few rounds: datagrams there, answers back.
  void exchange() {
    for (int i = 0; i < 6; ++i) {
      a->advance(20ms);
      b->advance(20ms);
      a->poll(5ms);
      b->poll(5ms);
    }
  }
  std::string state(Rig& r) { return r.request(waygate::Listener::admin, "GET", "/v1/nat/pair").body; }

  int port_a = 40000 + static_cast<int>(::getpid() % 10000), port_b = port_a + 10000;
  std::string folder, key;
  std::unique_ptr<Rig> a, b;
};

waygate::Meta alice() {
  waygate::Meta m;
  m.identity = 1;
  m.socket = 0;
  return m;
}

TEST(NatPair, TheStandbyHoldsTheActivesSessionsAndCarriesThemOnceActive) {
  Pair pair;
  const auto query = waygate::testing::udp("10.64.0.2", 5353, "203.0.113.53", 53);
  pair.a->push(Direction::outbound, query, alice());
  auto out = pair.a->take(Direction::outbound);
  ASSERT_EQ(out.size(), 1u);
  const std::uint16_t port = static_cast<std::uint16_t>((out[0].bytes[20] << 8) | out[0].bytes[21]);
  pair.exchange();  // the standby, new, asks for the whole table and gets it
  EXPECT_NE(pair.state(*pair.b).find("\"behind\":false"), std::string::npos) << pair.state(*pair.b);
  EXPECT_NE(pair.state(*pair.b).find("\"sessions\":1"), std::string::npos) << pair.state(*pair.b);

  // While standby, it forwards nothing.
  const auto answer = waygate::testing::udp("203.0.113.53", 53, "198.51.100.1", port);
  pair.b->push(Direction::inbound, answer);
  EXPECT_TRUE(pair.b->take(Direction::inbound).empty());
  EXPECT_EQ(pair.b->drops("standby"), 1u);

  // A second session, made while both run, reaches it in order.
  pair.a->push(Direction::outbound, waygate::testing::udp("10.64.0.2", 5354, "203.0.113.53", 53), alice());
  pair.a->take(Direction::outbound);
  pair.exchange();
  EXPECT_NE(pair.state(*pair.b).find("\"sessions\":2"), std::string::npos) << pair.state(*pair.b);

  // The active is gone; keepalived makes the standby active.
  const auto made = pair.b->request(waygate::Listener::admin, "PUT", "/v1/nat/pair", {}, R"({"role": "active"})");
  EXPECT_EQ(made.status, 200u) << made.body;
  pair.b->push(Direction::inbound, answer);
  auto back = pair.b->take(Direction::inbound);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].meta.identity, 1u);
  EXPECT_EQ(back[0].bytes[16], 10);  // to her inside address again
  EXPECT_EQ(back[0].bytes[19], 2);
  pair.b->push(Direction::outbound, query, alice());
  auto again = pair.b->take(Direction::outbound);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ((again[0].bytes[20] << 8) | again[0].bytes[21], port);  // the same outside port
}

TEST(NatPair, ADatagramFromElsewhereOrUnderAnotherKeyIsRefused) {
  Pair pair;
  EXPECT_EQ(pair.b->request(waygate::Listener::admin, "PUT", "/v1/nat/pair", {}, R"({"role": "boss"})").status, 400u);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(pair.port_b));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string junk(200, 'x');
  ::sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
  for (int i = 0; i < 5 && pair.b->counter("pair_refused_total") == 0; ++i) pair.b->poll(20ms);
  EXPECT_EQ(pair.b->counter("pair_refused_total"), 1);
  EXPECT_NE(pair.state(*pair.b).find("\"role\":\"standby\""), std::string::npos);
}

}  // namespace
