// Two wireguard edges, each alone in a rig, talking over real UDP on loopback: the handshake,
// transport both ways, cryptokey routing and its drops, replay, unknown peers, garbage, and the
// timers (rekey, retry, give-up) on the rigs' fake clocks. No root, no TUN.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "crypto.hpp"
#include "keys.hpp"
#include "messages.hpp"
#include "waygate/testing/packets.hpp"
#include "waygate/testing/rig.hpp"

using namespace std::chrono_literals;
using waygate::Direction;
using waygate::testing::Rig;
using waygate::testing::RigOptions;

namespace {

std::string key_file(const waygate::wg::Key& key) {
  static int n = 0;
  std::string path = fmt::format("{}/wg-edge-{}-{}.key", ::testing::TempDir(), ::getpid(), n++);
  std::ofstream(path) << waygate::wg::to_base64(key) << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

int free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// An IPv4 UDP packet of `size` bytes from src to dst (10.0.0.x), its payload all `tag`.
std::vector<std::uint8_t> ipv4(std::uint8_t src, std::uint8_t dst, std::uint8_t tag, std::size_t size = 60) {
  return waygate::testing::udp("10.0.0." + std::to_string(src), 4000, "10.0.0." + std::to_string(dst), 4000,
                               std::string(size - 28, static_cast<char>(tag)));
}

// A point of order 8 (crypto_test.cpp has them all), base64 as a config writes a key.
constexpr const char* kSmallOrderKey = "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=";

// A wireguard edge at the outside end of its rig (what it receives travels inbound), with this
// private key and `rest` of its table, and `crew` threads beside its own for its crypto; `peer`
// writes a [[peer]] table for another key.
std::unique_ptr<Rig> edge(const waygate::wg::Key& private_key, const std::string& rest, unsigned crew = 0) {
  RigOptions options;
  options.received = Direction::inbound;
  options.crew_threads = crew;
  return Rig::load(WAYGATE_WIREGUARD_PLUGIN, fmt::format("private_key_file = \"{}\"\n{}", key_file(private_key), rest),
                   options);
}

std::string peer(const waygate::wg::Key& its_private_key, const std::string& allowed, int port = 0,
                 const std::string& name = "") {
  std::string text = fmt::format("[[peer]]\npublic_key = \"{}\"\nallowed_ips = [\"{}\"]\n",
                                 waygate::wg::to_base64(waygate::wg::public_key(its_private_key)), allowed);
  if (port != 0) text += fmt::format("endpoint = \"127.0.0.1:{}\"\n", port);
  if (!name.empty()) text += fmt::format("name = \"{}\"\n", name);
  return text;
}

struct Pair {
  waygate::wg::Key a_private = waygate::wg::generate_private_key();
  waygate::wg::Key b_private = waygate::wg::generate_private_key();
  int a_port = free_udp_port();
  int b_port = free_udp_port();
  std::unique_ptr<Rig> a, b;

  // a dials b; a owns 10.0.0.1, b owns 10.0.0.2. The edges sit at the outside end of their
  // pipelines: what they receive travels inbound.
  explicit Pair(std::string a_extra = "", std::string b_extra = "", unsigned crew = 0) {
    a = edge(a_private, fmt::format("listen_port = {}\n{}\n{}", a_port, a_extra, peer(b_private, "10.0.0.2/32", b_port, "b")),
             crew);
    b = edge(b_private, fmt::format("listen_port = {}\n{}\n{}", b_port, b_extra, peer(a_private, "10.0.0.1/32", 0, "a")),
             crew);
    a->start();
    b->start();
  }
  // Moves datagrams between the two until `done` holds or nothing more happens.
  void exchange(const std::function<bool()>& done = [] { return false; }) {
    for (int i = 0; i < 50 && !done(); ++i) {
      std::size_t n = a->poll(5ms) + b->poll(5ms);
      if (n == 0 && i > 4) break;
    }
  }
};

TEST(WireGuardEdge, HandshakeThenTransportBothWays) {
  Pair pair;
  pair.a->push(Direction::outbound, ipv4(1, 2, 7));  // a packet reaching a's edge: send it
  std::vector<waygate::testing::Captured> got;
  pair.exchange([&] {
    for (auto& c : pair.b->take(Direction::inbound)) got.push_back(c);
    return !got.empty();
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, ipv4(1, 2, 7));  // staged during the handshake, then delivered intact
  EXPECT_EQ(pair.a->counter("handshakes_total"), 1);
  EXPECT_EQ(pair.b->counter("handshakes_total"), 1);

  pair.b->push(Direction::outbound, ipv4(2, 1, 9, 1000));
  std::vector<waygate::testing::Captured> back;
  pair.exchange([&] {
    for (auto& c : pair.a->take(Direction::inbound)) back.push_back(c);
    return !back.empty();
  });
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].bytes, ipv4(2, 1, 9, 1000));
  EXPECT_EQ(back[0].meta.peer, 0u);  // tagged with the peer that sent it
  EXPECT_EQ(pair.a->counter("peer_rx_bytes_total", {{"peer", "b"}}), 1000);
}

// Two workers ([host] workers = 2) serving one port, a client dialling them. The client's peer is
// owned by the worker its key names; the kernel steers its datagrams there by the index that
// worker handed out, so after the handshake (its initiation handed over if it landed on the
// other) the other worker receives nothing; a packet for the client that reached the other worker
// (as a TUN queue might hand it one) is handed over and sent by the owner.
TEST(WireGuardEdge, TwoWorkersOwnTheirPeersAndSteerTheirDatagrams) {
  const waygate::wg::Key server_private = waygate::wg::generate_private_key();
  const waygate::wg::Key client_private = waygate::wg::generate_private_key();
  const int server_port = free_udp_port(), client_port = free_udp_port();
  RigOptions options;
  options.received = Direction::inbound;
  auto workers = Rig::load_workers(
      2, WAYGATE_WIREGUARD_PLUGIN,
      fmt::format("private_key_file = \"{}\"\nlisten_port = {}\n{}", key_file(server_private), server_port,
                  peer(client_private, "10.0.0.1/32", 0, "client")),
      options);
  for (auto& w : workers) w->start();  // in order: the sockets join the port's group so
  auto client = edge(client_private, fmt::format("listen_port = {}\n{}", client_port,
                                                 peer(server_private, "10.0.0.2/32", server_port, "server")));
  client->start();
  const unsigned owner = waygate::wg::public_key(client_private)[0] % 2;  // the key's first bytes, mod 2
  Rig& mine = *workers[owner];
  Rig& other = *workers[1 - owner];
  auto exchange = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 100 && !done(); ++i) client->poll(2ms), workers[0]->poll(2ms), workers[1]->poll(2ms);
  };

  std::vector<waygate::testing::Captured> got;
  for (std::uint8_t tag = 0; tag < 20; ++tag) client->push(Direction::outbound, ipv4(1, 2, tag));
  exchange([&] {
    for (auto& c : mine.take(Direction::inbound)) got.push_back(c);
    return got.size() == 20;
  });
  ASSERT_EQ(got.size(), 20u) << "what the owner let in";
  EXPECT_TRUE(other.take(Direction::inbound).empty());
  EXPECT_EQ(mine.counter("handshakes_total"), 1);
  EXPECT_EQ(other.counter("handshakes_total"), 0);
  // The other worker received the initiation at most (then handed it over), none of the data.
  EXPECT_LE(other.counter("rx_packets_total"), 1);
  EXPECT_EQ(other.counter("handed_over_total"), other.counter("rx_packets_total"));
  EXPECT_GE(mine.counter("rx_packets_total"), 20);

  other.push(Direction::outbound, ipv4(2, 1, 42));  // for the client, on the wrong worker
  EXPECT_EQ(other.counter("handed_over_total"), other.counter("rx_packets_total") + 1);
  std::vector<waygate::testing::Captured> back;
  exchange([&] {
    for (auto& c : client->take(Direction::inbound)) back.push_back(c);
    return !back.empty();
  });
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].bytes, ipv4(2, 1, 42));
  EXPECT_EQ(other.counter("tx_packets_total"), 0) << "only the owner sends to its peer";
}

