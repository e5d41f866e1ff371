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
  explicit Pair(const std::string& standby_extra = "") {
    char dir[] = "/tmp/waygate-pair-XXXXXX";
    folder = ::mkdtemp(dir);
    key = folder + "/pair.key";
    std::ofstream(key) << "c2l4dGVlbiBieXRlcyBvZiBrZXksIHR3aWNlIG92ZXI=\n";  // 32 bytes, base64
    ::chmod(key.c_str(), 0600);
    a = Rig::load(WAYGATE_NAT_PLUGIN, config(port_a, port_b, "active"), options("c-one"));
    b = Rig::load(WAYGATE_NAT_PLUGIN, standby_extra + config(port_b, port_a, "standby"), options("c-two"));
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
  static waygate::testing::RigOptions options(std::string connector) {
    waygate::testing::RigOptions o;
    o.connector = std::move(connector);
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
  std::string field(Rig& r, const char* name) {
    const std::string s = state(r), label = std::string("\"") + name + "\":";
    const auto at = s.find(label);
    return at == std::string::npos ? "" : s.substr(at + label.size(), s.find_first_of(",}", at + label.size()) - at - label.size());
  }
  unsigned role(Rig& r, const char* body) {
    return r.request(waygate::Listener::admin, "PUT", "/v1/nat/pair", {}, body).status;
  }

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

// The standby's NAT log has the sessions it took, at the time it took them, as translated by the
// active (the name the active's datagrams carry).
TEST(NatPair, TheStandbysLogSaysWhenItTookEachSessionAndWhichConnectorTranslatedIt) {
  char dir[] = "/tmp/waygate-pairlog-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string log = std::string(dir) + "/nat.log";
  {
    Pair pair("log = '" + log + "'\n");
    pair.a->push(Direction::outbound, waygate::testing::udp("10.64.0.2", 5353, "203.0.113.53", 53), alice());
    pair.a->take(Direction::outbound);
    pair.exchange();
  }
  std::ifstream in(log);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.rfind(R"({"time":"2026-01-01T00:00:00.)", 0), 0u) << line;
  EXPECT_NE(line.find(R"("event":"start","connector":"c-one")"), std::string::npos) << line;
  std::remove(log.c_str());
  ::rmdir(dir);
}

// Both made active (VRRP's adverts lost between them): each translates on its own, the same
// inside endpoints to other ports, and takes nothing of the other's table. Made standby again, the
// second takes the first's table whole: its own sessions that stand in the way go at the
// snapshot's end, and the snapshot asked for again makes it level (the same digest), not a mix.
TEST(NatPair, AfterASplitBrainTheStandbyEndsLevelWithTheActiveNotAMix) {
  Pair pair;
  pair.a->push(Direction::outbound, waygate::testing::udp("10.64.0.2", 5999, "203.0.113.53", 53), alice());
  ASSERT_EQ(pair.a->take(Direction::outbound).size(), 1u);
  pair.exchange();
  ASSERT_EQ(pair.field(*pair.b, "behind"), "false") << pair.state(*pair.b);
  ASSERT_EQ(pair.role(*pair.b, R"({"role": "active", "vrrp": {"instance": "pair", "state": "MASTER", "priority": 100}})"), 200u);
  // The same inside endpoints on both, in another order on the second: other outside ports.
  for (std::uint16_t i = 0; i < 20; ++i) {
    pair.a->push(Direction::outbound, waygate::testing::udp("10.64.0.2", static_cast<std::uint16_t>(6000 + i), "203.0.113.53", 53), alice());
    pair.b->push(Direction::outbound, waygate::testing::udp("10.64.0.2", static_cast<std::uint16_t>(6019 - i), "203.0.113.53", 53), alice());
    ASSERT_EQ(pair.a->take(Direction::outbound).size(), 1u);
    ASSERT_EQ(pair.b->take(Direction::outbound).size(), 1u);
  }
  // And one only the second made.
  waygate::Meta bob = alice();
  bob.identity = 2;
  pair.b->push(Direction::outbound, waygate::testing::udp("10.64.0.3", 7000, "203.0.113.53", 53), bob);
  ASSERT_EQ(pair.b->take(Direction::outbound).size(), 1u);
  const std::string digest_a = pair.field(*pair.a, "digest");
  ASSERT_NE(digest_a, pair.field(*pair.b, "digest"));
  pair.exchange();
  EXPECT_EQ(pair.field(*pair.a, "split_brain"), "true") << pair.state(*pair.a);
  EXPECT_EQ(pair.field(*pair.b, "split_brain"), "true") << pair.state(*pair.b);
  EXPECT_EQ(pair.field(*pair.a, "digest"), digest_a);  // nothing of the other's taken
  EXPECT_EQ(pair.field(*pair.a, "sessions"), "21");
  EXPECT_GT(pair.a->counter("pair_split_brain_total"), 0);

  ASSERT_EQ(pair.role(*pair.b, R"({"role": "standby", "vrrp": {"instance": "pair", "state": "BACKUP", "priority": 100}})"), 200u);
  for (int i = 0; i < 40 && pair.field(*pair.b, "digest") != digest_a; ++i) pair.exchange();  // it asks each second
  EXPECT_EQ(pair.field(*pair.b, "digest"), digest_a) << pair.state(*pair.b);
  EXPECT_EQ(pair.field(*pair.b, "sessions"), "21");
  EXPECT_EQ(pair.field(*pair.b, "behind"), "false");
  EXPECT_EQ(pair.field(*pair.b, "peer_connector"), "\"c-one\"");
  EXPECT_GT(pair.b->counter("pair_refused_total"), 0);  // its own stood in the way, once
  EXPECT_EQ(pair.field(*pair.a, "split_brain"), "false");
  EXPECT_NE(pair.state(*pair.b).find(R"("vrrp":{"instance":"pair","state":"BACKUP","priority":100)"), std::string::npos)
      << pair.state(*pair.b);
  // The active's sessions are the standby's to carry: the same port once it is made active.
  pair.a->push(Direction::outbound, waygate::testing::udp("10.64.0.2", 6000, "203.0.113.53", 53), alice());
  const auto from_a = pair.a->take(Direction::outbound);
  ASSERT_EQ(pair.role(*pair.b, R"({"role": "active"})"), 200u);
  pair.b->push(Direction::outbound, waygate::testing::udp("10.64.0.2", 6000, "203.0.113.53", 53), alice());
  const auto from_b = pair.b->take(Direction::outbound);
  ASSERT_EQ(from_a.size(), 1u);
  ASSERT_EQ(from_b.size(), 1u);
  EXPECT_EQ(from_a[0].bytes[20], from_b[0].bytes[20]);
  EXPECT_EQ(from_a[0].bytes[21], from_b[0].bytes[21]);
  EXPECT_EQ(pair.role(*pair.b, R"({"role": "standby", "vrrp": {"state": "BACKUP"}})"), 400u);  // keepalived's words, whole
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