// Once a session exists, a burst's datagrams to one peer go as trains (UDP GSO): a shorter
// datagram ends one, and every inner packet still arrives, in order. Without udp_offload, none.
// A pair's floating address: bound before the host has it (a standby's), and the source of what
// the edge sends (the other end learns it as the endpoint, and keeps dialling it).
TEST(WireGuardEdge, ListenAddressIsBoundAheadAndIsTheSourceOfWhatItSends) {
  auto absent = edge(waygate::wg::generate_private_key(), "listen_port = 0\nlisten_address = [\"192.0.2.77\"]\n");
  EXPECT_NO_THROW(absent->start());  // 192.0.2.77 is nowhere on this host
  absent->stop();

  Pair pair("listen_address = [\"127.0.0.7\"]");
  pair.a->push(Direction::outbound, ipv4(1, 2, 0x11));
  pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });
  const std::string peers = pair.b->request(waygate::Listener::admin, "GET", "/v1/peers").body;
  EXPECT_NE(peers.find(fmt::format("\"endpoint\":\"127.0.0.7:{}\"", pair.a_port)), std::string::npos) << peers;
}

TEST(WireGuardEdge, ABurstToOnePeerLeavesInTrains) {
  for (bool offload : {true, false}) {
    Pair pair(offload ? "" : "udp_offload = false");
    pair.a->push(Direction::outbound, ipv4(1, 2, 7));
    pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });
    std::vector<std::vector<std::uint8_t>> burst;
    for (int i = 0; i < 100; ++i) burst.push_back(ipv4(1, 2, static_cast<std::uint8_t>(i), i == 69 ? 200 : 1000));
    pair.a->push(Direction::outbound, burst);
    std::vector<waygate::testing::Captured> got;
    pair.exchange([&] {
      for (auto& c : pair.b->take(Direction::inbound)) got.push_back(c);
      return got.size() == burst.size();
    });
    ASSERT_EQ(got.size(), burst.size()) << offload;
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, burst[i]) << i;
    // 0-63 (64 at most), 64-69 (ended by the shorter one), 70-99.
    EXPECT_EQ(pair.a->counter("trains_sent_total"), offload ? 3 : 0);
    EXPECT_EQ(pair.a->counter("tx_packets_total"), 102);  // the initiation, the first packet, the burst
  }
}

TEST(WireGuardEdge, PeersAnswerTellsEndpointHandshakeAndBytes) {
  Pair pair;
  auto before = boost::json::parse(pair.a->request(waygate::Listener::admin, "GET", "/v1/peers").body);
  const auto& quiet = before.at("peers").at(0).as_object();
  EXPECT_EQ(quiet.at("name").as_string(), "b");
  EXPECT_TRUE(quiet.at("last_handshake").is_null());
  EXPECT_FALSE(quiet.at("session").as_bool());
  EXPECT_EQ(quiet.at("endpoint").as_string(), fmt::format("127.0.0.1:{}", pair.b_port));

  pair.a->push(Direction::outbound, ipv4(1, 2, 7, 100));
  pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });
  auto after = boost::json::parse(pair.a->request(waygate::Listener::admin, "GET", "/v1/peers").body);
  const auto& busy = after.at("peers").at(0).as_object();
  EXPECT_TRUE(busy.at("session").as_bool());
  EXPECT_EQ(busy.at("tx_bytes").to_number<std::uint64_t>(), 100u);
  EXPECT_EQ(busy.at("handshakes").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(busy.at("allowed_ips").at(0).as_string(), "10.0.0.2/32");
  // b learnt a's endpoint from its handshake, and both clocks are the rigs' fake wall clocks.
  auto theirs = boost::json::parse(pair.b->request(waygate::Listener::admin, "GET", "/v1/peers").body);
  EXPECT_EQ(theirs.at("peers").at(0).at("endpoint").as_string(), fmt::format("127.0.0.1:{}", pair.a_port));
  EXPECT_FALSE(theirs.at("peers").at(0).at("last_handshake").is_null());
}

TEST(WireGuardEdge, CryptokeyRoutingDrops) {
  Pair pair;
  pair.a->push(Direction::outbound, ipv4(1, 99, 1));  // no peer owns 10.0.0.99
  EXPECT_EQ(pair.a->drops("no_peer"), 1u);
  pair.a->push(Direction::outbound, std::vector<std::uint8_t>{0x12, 0x34});
  EXPECT_EQ(pair.a->drops("not_ip"), 1u);

  // b's peer a may only send from 10.0.0.1: a packet claiming 10.0.0.3 is dropped by b.
  pair.a->push(Direction::outbound, ipv4(3, 2, 1));
  pair.exchange();
  EXPECT_TRUE(pair.b->take(Direction::inbound).empty());
  EXPECT_EQ(pair.b->drops("source_not_allowed"), 1u);
}

TEST(WireGuardEdge, GarbageAndReplayAreCountedDrops) {
  Pair pair;
  pair.a->push(Direction::outbound, ipv4(1, 2, 1));
  pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });

  // Capture one transport datagram from a to b with a third socket standing in for b's port.
  int spy = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<std::uint16_t>(pair.b_port));
  auto send_raw = [&](const std::vector<std::uint8_t>& bytes) {
    ::sendto(spy, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  };
  for (std::size_t n : {0u, 1u, 3u, 31u, 147u, 148u, 149u, 2000u}) send_raw(std::vector<std::uint8_t>(n, 0x01));
  std::vector<std::uint8_t> bad_mac(waygate::wg::kInitiationSize, 0);
  bad_mac[0] = 1;
  send_raw(bad_mac);
  std::vector<std::uint8_t> unknown_index(64, 0);
  unknown_index[0] = 4;
  send_raw(unknown_index);
  pair.exchange();
  EXPECT_GE(pair.b->drops("malformed"), 6u);
  EXPECT_EQ(pair.b->drops("bad_mac1"), 1u);
  EXPECT_EQ(pair.b->drops("unknown_index"), 1u);
  ::close(spy);
}

// A UDP relay between a and b that keeps a copy of every datagram a sends: the man in the middle
// who records traffic and plays it back.
struct Relay {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int port = 0;
  sockaddr_in a{}, b{};
  std::vector<std::vector<std::uint8_t>> from_a;
  bool hold = false;  // keep what a sends instead of passing it on
  explicit Relay(int b_port) {
    sockaddr_in self{};
    self.sin_family = AF_INET;
    self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self);
    socklen_t len = sizeof self;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len);
    port = ntohs(self.sin_port);
    b.sin_family = AF_INET;
    b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    b.sin_port = htons(static_cast<std::uint16_t>(b_port));
  }
  ~Relay() { ::close(fd); }
  void pump() {
    std::uint8_t buf[2048];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    for (ssize_t n; (n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len)) > 0; len = sizeof from) {
      bool from_b = from.sin_port == b.sin_port;
      if (!from_b) {
        a = from;
        from_a.emplace_back(buf, buf + n);
      }
      if (hold && !from_b) continue;
      const sockaddr_in& to = from_b ? a : b;
      ::sendto(fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
  }
  void replay(const std::vector<std::uint8_t>& d) {
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&b), sizeof b);
  }
};

// a dials b through a Relay, each edge with `crew` threads beside its own.
struct Relayed {
  waygate::wg::Key a_private = waygate::wg::generate_private_key();
  waygate::wg::Key b_private = waygate::wg::generate_private_key();
  int b_port = free_udp_port();
  Relay relay{b_port};
  std::unique_ptr<Rig> a, b;
  explicit Relayed(unsigned crew = 0) {
    a = edge(a_private, peer(b_private, "10.0.0.2/32", relay.port), crew);
    b = edge(b_private, fmt::format("listen_port = {}\n{}", b_port, peer(a_private, "10.0.0.1/32")), crew);
    a->start();
    b->start();
  }
  // One packet from a to b, the handshake before it: how many b let in.
  std::size_t first_packet() {
    a->push(Direction::outbound, ipv4(1, 2, 1));
    std::size_t delivered = 0;
    for (int i = 0; i < 40 && delivered == 0; ++i) {
      a->poll(2ms), relay.pump(), b->poll(2ms), relay.pump();
      delivered += b->take(Direction::inbound).size();
    }
    return delivered;
  }
};

TEST(WireGuardEdge, ReplayedDataIsDropped) {
  Relayed pair;
  Relay& relay = pair.relay;
  Rig& b = *pair.b;
  ASSERT_EQ(pair.first_packet(), 1u);
  std::vector<std::uint8_t> data;
  for (auto& d : relay.from_a)
    if (d.size() > waygate::wg::kKeepaliveSize && d[0] == 4) data = d;  // the transport message with the packet
  ASSERT_FALSE(data.empty());
  relay.replay(data);
  relay.replay(data);
  for (int i = 0; i < 5; ++i) b.poll(2ms);
  EXPECT_TRUE(b.take(Direction::inbound).empty());
  EXPECT_EQ(b.drops("replayed"), 2u);
}

// With a crew, a burst is sealed and a turn's messages are opened spread over two threads: every
// packet still arrives intact and in order, both ways. A corrupt message among the others is the
// only one lost, and the same message twice in one turn gets in once.
TEST(WireGuardEdge, ACrewSealsAndOpensWithoutReordering) {
  Pair pair("", "", 1);
  pair.a->push(Direction::outbound, ipv4(1, 2, 7));
  pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });
  for (auto [from, to] : {std::pair{pair.a.get(), pair.b.get()}, std::pair{pair.b.get(), pair.a.get()}}) {
    const std::uint8_t src = from == pair.a.get() ? 1 : 2;
    std::vector<std::vector<std::uint8_t>> burst;
    for (int i = 0; i < 200; ++i)
      burst.push_back(ipv4(src, static_cast<std::uint8_t>(3 - src), static_cast<std::uint8_t>(i), 200 + 5 * i));
    from->push(Direction::outbound, burst);
    std::vector<waygate::testing::Captured> got;
    pair.exchange([&] {
      for (auto& c : to->take(Direction::inbound)) got.push_back(c);
      return got.size() == burst.size();
    });
    ASSERT_EQ(got.size(), burst.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, burst[i]) << i;
  }

  Relayed relayed(1);
  Relay& relay = relayed.relay;
  Rig &a = *relayed.a, &b = *relayed.b;
  ASSERT_EQ(relayed.first_packet(), 1u);
  relay.hold = true;
  relay.from_a.clear();
  std::vector<std::vector<std::uint8_t>> burst;
  for (int i = 0; i < 20; ++i) burst.push_back(ipv4(1, 2, static_cast<std::uint8_t>(i), 1000));
  a.push(Direction::outbound, burst);
  for (int i = 0; i < 10 && relay.from_a.size() < burst.size(); ++i) relay.pump();
  ASSERT_EQ(relay.from_a.size(), burst.size());
  auto sent = relay.from_a;
  sent[10][40] ^= 1;                          // corrupt: fails its tag
  sent.insert(sent.begin() + 6, sent[5]);     // the same message twice
  for (auto& d : sent) relay.replay(d);
  std::vector<waygate::testing::Captured> got;
  for (int i = 0; i < 20 && got.size() < burst.size() - 1; ++i) {
    b.poll(2ms);
    for (auto& c : b.take(Direction::inbound)) got.push_back(c);
  }
  burst.erase(burst.begin() + 10);
  ASSERT_EQ(got.size(), burst.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, burst[i]) << i;
  EXPECT_EQ(b.drops("decrypt_failed"), 1u);
  EXPECT_EQ(b.drops("replayed"), 1u);
}

TEST(WireGuardEdge, PersistentKeepaliveKeepsSending) {
  Pair pair("", "");
  pair.a->reconfigure(fmt::format(R"(
private_key_file = "{}"
listen_port = {}
[[peer]]
name = "b"
public_key = "{}"
endpoint = "127.0.0.1:{}"
allowed_ips = ["10.0.0.2/32"]
persistent_keepalive = "25s"
)", key_file(pair.a_private), pair.a_port, waygate::wg::to_base64(waygate::wg::public_key(pair.b_private)), pair.b_port));
  pair.exchange();
  EXPECT_EQ(pair.a->counter("handshakes_total"), 1);  // a keepalive needs a session: it made one
  auto sent = pair.a->counter("tx_packets_total");
  for (int s = 0; s < 100; ++s) {  // 100 s of silence: a keepalive every 25 s
    pair.a->advance(1s);
    pair.b->advance(1s);
    pair.exchange();
  }
  EXPECT_GE(pair.a->counter("tx_packets_total") - sent, 4);
  EXPECT_LE(pair.a->counter("tx_packets_total") - sent, 5);
}

// Cryptokey routing follows a reload: the table is built again from the peers' new allowed IPs,
// and of two peers claiming one prefix the later decides.
TEST(WireGuardEdge, AReloadRoutesByTheNewAllowedIps) {
  Pair pair;
  auto c_private = waygate::wg::generate_private_key();
  pair.a->reconfigure(fmt::format("private_key_file = \"{}\"\nlisten_port = {}\n{}\n{}", key_file(pair.a_private), pair.a_port,
                                  peer(pair.b_private, "10.0.0.9/32", pair.b_port, "b"), peer(c_private, "10.0.0.0/24", 0, "c")));
  pair.a->push(Direction::outbound, ipv4(1, 9, 1));  // b's now: a handshake with b, then delivered
  std::vector<waygate::testing::Captured> got;
  pair.exchange([&] {
    for (auto& c : pair.b->take(Direction::inbound)) got.push_back(c);
    return !got.empty();
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, ipv4(1, 9, 1));
  const auto sent = pair.a->counter("tx_packets_total");
  pair.a->push(Direction::outbound, ipv4(1, 2, 2));  // b's no more: c's /24, and c has no endpoint
  pair.exchange();
  EXPECT_TRUE(pair.b->take(Direction::inbound).empty());
  EXPECT_EQ(pair.a->counter("tx_packets_total"), sent);
  // c claims b's /32 too, and is listed later: c's.
  pair.a->reconfigure(fmt::format("private_key_file = \"{}\"\nlisten_port = {}\n{}\n{}", key_file(pair.a_private), pair.a_port,
                                  peer(pair.b_private, "10.0.0.9/32", pair.b_port, "b"), peer(c_private, "10.0.0.9/32", 0, "c")));
  pair.a->push(Direction::outbound, ipv4(1, 9, 3));
  pair.exchange();
  EXPECT_TRUE(pair.b->take(Direction::inbound).empty());
}

TEST(WireGuardEdge, UnknownPeerIsRefused) {
  Pair pair;
  // A third party that knows b's public key but is not b's peer.
  auto stranger_key = waygate::wg::generate_private_key();
  auto stranger = edge(stranger_key, peer(pair.b_private, "10.0.0.2/32", pair.b_port));
  stranger->start();
  stranger->push(Direction::outbound, ipv4(5, 2, 1));
  for (int i = 0; i < 10; ++i) stranger->poll(5ms), pair.b->poll(5ms);
  EXPECT_EQ(pair.b->drops("unknown_peer"), 1u);
  EXPECT_EQ(pair.b->counter("handshakes_total"), 0);
}

TEST(WireGuardEdge, InitiatorRekeysAfterRekeyAfterTime) {
  Pair pair;
  pair.a->push(Direction::outbound, ipv4(1, 2, 1));
  pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });
  ASSERT_EQ(pair.a->counter("handshakes_total"), 1);
  // Two minutes pass second by second, datagrams (keepalives) flowing as timers send them.
  for (int s = 0; s < 121; ++s) {
    pair.a->advance(1s);
    pair.b->advance(1s);
    pair.exchange();
  }
  EXPECT_EQ(pair.a->counter("handshakes_total"), 1);  // idle: nothing renewed the keys yet
  pair.a->push(Direction::outbound, ipv4(1, 2, 2));  // sent on the old keys, then a rekey starts
  pair.exchange([&] { return pair.a->counter("handshakes_total") == 2; });
  EXPECT_EQ(pair.a->counter("handshakes_total"), 2);
  pair.a->push(Direction::outbound, ipv4(1, 2, 3));
  std::size_t delivered = 0;
  pair.exchange([&] {
    delivered += pair.b->take(Direction::inbound).size();
    return delivered >= 2;
  });
  EXPECT_EQ(delivered, 2u);
}

TEST(WireGuardEdge, HandshakeRetriesThenGivesUp) {
  Pair pair;
  pair.b->stop();  // nobody answers
  pair.a->push(Direction::outbound, ipv4(1, 2, 1));
  EXPECT_EQ(pair.a->counter("handshake_initiations_sent_total"), 1);
  for (int s = 0; s < 100; s += 1) pair.a->advance(1s);
  // One try every 5 s (+ jitter) for 90 s: about 18, then the staged packet is dropped.
  EXPECT_GE(pair.a->counter("handshake_initiations_sent_total"), 15);
  EXPECT_LE(pair.a->counter("handshake_initiations_sent_total"), 19);
  EXPECT_EQ(pair.a->drops("handshake_timeout"), 1u);
}

// A directory identity whose public key is a point of small order can never complete a handshake;
// it is named in the log when the stage loads, the other identities load beside it, and what is
// routed to it is a counted drop of its own.
TEST(WireGuardEdge, ASmallOrderIdentityIsNamedAndTheOthersLoad) {
  std::string k = key_file(waygate::wg::generate_private_key());
  std::string alice = waygate::wg::to_base64(waygate::wg::public_key(waygate::wg::generate_private_key()));
  RigOptions options;
  options.directory = fmt::format(
      "[overlay]\npool4 = '10.0.0.0/24'\n[[identity]]\nname = 'alice'\npublic_key = '{}'\n"
      "[[identity]]\nname = 'mallory'\npublic_key = '{}'\n",
      alice, kSmallOrderKey);
  auto rig = Rig::load(WAYGATE_WIREGUARD_PLUGIN,
                       fmt::format("private_key_file = \"{}\"\nlisten_port = {}\nidentities = true\n", k, free_udp_port()), options);
  rig->start();
  auto named = [&](const std::string& who) {
    return std::count_if(rig->log().begin(), rig->log().end(), [&](const std::string& line) {
      return line.find("peer " + who + ": its public key is a point of small order") != std::string::npos;
    });
  };
  EXPECT_EQ(named("mallory"), 1);
  EXPECT_EQ(named("alice"), 0);
  EXPECT_NE(std::find_if(rig->log().begin(), rig->log().end(),
                         [](const std::string& line) { return line.find("2 peer(s)") != std::string::npos; }),
            rig->log().end());
  for (std::uint8_t host = 1; host <= 6; ++host) rig->push(Direction::outbound, ipv4(9, host, host));
  EXPECT_EQ(rig->drops("low_order_key"), 1u);  // mallory's address
  EXPECT_EQ(rig->drops("no_endpoint"), 1u);    // alice's, until she connects
  EXPECT_EQ(rig->counter("handshake_initiations_sent_total"), 0);
}

TEST(WireGuardEdge, HandshakeFloodDemandsCookiesAndThePeerStillConnects) {
  // b demands cookies above 5 handshake messages a second.
  Pair pair("", "handshake_load = 5");
  // A flood of initiations with valid MAC1 (anyone who knows b's public key can make those) from
  // one source: each would cost b Curve25519 work if it were not under load.
  auto flooder_key = waygate::wg::generate_private_key();
  auto flooder = edge(flooder_key, peer(pair.b_private, "10.0.0.0/8", pair.b_port));
  flooder->start();
  for (int i = 0; i < 200; ++i) {
    flooder->push(Direction::outbound, ipv4(9, 2, 1));
    flooder->advance(5s + 400ms);  // each retry is a fresh initiation
    pair.b->poll(1ms);
  }
  EXPECT_GT(pair.b->counter("cookie_replies_sent_total"), 150);
  EXPECT_EQ(pair.b->drops("unknown_peer"), 5u);  // only what came before the load threshold

  // The legitimate peer's first initiation is answered with a cookie; its retry carries MAC2
  // and completes, while b is still under load.
  pair.a->push(Direction::outbound, ipv4(1, 2, 42));
  pair.exchange();
  EXPECT_EQ(pair.a->counter("handshakes_total"), 0);
  std::vector<waygate::testing::Captured> got;
  for (int s = 0; s < 12 && got.empty(); ++s) {
    pair.a->advance(1s);
    pair.b->advance(1s);
    for (int i = 0; i < 20; ++i) flooder->push(Direction::outbound, ipv4(9, 2, 1)), flooder->advance(6s);
    pair.exchange([&] {
      for (auto& c : pair.b->take(Direction::inbound)) got.push_back(c);
      return !got.empty();
    });
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, ipv4(1, 2, 42));
  EXPECT_EQ(pair.a->counter("handshakes_total"), 1);
}

TEST(WireGuardEdge, ThousandsOfPeers) {
  // b knows 3,000 peers, each owning a /32 in 10.1.0.0/16 and a /128; a is one more of them.
  std::string others;
  for (int i = 0; i < 2999; ++i)
    others += fmt::format("[[peer]]\nname = 'p{}'\npublic_key = '{}'\nallowed_ips = ['10.1.{}.{}/32', 'fd01::{:x}/128']\n", i,
                          waygate::wg::to_base64(waygate::wg::public_key(waygate::wg::generate_private_key())),
                          i / 256, i % 256, i);
  Pair pair("", others);
  pair.a->push(Direction::outbound, ipv4(1, 2, 5));
  std::size_t delivered = 0;
  pair.exchange([&] {
    delivered += pair.b->take(Direction::inbound).size();
    return delivered == 1;
  });
  EXPECT_EQ(delivered, 1u);  // a was found among 3,000 by its key, and its source by its prefix

  // b routes by destination among them: 10.1.4.7 is p1031's, who has no endpoint yet.
  std::vector<std::uint8_t> to_p1031 = ipv4(2, 0, 1);
  to_p1031[16] = 10, to_p1031[17] = 1, to_p1031[18] = 4, to_p1031[19] = 7;
  pair.b->push(Direction::outbound, to_p1031);
  EXPECT_EQ(pair.b->drops("no_endpoint"), 1u);
  EXPECT_EQ(pair.b->drops("no_peer"), 0u);
}

TEST(WireGuardEdge, KeyFileReadableByOthersIsRefused) {
  std::string path = key_file(waygate::wg::generate_private_key());
  ::chmod(path.c_str(), 0644);
  try {
    Rig::load(WAYGATE_WIREGUARD_PLUGIN, fmt::format("private_key_file = \"{}\"", path));
    FAIL() << "accepted a world-readable key";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'private_key_file'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// The receive buffer of this process's IPv4 UDP socket bound to `port`, as the kernel holds it; 0 if none.
int receive_buffer_of(int port) {
  for (int fd = 0; fd < 1024; ++fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    int type = 0;
    socklen_t type_len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_DGRAM) continue;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET || ntohs(a.sin_port) != port)
      continue;
    int bytes = 0;
    socklen_t bytes_len = sizeof bytes;
    ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, &bytes_len);
    return bytes;
  }
  return 0;
}

// The tunnel socket holds what receive_buffer says (room for a stock client's bursts on a
// connector), 512 KiB unless told; changing it on a running edge is refused, not half applied.
TEST(WireGuardEdge, TheTunnelSocketHoldsWhatReceiveBufferSays) {
  Pair pair("receive_buffer = 2097152");
  if (::geteuid() == 0) {  // past rmem_max: root only
    EXPECT_EQ(receive_buffer_of(pair.a_port), 2097152);
  }
  EXPECT_EQ(receive_buffer_of(pair.b_port), 512 << 10);
  try {
    pair.a->reconfigure(fmt::format("private_key_file = \"{}\"\nlisten_port = {}\nreceive_buffer = 1048576\n{}",
                                    key_file(pair.a_private), pair.a_port, peer(pair.b_private, "10.0.0.2/32", pair.b_port, "b")));
    ADD_FAILURE() << "a new receive_buffer was taken by a running edge";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("receive_buffer"), std::string::npos) << e.what();
  }
}

TEST(WireGuardEdge, ConfigErrorsNameTheKey) {
  std::string k = key_file(waygate::wg::generate_private_key());
  auto error = [&](const std::string& toml) -> std::string {
    try {
      Rig::load(WAYGATE_WIREGUARD_PLUGIN, fmt::format("private_key_file = \"{}\"\n{}", k, toml));
    } catch (const waygate::ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error("[[peer]]\npublic_key = 'short'\n").find("key 'public_key': not a key"), std::string::npos);
  std::string pub = waygate::wg::to_base64(waygate::wg::public_key(waygate::wg::generate_private_key()));
  EXPECT_NE(error(fmt::format("[[peer]]\npublic_key = '{}'\nallowed_ips = ['10.0.0.0/33']\n", pub)).find("key 'allowed_ips'"),
            std::string::npos);
  EXPECT_NE(error(fmt::format("[[peer]]\npublic_key = '{}'\nendpoint = 'example.com:1'\n", pub)).find("key 'endpoint'"),
            std::string::npos);
  EXPECT_NE(error(fmt::format("[[peer]]\npublic_key = '{}'\nkeepalive = 1\n", pub)).find("key 'keepalive': unknown key"),
            std::string::npos);
  EXPECT_NE(error("receive_buffer = 1000\n").find("key 'receive_buffer'"), std::string::npos);
  EXPECT_NE(error(fmt::format("[[peer]]\npublic_key = '{}'\n", kSmallOrderKey))
                .find("key 'public_key': a point of small order"),
            std::string::npos);
  EXPECT_NE(error(fmt::format("[[peer]]\nname = 'a'\npublic_key = '{0}'\n[[peer]]\nname = 'b'\npublic_key = '{0}'\n", pub))
                .find("peer 'a' has the same key"),
            std::string::npos);
  std::string other = waygate::wg::to_base64(waygate::wg::public_key(waygate::wg::generate_private_key()));
  EXPECT_NE(error(fmt::format("[[peer]]\nname = 'a'\npublic_key = '{}'\n[[peer]]\nname = 'a'\npublic_key = '{}'\n", pub, other))
                .find("a peer named 'a' is listed twice"),
            std::string::npos);
  // An identity of the directory that is also a listed peer, by key or by name.
  RigOptions with_alice;
  with_alice.directory = fmt::format("[overlay]\npool4 = '10.9.0.0/24'\n[[identity]]\nname = 'alice'\npublic_key = '{}'\n", pub);
  auto identity_error = [&](const std::string& peer) -> std::string {
    try {
      Rig::load(WAYGATE_WIREGUARD_PLUGIN, fmt::format("private_key_file = \"{}\"\nidentities = true\n{}", k, peer), with_alice);
    } catch (const waygate::ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(identity_error(fmt::format("[[peer]]\nname = 'a'\npublic_key = '{}'\n", pub)).find("identity 'alice' is also listed as peer 'a'"),
            std::string::npos);
  EXPECT_NE(identity_error(fmt::format("[[peer]]\nname = 'alice'\npublic_key = '{}'\n", other))
                .find("identity 'alice' is also listed as peer 'alice'"),
            std::string::npos);
  EXPECT_EQ(identity_error(fmt::format("[[peer]]\nname = 'b'\npublic_key = '{}'\n", other)), "no error");
}

}  // namespace

// failover_after: a client's two connectors claim the same prefixes; the first listed carries
// them. When it falls silent, it is asked for a handshake: answered, nothing moves; unanswered, its
// traffic moves to the other, which gets it from then on. A PUT on /v1/peers moves it back.
// A lone peer whose endpoint may float to another connector (a pair under keepalived): silent
// past failover_after, it is asked for a handshake each quarter of failover_after until twice that,
// then each failover_after; not at the protocol's 5 s.
TEST(WireGuardEdge, ALoneSilentPeerIsAskedForAHandshakeOftenThenEachFailoverAfter) {
  Pair pair("failover_after = \"1s\"");
  pair.a->push(Direction::outbound, ipv4(1, 2, 1));
  pair.exchange([&] { return !pair.b->take(Direction::inbound).empty(); });
  const std::int64_t before = pair.a->counter("handshake_initiations_sent_total");
  pair.b->stop();  // the connector behind the endpoint is gone
  std::int64_t at_two_seconds = 0;
  for (int step = 1; step <= 60; ++step) {  // 6 s in steps of 100 ms, a packet each 500 ms, none answered
    if (step % 5 == 1) pair.a->push(Direction::outbound, ipv4(1, 2, 2));
    pair.a->poll(1ms);
    pair.a->advance(100ms);
    if (step == 19) at_two_seconds = pair.a->counter("handshake_initiations_sent_total") - before;
  }
  const std::int64_t later = pair.a->counter("handshake_initiations_sent_total") - before - at_two_seconds;
  EXPECT_EQ(at_two_seconds, 4) << "at 1, 1.25, 1.5 and 1.75 s of silence";
  EXPECT_GE(later, 3) << "each second from 2 s on";
  EXPECT_LE(later, 5);
}

TEST(WireGuardEdge, PeersSharingPrefixesTakeOverFromASilentOne) {
  const waygate::wg::Key client = waygate::wg::generate_private_key(), c1 = waygate::wg::generate_private_key(),
                         c2 = waygate::wg::generate_private_key();
  const int client_port = free_udp_port(), c1_port = free_udp_port(), c2_port = free_udp_port();
  auto a = edge(client, fmt::format("listen_port = {}\nfailover_after = \"1s\"\n{}{}", client_port,
                                    peer(c1, "0.0.0.0/0", c1_port, "c1"), peer(c2, "0.0.0.0/0", c2_port, "c2")));
  auto one = edge(c1, fmt::format("listen_port = {}\n{}", c1_port, peer(client, "10.0.0.1/32", 0, "client")));
  auto two = edge(c2, fmt::format("listen_port = {}\n{}", c2_port, peer(client, "10.0.0.1/32", 0, "client")));
  for (Rig* r : {a.get(), one.get(), two.get()}) r->start();
  auto exchange = [&] {
    for (int i = 0; i < 20; ++i)
      if (a->poll(5ms) + one->poll(5ms) + two->poll(5ms) == 0 && i > 3) break;
  };
  auto arrived = [&](Rig& at) { return at.take(Direction::inbound).size(); };

  a->push(Direction::outbound, ipv4(1, 2, 1));
  exchange();
  EXPECT_EQ(arrived(*one), 1u);  // the first listed carries the prefixes
  EXPECT_EQ(arrived(*two), 0u);

  // c1 alive but sending nothing back (its far end, or a policy, drops the packets): it answers
  // the handshakes the silence prompts, so nothing moves.
  for (int s = 0; s < 8; ++s) {
    a->push(Direction::outbound, ipv4(1, 2, 4));
    exchange();
    for (Rig* r : {a.get(), one.get(), two.get()}) r->advance(500ms);
    exchange();
  }
  EXPECT_EQ(a->counter("failovers_total"), 0);
  EXPECT_EQ(arrived(*one), 8u);

  one->stop();  // c1 dies
  for (int s = 0; s < 4; ++s) {  // a packet every 500 ms, none answered
    a->push(Direction::outbound, ipv4(1, 2, 2));
    exchange();
    a->advance(500ms);
    two->advance(500ms);
  }
  a->push(Direction::outbound, ipv4(1, 2, 3));
  exchange();
  EXPECT_EQ(a->counter("failovers_total"), 1);
  EXPECT_GE(arrived(*two), 1u);  // c2 carries them now
  const std::string peers = a->request(waygate::Listener::admin, "GET", "/v1/peers").body;
  EXPECT_NE(peers.find(R"("name":"c2")"), std::string::npos);
  EXPECT_NE(peers.find(R"("in_service":false)"), std::string::npos) << peers;

  const auto put = a->request(waygate::Listener::admin, "PUT", "/v1/peers", {}, R"({"in_service": "nobody"})");
  EXPECT_EQ(put.status, 404u);
  EXPECT_EQ(a->request(waygate::Listener::admin, "PUT", "/v1/peers", {}, R"({"in_service": "c1"})").status, 200u);
  EXPECT_EQ(a->counter("failovers_total"), 2);
}
