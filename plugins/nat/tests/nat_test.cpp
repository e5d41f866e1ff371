// The nat stage in the rig: real packets built byte by byte with valid checksums, pushed both
// ways; every translated packet is re-verified from scratch (IP header, L4, and for ICMP errors the
// quoted packet too) with the SDK's checksum helpers.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <unistd.h>
#include <set>
#include <string>
#include <vector>

#include "engine.hpp"
#include "waygate/net/headers.hpp"
#include "waygate/testing/packets.hpp"
#include "waygate/testing/rig.hpp"

using namespace std::chrono_literals;
using waygate::Direction;
using waygate::Meta;
using waygate::testing::Captured;
using waygate::testing::Rig;
namespace net = waygate::net;

namespace {

using Bytes = std::vector<std::uint8_t>;

net::Address addr(const std::string& text) {
  if (text.find(':') == std::string::npos) {
    std::array<std::uint8_t, 4> b{};
    EXPECT_EQ(::inet_pton(AF_INET, text.c_str(), b.data()), 1);
    return net::Address::v4(std::span<const std::uint8_t, 4>(b));
  }
  std::array<std::uint8_t, 16> b{};
  EXPECT_EQ(::inet_pton(AF_INET6, text.c_str(), b.data()), 1);
  return net::Address::v6(std::span<const std::uint8_t, 16>(b));
}

void put16(Bytes& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}
std::uint16_t get16(const Bytes& b, std::size_t off) { return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]); }

// The SDK's test packets (waygate/testing/packets.hpp), in this file's words.
Bytes ip(const std::string& src, const std::string& dst, std::uint8_t proto, Bytes l4, bool keep_checksum = false) {
  return waygate::testing::ip_packet(src, dst, proto, std::move(l4), keep_checksum);
}

Bytes udp(const std::string& src, std::uint16_t sport, const std::string& dst, std::uint16_t dport,
          bool zero_checksum = false) {
  Bytes p = waygate::testing::udp(src, sport, dst, dport);
  if (zero_checksum) put16(p, (addr(src).is_v4() ? 20 : 40) + 6, 0);  // "none", as IPv4 allows
  return p;
}

Bytes tcp(const std::string& src, std::uint16_t sport, const std::string& dst, std::uint16_t dport,
          std::uint8_t flags) {
  return waygate::testing::tcp(src, sport, dst, dport, flags, "abc", 0x01020304);  // odd length on purpose
}

Bytes echo(const std::string& src, const std::string& dst, bool request, std::uint16_t id) {
  return waygate::testing::echo(src, dst, id, request);
}

// An ICMP error (type/code) from `src` to `dst` quoting `quoted` whole.
Bytes icmp_error(const std::string& src, const std::string& dst, std::uint8_t type, std::uint8_t code,
                 const Bytes& quoted) {
  return waygate::testing::icmp_error(src, dst, type, code, quoted);
}

// Every checksum of `p` (and of the packet an ICMP error quotes) verified from scratch.
void verify(const Bytes& p) {
  auto r = net::parse_packet(p);
  ASSERT_TRUE(r.ok()) << net::to_string(r.error);
  if (r.info.version == 4) {
    EXPECT_TRUE(net::ipv4_header_checksum_ok(p));
  }
  EXPECT_TRUE(net::l4_checksum_ok(p, r.info)) << "outer L4 checksum";
  if (r.info.is_icmp && !r.info.has_icmp_id) {
    std::span<const std::uint8_t> q(p.data() + r.info.l4_offset + 8, p.size() - r.info.l4_offset - 8);
    auto e = net::parse_embedded(q);
    ASSERT_TRUE(e.ok());
    if (e.info.version == 4) {
      EXPECT_TRUE(net::ipv4_header_checksum_ok(q));
    }
    if (e.info.total_len_claimed <= q.size()) {
      EXPECT_TRUE(net::l4_checksum_ok(q, e.info)) << "quoted L4 checksum";
    }
  }
}

net::PacketInfo info(const Bytes& p) {
  auto r = net::parse_packet(p);
  EXPECT_TRUE(r.ok());
  return r.info;
}

const char* kConfig = R"(
block_size = 100
max_sessions = 1000
[[socket]]
id = 0
egress4 = "198.51.100.1"
egress6 = "2001:db8::1"
[[socket]]
id = 5
egress4 = "198.51.100.5"
)";

// The directory's socket 0 gives the stage's socket 0 its ports; socket 5, which the directory
// does not have, gets the default ones.
std::string directory(const std::string& egress_ports) {
  return "[[socket]]\nname = 'zero'\ntype = 'exit_node'\negress = ['198.51.100.1', '2001:db8::1']\n"
         "egress_ports = '" + egress_ports + "'\n";
}

waygate::testing::RigOptions with(const std::string& directory) {
  waygate::testing::RigOptions o;
  o.directory = directory;
  return o;
}

struct Nat {
  explicit Nat(const std::string& extra = "", const std::string& config = kConfig,
               const std::string& ports = "20000-20999")
      : rig(Rig::load(WAYGATE_NAT_PLUGIN, extra + config, with(directory(ports)))) {
    rig->start();
  }
  // One packet outbound; returns what passed (asserting exactly one, checksums verified).
  Bytes out(const Bytes& p, Meta meta = {}) {
    rig->push(Direction::outbound, p, meta);
    auto got = rig->take(Direction::outbound);
    EXPECT_EQ(got.size(), 1u);
    if (got.empty()) return {};
    verify(got[0].bytes);
    return got[0].bytes;
  }
  Captured in(const Bytes& p) {
    rig->push(Direction::inbound, p);
    auto got = rig->take(Direction::inbound);
    EXPECT_EQ(got.size(), 1u);
    if (got.empty()) return {};
    verify(got[0].bytes);
    return got[0];
  }
  std::size_t outs() { return rig->take(Direction::outbound).size(); }
  std::size_t ins() { return rig->take(Direction::inbound).size(); }
  std::int64_t sessions(const char* proto) { return rig->counter("sessions", {{"protocol", proto}}); }
  std::unique_ptr<Rig> rig;
};

Meta who(std::uint32_t identity, std::uint32_t peer = 1, std::uint32_t socket = waygate::kNoId) {
  Meta m;
  m.identity = identity;
  m.peer = peer;
  m.socket = socket;
  return m;
}

TEST(Nat, SourceIsTranslatedAndTheAnswerComesBack) {
  Nat nat;
  auto t = info(nat.out(udp("10.0.0.2", 20010, "203.0.113.5", 53), who(3, 9)));
  EXPECT_EQ(t.src, addr("198.51.100.1"));
  EXPECT_EQ(t.dst, addr("203.0.113.5"));
  EXPECT_EQ(t.src_port, 20010);  // preserved
  EXPECT_EQ(t.ttl, 64);          // not decremented
  auto back = nat.in(udp("203.0.113.5", 53, "198.51.100.1", 20010));
  EXPECT_EQ(back.bytes, udp("203.0.113.5", 53, "10.0.0.2", 20010));
  EXPECT_EQ(back.meta.identity, 3u);
  EXPECT_EQ(back.meta.peer, 9u);
  EXPECT_EQ(back.meta.socket, 0u);
  EXPECT_EQ(nat.rig->counter("translations_total", {{"direction", "outbound"}}), 1);
  EXPECT_EQ(nat.rig->counter("translations_total", {{"direction", "inbound"}}), 1);
  EXPECT_EQ(nat.rig->counter("sessions_created_total"), 1);
  EXPECT_EQ(nat.sessions("udp"), 1);
}

// Without [[stage.socket]] tables the NAT translates for the directory's sockets: a socket's
// position is its id, its first IPv4 and IPv6 egress addresses are its own.
TEST(Nat, SocketsFromTheDirectory) {
  waygate::testing::RigOptions o;
  o.directory = R"(
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
[[socket]]
name = "corporate-exit"
type = "exit_node"
egress = ["2001:db8::7", "198.51.100.7"]
egress_ports = "20000-20999"
)";
  auto rig = Rig::load(WAYGATE_NAT_PLUGIN, "block_size = 100\ndefault_socket = 1", o);
  rig->start();
  rig->push(Direction::outbound, udp("10.0.0.2", 20010, "203.0.113.5", 53), who(3, 9, 1));
  auto got = rig->take(Direction::outbound);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(info(got[0].bytes).src, addr("198.51.100.7"));
  rig->push(Direction::outbound, udp("10.0.0.2", 20010, "203.0.113.5", 53), who(3, 9, 0));
  EXPECT_TRUE(rig->take(Direction::outbound).empty());  // the lab has no egress address
  EXPECT_EQ(rig->drops("unknown_socket"), 1u);
  // Nothing to translate for: an error naming both ways to fix it.
  waygate::testing::RigOptions none;
  none.directory = "[[socket]]\nname = 'lab'\ntype = 'subnet_router'\nroutes = ['192.168.10.0/24']\n";
  EXPECT_THROW(Rig::load(WAYGATE_NAT_PLUGIN, "block_size = 100", none), waygate::ConfigError);
}

// Live sessions per socket, named from the directory, for the stats stage and /metrics; drops of
// a socket's packets count for it (and its identity) too.
TEST(Nat, SessionsAndDropsPerSocket) {
  waygate::testing::RigOptions o;
  o.directory = R"(
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
[[socket]]
name = "corporate-exit"
type = "exit_node"
egress = ["198.51.100.7"]
egress_ports = "20000-20999"
[[socket]]
name = "home-exit"
type = "exit_node"
egress = ["198.51.100.8"]
egress_ports = "20000-20999"
)";
  auto rig = Rig::load(WAYGATE_NAT_PLUGIN, "block_size = 100\nudp = \"10s\"", o);
  rig->start();
  auto sessions = [&](const char* socket) { return rig->counter("socket_sessions", {{"socket", socket}}); };
  rig->push(Direction::outbound, udp("10.0.0.2", 20010, "203.0.113.5", 53), who(0, 1, 1));
  rig->push(Direction::outbound, udp("10.0.0.2", 20011, "203.0.113.5", 53), who(0, 1, 1));
  rig->push(Direction::outbound, udp("10.0.0.2", 20012, "203.0.113.5", 53), who(0, 1, 0));
  ASSERT_EQ(rig->take(Direction::outbound).size(), 3u);
  rig->advance(1s);  // the per-socket levels are taken each tick
  EXPECT_EQ(sessions("corporate-exit"), 1);
  EXPECT_EQ(sessions("home-exit"), 2);
  rig->advance(40s);  // expired
  EXPECT_EQ(sessions("home-exit"), 0);
  Bytes bad = udp("10.0.0.2", 20010, "203.0.113.5", 53);
  bad[9] = 253;  // a protocol the NAT does not translate
  net::ipv4_set_header_checksum(bad);
  for (int i = 0; i < 3; ++i) rig->push(Direction::outbound, bad, who(0, 1, 1));
  EXPECT_EQ(rig->drops("unsupported_protocol"), 3u);
  EXPECT_EQ(rig->counter("socket_drops_total", {{"socket", "home-exit"}, {"reason", "unsupported_protocol"}}), 3);
  EXPECT_EQ(rig->counter("identity_drops_total", {{"identity", "alice"}, {"reason", "unsupported_protocol"}}), 3);
  EXPECT_EQ(rig->counter("socket_drops_total", {{"socket", "corporate-exit"}, {"reason", "unsupported_protocol"}}), 0);
}

// The NAT log: a line per session start and end, with the directory's names, the inside, remote
// and outside ends; rotated by size.
TEST(Nat, LogHasALinePerSessionStartAndEnd) {
  char dir[] = "/tmp/waygate-natlog-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string log = std::string(dir) + "/nat.log";
  waygate::testing::RigOptions o;
  o.directory = R"(
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
[[socket]]
name = "corporate-exit"
type = "exit_node"
egress = ["198.51.100.1"]
egress_ports = "20000-20999"
)";
  auto rig = Rig::load(WAYGATE_NAT_PLUGIN, "log_max_size = 4096\nlog_keep = 2\nlog = \"" + log + "\"", o);
  rig->start();
  rig->push(Direction::outbound, udp("10.64.0.2", 20010, "203.0.113.5", 53), who(0, 1, 0));
  rig->advance(3min);  // past the UDP timeout and a sweep: the session ends
  rig->poll();
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            R"({"time":"2026-01-01T00:00:00.000Z","event":"start","connector":"rig","identity":"alice","socket":"corporate-exit",)"
            R"("protocol":"udp","inside":"10.64.0.2:20010","remote":"203.0.113.5:53","outside":"198.51.100.1:20010"})");
  EXPECT_NE(lines[1].find(R"("event":"end","connector":"rig","identity":"alice")"), std::string::npos) << lines[1];
  EXPECT_EQ(rig->counter("log_lines_total"), 2);
  // 4096 bytes hold about 20 lines: 60 more sessions rotate the file twice, keeping two old ones.
  for (std::uint16_t i = 0; i < 30; ++i) rig->push(Direction::outbound, udp("10.64.0.2", 20100 + i, "203.0.113.5", 53), who(0, 1, 0));
  rig->advance(3min);
  rig->poll();
  EXPECT_TRUE(std::ifstream(log + ".1").good());
  EXPECT_TRUE(std::ifstream(log + ".2").good());
  EXPECT_FALSE(std::ifstream(log + ".3").good());
  EXPECT_EQ(rig->counter("log_lines_total"), 62);
  EXPECT_EQ(rig->counter("log_lines_lost_total"), 0);
  rig->stop();
  for (const char* suffix : {"", ".1", ".2"}) ::unlink((log + suffix).c_str());
  ::rmdir(dir);
}

TEST(Nat, MappingIsReusedAcrossDestinations) {
  Nat nat;
  auto a = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1)));
  auto b = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.77", 123), who(1)));
  auto c = info(nat.out(udp("10.0.0.2", 40001, "203.0.113.5", 53), who(1)));
  EXPECT_EQ(a.src_port, b.src_port);
  EXPECT_NE(a.src_port, c.src_port);
  EXPECT_GE(a.src_port, 20000);
  EXPECT_LE(a.src_port, 20999);
  EXPECT_EQ(nat.sessions("udp"), 3);
}

TEST(Nat, PortPreservationAndTheNextFreePort) {
  Nat nat;
  EXPECT_EQ(info(nat.out(udp("10.0.0.2", 20050, "203.0.113.5", 53), who(1))).src_port, 20050);
  // Another inside host wanting the same port gets the next free one of the identity's block.
  EXPECT_EQ(info(nat.out(udp("10.0.0.3", 20050, "203.0.113.5", 53), who(1))).src_port, 20051);
  // TCP has its own port space.
  EXPECT_EQ(info(nat.out(tcp("10.0.0.3", 20050, "203.0.113.5", 80, net::tcpflag::syn), who(1))).src_port, 20050);
  // A port outside the range lands in the identity's block.
  auto p = info(nat.out(udp("10.0.0.4", 40000, "203.0.113.5", 53), who(1))).src_port;
  EXPECT_EQ((p - 20000) / 100, 0);
}

TEST(Nat, IdentitiesNeverShareABlockAndAFullBlockTakesAnother) {
  Nat nat;
  std::set<int> blocks1, blocks2;
  for (std::uint16_t i = 0; i < 150; ++i) {
    blocks1.insert((info(nat.out(udp("10.0.0.2", static_cast<std::uint16_t>(30000 + i), "203.0.113.5", 53), who(1)))
                        .src_port - 20000) / 100);
    blocks2.insert((info(nat.out(udp("10.0.1.2", static_cast<std::uint16_t>(30000 + i), "203.0.113.5", 53), who(2)))
                        .src_port - 20000) / 100);
  }
  EXPECT_EQ(blocks1.size(), 2u);  // 150 ports: one full block of 100, then another
  EXPECT_EQ(blocks2.size(), 2u);
  for (int b : blocks1) EXPECT_EQ(blocks2.count(b), 0u);
  EXPECT_EQ(nat.rig->counter("blocks_in_use"), 4);
  // A port preserved into a block another identity holds is not taken from it.
  auto p = info(nat.out(udp("10.0.2.2", static_cast<std::uint16_t>(20000 + *blocks1.begin() * 100 + 99), "203.0.113.5", 53),
                        who(3))).src_port;
  EXPECT_EQ(blocks1.count((p - 20000) / 100), 0u);
  EXPECT_EQ(blocks2.count((p - 20000) / 100), 0u);
}

void check_prohibited(const Bytes& reply, const Bytes& original, bool v6) {
  verify(reply);
  auto r = info(reply);
  auto o = info(original);
  EXPECT_EQ(r.src, v6 ? addr("2001:db8::1") : addr("198.51.100.1"));
  EXPECT_EQ(r.dst, o.src);
  ASSERT_TRUE(r.is_icmp);
  EXPECT_EQ(r.icmp_type, v6 ? 1 : 3);
  EXPECT_EQ(r.icmp_code, v6 ? 1 : 13);
  const std::size_t quoted = v6 ? original.size() : 20 + 8;  // RFC 4443: all that fits; RFC 792: header + 8
  ASSERT_EQ(reply.size(), r.l4_offset + 8 + quoted);
  EXPECT_TRUE(std::equal(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(quoted),
                         reply.begin() + static_cast<std::ptrdiff_t>(r.l4_offset + 8)));
}

TEST(Nat, PortExhaustionDropsAndAnswersAdministrativelyProhibited) {
  Nat nat("", R"(
block_size = 5
[[socket]]
id = 0
egress4 = "198.51.100.1"
egress6 = "2001:db8::1"
)", "20000-20009");
  for (std::uint16_t i = 0; i < 10; ++i) nat.out(udp("10.0.0.2", static_cast<std::uint16_t>(1000 + i), "203.0.113.5", 53), who(1));
  EXPECT_EQ(nat.rig->counter("blocks_in_use"), 2);
  const Bytes refused = udp("10.0.0.2", 2000, "203.0.113.5", 53);
  nat.rig->push(Direction::outbound, refused, who(1));
  EXPECT_EQ(nat.outs(), 0u);
  EXPECT_EQ(nat.rig->drops("ports_exhausted"), 1u);
  auto replies = nat.rig->take(Direction::inbound);
  ASSERT_EQ(replies.size(), 1u);
  check_prohibited(replies[0].bytes, refused, false);
  EXPECT_EQ(replies[0].meta.peer, 1u);

  // Another identity finds no free block either; IPv6 gets the ICMPv6 form.
  const Bytes refused6 = udp("fd00::2", 2000, "2001:db8:ffff::5", 53);
  nat.rig->push(Direction::outbound, refused6, who(2));
  replies = nat.rig->take(Direction::inbound);
  ASSERT_EQ(replies.size(), 1u);
  check_prohibited(replies[0].bytes, refused6, true);
  EXPECT_EQ(nat.rig->drops("ports_exhausted"), 2u);
  EXPECT_EQ(nat.rig->pool().available(), nat.rig->pool().capacity());  // every buffer came back
}

TEST(Nat, FullTableDropsAndAnswers) {
  std::string config = kConfig;
  config.replace(config.find("max_sessions = 1000"), 19, "max_sessions = 2");
  Nat nat("", config);
  nat.out(udp("10.0.0.2", 1000, "203.0.113.5", 53));
  nat.out(udp("10.0.0.2", 1000, "203.0.113.6", 53));
  const Bytes refused = tcp("10.0.0.2", 1000, "203.0.113.5", 80, net::tcpflag::syn);
  nat.rig->push(Direction::outbound, refused);
  EXPECT_EQ(nat.outs(), 0u);
  EXPECT_EQ(nat.rig->drops("table_full"), 1u);
  auto replies = nat.rig->take(Direction::inbound);
  ASSERT_EQ(replies.size(), 1u);
  check_prohibited(replies[0].bytes, refused, false);
}

TEST(Nat, InboundWithoutASessionIsDropped) {
  Nat nat;
  nat.rig->push(Direction::inbound, udp("203.0.113.5", 53, "198.51.100.1", 20500));
  nat.rig->push(Direction::inbound, udp("203.0.113.5", 53, "192.0.2.99", 20500));  // not ours at all
  nat.rig->push(Direction::inbound, echo("203.0.113.5", "198.51.100.1", true, 20000));
  EXPECT_EQ(nat.ins(), 0u);
  EXPECT_EQ(nat.rig->drops("no_session"), 3u);
}

TEST(Nat, AddressAndPortDependentFiltering) {
  Nat nat;
  auto p = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53))).src_port;
  nat.in(udp("203.0.113.5", 53, "198.51.100.1", p));
  nat.rig->push(Direction::inbound, udp("203.0.113.5", 54, "198.51.100.1", p));  // other port
  nat.rig->push(Direction::inbound, udp("203.0.113.6", 53, "198.51.100.1", p));  // other address
  EXPECT_EQ(nat.ins(), 0u);
  EXPECT_EQ(nat.rig->drops("no_session"), 2u);
}

TEST(Nat, EndpointIndependentFilteringWhenAskedFor) {
  Nat nat("filtering = \"endpoint-independent\"\n");
  auto p = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(4))).src_port;
  auto got = nat.in(udp("203.0.113.99", 7777, "198.51.100.1", p));
  EXPECT_EQ(info(got.bytes).dst, addr("10.0.0.2"));
  EXPECT_EQ(got.meta.identity, 4u);
  EXPECT_EQ(nat.sessions("udp"), 2);
}

TEST(Nat, SocketsHaveTheirOwnEgress) {
  Nat nat;
  auto t = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 5)));
  EXPECT_EQ(t.src, addr("198.51.100.5"));
  auto back = nat.in(udp("203.0.113.5", 53, "198.51.100.5", t.src_port));
  EXPECT_EQ(back.meta.socket, 5u);
  nat.rig->push(Direction::outbound, udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 77));
  EXPECT_EQ(nat.rig->drops("unknown_socket"), 1u);
  nat.rig->push(Direction::outbound, udp("fd00::2", 40000, "2001:db8:ffff::5", 53), who(1, 1, 5));
  EXPECT_EQ(nat.rig->drops("no_egress_address"), 1u);
}

// ----- TCP state and timeouts -----

TEST(Nat, TcpEstablishedLivesTwoHoursFourMinutes) {
  Nat nat;
  auto p = info(nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::syn))).src_port;
  nat.in(tcp("203.0.113.5", 443, "198.51.100.1", p, net::tcpflag::syn | net::tcpflag::ack));
  nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::ack));
  nat.rig->advance(2h);
  EXPECT_EQ(nat.sessions("tcp"), 1);
  nat.rig->advance(4min + 20s);
  EXPECT_EQ(nat.sessions("tcp"), 0);
  EXPECT_EQ(nat.rig->counter("sessions_expired_total"), 1);
  EXPECT_EQ(nat.rig->counter("blocks_in_use"), 0);
  nat.rig->push(Direction::inbound, tcp("203.0.113.5", 443, "198.51.100.1", p, net::tcpflag::ack));
  EXPECT_EQ(nat.rig->drops("no_session"), 1u);
}

TEST(Nat, TcpHalfOpenIsTransitory) {
  Nat nat;
  nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::syn));
  nat.rig->advance(3min + 50s);
  EXPECT_EQ(nat.sessions("tcp"), 1);
  nat.rig->advance(30s);
  EXPECT_EQ(nat.sessions("tcp"), 0);
}

TEST(Nat, TcpFinBothWaysAndRstAreTransitory) {
  Nat nat;
  auto p = info(nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::syn))).src_port;
  nat.in(tcp("203.0.113.5", 443, "198.51.100.1", p, net::tcpflag::syn | net::tcpflag::ack));
  auto q = info(nat.out(tcp("10.0.0.2", 40001, "203.0.113.5", 443, net::tcpflag::syn))).src_port;
  nat.in(tcp("203.0.113.5", 443, "198.51.100.1", q, net::tcpflag::syn | net::tcpflag::ack));
  nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::fin | net::tcpflag::ack));
  nat.rig->advance(5min);
  EXPECT_EQ(nat.sessions("tcp"), 2);  // one FIN: still established
  nat.in(tcp("203.0.113.5", 443, "198.51.100.1", p, net::tcpflag::fin | net::tcpflag::ack));
  nat.in(tcp("203.0.113.5", 443, "198.51.100.1", q, net::tcpflag::rst));
  nat.rig->advance(3min + 50s);
  EXPECT_EQ(nat.sessions("tcp"), 2);
  nat.rig->advance(30s);
  EXPECT_EQ(nat.sessions("tcp"), 0);
}

TEST(Nat, UdpTwoMinutesRefreshedByOutbound) {
  Nat nat;
  auto p = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53))).src_port;
  nat.rig->advance(100s);
  nat.in(udp("203.0.113.5", 53, "198.51.100.1", p));  // inbound does not refresh
  nat.rig->advance(10s);
  EXPECT_EQ(nat.sessions("udp"), 1);
  nat.rig->advance(15s);
  EXPECT_EQ(nat.sessions("udp"), 0);

  nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53));
  nat.rig->advance(100s);
  nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53));  // outbound does
  nat.rig->advance(100s);
  EXPECT_EQ(nat.sessions("udp"), 1);
  nat.rig->advance(25s);
  EXPECT_EQ(nat.sessions("udp"), 0);
}

TEST(Nat, IcmpEchoByIdentifierLivesSixtySeconds) {
  Nat nat;
  auto t = info(nat.out(echo("10.0.0.2", "203.0.113.5", true, 0x1234)));
  ASSERT_TRUE(t.has_icmp_id);
  EXPECT_GE(t.icmp_id, 20000);
  EXPECT_EQ(t.icmp_seq, 7);
  auto back = nat.in(echo("203.0.113.5", "198.51.100.1", false, t.icmp_id));
  EXPECT_EQ(back.bytes, echo("203.0.113.5", "10.0.0.2", false, 0x1234));
  // Another host with the same identifier gets another one.
  EXPECT_NE(info(nat.out(echo("10.0.0.3", "203.0.113.5", true, 0x1234))).icmp_id, t.icmp_id);
  nat.rig->advance(50s);
  EXPECT_EQ(nat.sessions("icmp"), 2);
  nat.rig->advance(15s);
  EXPECT_EQ(nat.sessions("icmp"), 0);
}

TEST(Nat, Icmpv6EchoByIdentifier) {
  Nat nat;
  auto t = info(nat.out(echo("fd00::2", "2001:db8:ffff::5", true, 77)));
  EXPECT_EQ(t.src, addr("2001:db8::1"));
  auto back = nat.in(echo("2001:db8:ffff::5", "2001:db8::1", false, t.icmp_id));
  EXPECT_EQ(back.bytes, echo("2001:db8:ffff::5", "fd00::2", false, 77));
}

// ----- ICMP errors -----

TEST(Nat, TimeExceededComesBackWithTheQuotedPacketRestored) {
  Nat nat;
  const Bytes original = tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::syn);
  const Bytes wire = nat.out(original, who(2, 6));
  auto back = nat.in(icmp_error("192.0.2.9", "198.51.100.1", 11, 0, wire));
  auto o = info(back.bytes);
  EXPECT_EQ(o.src, addr("192.0.2.9"));
  EXPECT_EQ(o.dst, addr("10.0.0.2"));
  EXPECT_TRUE(std::equal(original.begin(), original.end(), back.bytes.begin() + 28));
  EXPECT_EQ(back.meta.peer, 6u);
  EXPECT_EQ(back.bytes.size(), 28 + original.size());

  // Cut short as RFC 792 allows (header + 8 bytes): still translated, outer checksum right.
  Bytes cut(wire.begin(), wire.begin() + 28);
  back = nat.in(icmp_error("192.0.2.9", "198.51.100.1", 3, 4, cut));
  EXPECT_TRUE(std::equal(original.begin(), original.begin() + 24, back.bytes.begin() + 28));
  // About a session that does not exist: dropped.
  Bytes other = wire;
  other[20] ^= 1;  // another outside port
  nat.rig->push(Direction::inbound, icmp_error("192.0.2.9", "198.51.100.1", 11, 0, other));
  EXPECT_EQ(nat.rig->drops("no_session"), 1u);
}

TEST(Nat, Icmpv6ErrorsComeBackRestored) {
  Nat nat;
  const Bytes original = udp("fd00::2", 40000, "2001:db8:ffff::5", 53);
  const Bytes wire = nat.out(original);
  for (std::uint8_t type : {1, 2, 3, 4}) {
    auto back = nat.in(icmp_error("2001:db8:ffff::1", "2001:db8::1", type, 0, wire));
    EXPECT_EQ(info(back.bytes).dst, addr("fd00::2"));
    EXPECT_TRUE(std::equal(original.begin(), original.end(), back.bytes.begin() + 48));
  }
}

TEST(Nat, ClientErrorsAboutInboundPacketsAreTranslated) {
  Nat nat;
  auto p = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53))).src_port;
  const Bytes wire_in = udp("203.0.113.5", 53, "198.51.100.1", p);
  auto delivered = nat.in(wire_in);
  // The client answers "port unreachable" quoting what it got.
  auto sent = nat.out(icmp_error("10.0.0.2", "203.0.113.5", 3, 3, delivered.bytes));
  EXPECT_EQ(info(sent).src, addr("198.51.100.1"));
  EXPECT_TRUE(std::equal(wire_in.begin(), wire_in.end(), sent.begin() + 28));
}

// ----- hairpinning -----

TEST(Nat, HairpinningGoesBackInTranslatedBothWays) {
  Nat nat;
  auto pa = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 3478), who(1))).src_port;
  // B reaches A's outside endpoint: A's filter has seen nothing from B's yet, so it is dropped,
  // but B now has a mapping and a session towards A's outside endpoint.
  nat.rig->push(Direction::outbound, udp("10.0.0.3", 40001, "198.51.100.1", pa), who(2, 2));
  EXPECT_EQ(nat.outs() + nat.ins(), 0u);
  EXPECT_EQ(nat.rig->drops("no_session"), 1u);
  auto pb = static_cast<std::uint16_t>(pa == 20000 ? 20100 : 20000);  // B's block starts another hundred
  pb = static_cast<std::uint16_t>(((pb - 20000) / 100) * 100 + 20000);
  // A answers B's outside endpoint, which B's session admits: it comes back in to B.
  Bytes to_b = udp("10.0.0.2", 40000, "198.51.100.1", pb);
  nat.rig->push(Direction::outbound, to_b, who(1));
  EXPECT_EQ(nat.outs(), 0u);
  auto in = nat.rig->take(Direction::inbound);
  ASSERT_EQ(in.size(), 1u);
  verify(in[0].bytes);
  EXPECT_EQ(in[0].bytes, udp("198.51.100.1", pa, "10.0.0.3", 40001));
  EXPECT_EQ(in[0].meta.identity, 2u);
  EXPECT_EQ(in[0].meta.peer, 2u);
}

TEST(Nat, HairpinningWithEndpointIndependentFiltering) {
  Nat nat("filtering = \"endpoint-independent\"\n");
  auto pa = info(nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 80, net::tcpflag::syn), who(1))).src_port;
  nat.rig->push(Direction::outbound, tcp("10.0.0.3", 40001, "198.51.100.1", pa, net::tcpflag::syn), who(1));
  auto in = nat.rig->take(Direction::inbound);
  ASSERT_EQ(in.size(), 1u);
  verify(in[0].bytes);
  auto i = info(in[0].bytes);
  EXPECT_EQ(i.src, addr("198.51.100.1"));
  EXPECT_EQ(i.dst, addr("10.0.0.2"));
  EXPECT_EQ(i.dst_port, 40000);
  EXPECT_EQ(i.src_port, 20001);  // B's mapping: same identity, next port of the block
}

// ----- IPv6 -----

TEST(Nat, Nat66) {
  Nat nat;
  auto t = info(nat.out(tcp("fd00::2", 40000, "2001:db8:ffff::5", 443, net::tcpflag::syn)));
  EXPECT_EQ(t.src, addr("2001:db8::1"));
  auto back = nat.in(tcp("2001:db8:ffff::5", 443, "2001:db8::1", t.src_port, net::tcpflag::syn | net::tcpflag::ack));
  EXPECT_EQ(back.bytes, tcp("2001:db8:ffff::5", 443, "fd00::2", 40000, net::tcpflag::syn | net::tcpflag::ack));
  auto u = info(nat.out(udp("fd00::2", 40000, "2001:db8:ffff::5", 53)));
  EXPECT_EQ(u.src, addr("2001:db8::1"));
}

// ----- drops -----

TEST(Nat, FragmentsMalformedAndOtherProtocols) {
  Nat nat;
  Bytes frag = udp("10.0.0.2", 40000, "203.0.113.5", 53);
  put16(frag, 6, 0x0010);  // offset 128 bytes: a non-first fragment
  net::ipv4_set_header_checksum(frag);
  nat.rig->push(Direction::outbound, frag);
  nat.rig->push(Direction::inbound, frag);
  EXPECT_EQ(nat.rig->drops("fragment"), 2u);
  nat.rig->push(Direction::outbound, Bytes{0x45, 0, 0});
  nat.rig->push(Direction::inbound, Bytes{0x99});
  EXPECT_EQ(nat.rig->drops("malformed"), 2u);
  nat.rig->push(Direction::outbound, ip("10.0.0.2", "203.0.113.5", 47, Bytes(8, 0), true));  // GRE
  nat.rig->push(Direction::outbound, echo("10.0.0.2", "203.0.113.5", false, 1));              // echo reply
  EXPECT_EQ(nat.rig->drops("unsupported_protocol"), 2u);
  EXPECT_EQ(nat.outs(), 0u);
}

TEST(Nat, UdpZeroChecksumStaysZero) {
  Nat nat;
  auto out = nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53, true));
  auto t = info(out);
  EXPECT_EQ(get16(out, t.l4_offset + 6), 0);
  auto back = nat.in(udp("203.0.113.5", 53, "198.51.100.1", t.src_port, true));
  EXPECT_EQ(get16(back.bytes, 26), 0);
}

// ----- config -----

TEST(Nat, ReloadKeepsSessions) {
  Nat nat;
  auto p = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1))).src_port;
  nat.rig->reconfigure(std::string("udp = \"10m\"\nmax_sessions = 5000\n") + R"(
block_size = 100
[[socket]]
id = 0
egress4 = "198.51.100.1"
[[socket]]
id = 9
egress4 = "198.51.100.9"
)");
  nat.in(udp("203.0.113.5", 53, "198.51.100.1", p));
  EXPECT_EQ(info(nat.out(udp("10.0.0.2", 40000, "203.0.113.6", 53), who(1))).src_port, p);
  EXPECT_EQ(info(nat.out(udp("10.0.0.2", 40000, "203.0.113.6", 53), who(1, 1, 9))).src, addr("198.51.100.9"));

  try {
    nat.rig->reconfigure("block_size = 100\n[[socket]]\nid = 0\negress4 = \"198.51.100.1\"\n", directory("30000-30999"));
    FAIL() << "egress_ports changed under live sessions";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("socket 'zero': egress_ports 20000-20999 -> 30000-30999 cannot change while "
                                         "sessions are live: restart to apply it"),
              std::string::npos)
        << e.what();
  }
  try {
    nat.rig->reconfigure("block_size = 100\ndefault_socket = 9\n[[socket]]\nid = 9\negress4 = \"198.51.100.9\"\n");
    FAIL() << "removed a socket with sessions";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("restart"), std::string::npos) << e.what();
  }
  nat.in(udp("203.0.113.5", 53, "198.51.100.1", p));  // the old config still runs
}

std::string config_error(const std::string& toml, const std::string& directory = "") {
  try {
    Rig::load(WAYGATE_NAT_PLUGIN, toml, with(directory));
  } catch (const waygate::ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Nat, ConfigErrorsNameTheKey) {
  const std::string sock = "\n[[socket]]\nid = 0\negress4 = \"198.51.100.1\"\n";
  EXPECT_NE(config_error("block_size = 20" + sock, directory("1000-1009"))
                .find("key 'block_size': is larger than the 10 ports of socket 'zero' (egress_ports 1000-1009)"),
            std::string::npos);
  EXPECT_NE(config_error("max_sessions = 0" + sock).find("key 'max_sessions'"), std::string::npos);
  EXPECT_NE(config_error("filtering = \"full-cone\"" + sock).find("key 'filtering'"), std::string::npos);
  EXPECT_NE(config_error("udp = \"2x\"" + sock).find("key 'udp'"), std::string::npos);
  EXPECT_NE(config_error("icmp = 0" + sock).find("key 'icmp'"), std::string::npos);
  EXPECT_NE(config_error("default_socket = 4" + sock).find("key 'default_socket'"), std::string::npos);
  EXPECT_NE(config_error("mtu = 4" + sock).find("key 'mtu'"), std::string::npos);
  EXPECT_NE(config_error("[[socket]]\nid = 0\negress4 = \"2001:db8::1\"\n").find("key 'egress4'"), std::string::npos);
  EXPECT_NE(config_error("[[socket]]\nid = 0\negress6 = \"1.2.3.4\"\n").find("key 'egress6'"), std::string::npos);
  EXPECT_NE(config_error("[[socket]]\nid = 0\negress4 = \"1.2.3.4\"\nspeed = 1\n").find("key 'speed'"), std::string::npos);
  EXPECT_NE(config_error(sock + sock).find("key 'id'"), std::string::npos);
  EXPECT_NE(config_error("udp = 10").find("key 'socket'"), std::string::npos);
  // Compound durations ("2h4m", the RFC 5382 default) and integer seconds are accepted.
  EXPECT_EQ(config_error("tcp_established = \"2h4m\"\ntcp_transitory = 240\nudp = \"2m\"\nicmp = \"60s\"" + sock), "accepted");
}

// Two workers ([host] workers = 2): each translates to its own share of a socket's ports
// (20000-20499 and 20500-20999 of 20000-20999); a reply that reaches the other worker (where the
// egress edge's steering would not send it) is handed to the worker holding its port and comes back
// in from there, as does a hairpinned packet for a port of the other share; the first worker
// writes every worker's sessions to the log. A share must hold a block; a pair runs on one worker.
TEST(Nat, TwoWorkersTranslateToTheirOwnShareAndHandOverTheRest) {
  char dir[] = "/tmp/waygate-natlog-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string log = std::string(dir) + "/nat.log";
  auto w = Rig::load_workers(2, WAYGATE_NAT_PLUGIN,
                             "filtering = \"endpoint-independent\"\nlog = \"" + log + "\"\n" + kConfig,
                             with(directory("20000-20999")));
  for (auto& r : w) r->start();
  auto one = [](Rig& r, Direction d) {
    auto got = r.take(d);
    EXPECT_EQ(got.size(), 1u);
    if (!got.empty()) verify(got[0].bytes);
    return got.empty() ? Captured{} : got[0];
  };
  w[1]->push(Direction::outbound, udp("10.0.0.2", 20010, "203.0.113.5", 53), who(3, 9, 0));
  const std::uint16_t p1 = info(one(*w[1], Direction::outbound).bytes).src_port;
  EXPECT_GE(p1, 20500);
  EXPECT_LE(p1, 20999);
  w[0]->push(Direction::outbound, udp("10.0.0.3", 20600, "203.0.113.5", 53), who(4, 8, 0));
  const std::uint16_t p0 = info(one(*w[0], Direction::outbound).bytes).src_port;
  EXPECT_LE(p0, 20499);

  w[0]->push(Direction::inbound, udp("203.0.113.5", 53, "198.51.100.1", p1));  // on the wrong worker
  EXPECT_TRUE(w[0]->take(Direction::inbound).empty());
  EXPECT_EQ(w[0]->counter("handed_over_total"), 1);
  w[1]->poll();
  auto back = one(*w[1], Direction::inbound);
  EXPECT_EQ(back.bytes, udp("203.0.113.5", 53, "10.0.0.2", 20010));
  EXPECT_EQ(back.meta.identity, 3u);
  EXPECT_EQ(back.meta.peer, 9u);

  w[0]->push(Direction::outbound, udp("10.0.0.3", 20600, "198.51.100.1", p1), who(4, 8, 0));  // a hairpin
  EXPECT_EQ(w[0]->take(Direction::outbound).size() + w[0]->take(Direction::inbound).size(), 0u);
  w[1]->poll();
  EXPECT_EQ(one(*w[1], Direction::inbound).bytes, udp("198.51.100.1", p0, "10.0.0.2", 20010));

  w[0]->push(Direction::inbound, udp("203.0.113.5", 53, "198.51.100.1", 20990));  // the other share's, no session
  w[1]->poll();
  EXPECT_EQ(w[1]->drops("no_session"), 1u);
  EXPECT_TRUE(w[1]->take(Direction::inbound).empty());

  w[0]->poll();  // the second worker's session starts, handed over
  for (auto& r : w) r->stop();
  std::ifstream in(log);
  std::size_t lines = 0, second = 0;
  for (std::string line; std::getline(in, line); ++lines) second += line.find("\"inside\":\"10.0.0.2:20010\"") != std::string::npos;
  EXPECT_EQ(second, 2u) << "the second worker's two sessions (to the server, from the hairpin)";
  EXPECT_EQ(lines, 4u);
  EXPECT_EQ(w[1]->counter("log_lines_total"), 0);
  EXPECT_EQ(w[0]->counter("log_lines_total"), 4);
  ::unlink(log.c_str());
  ::rmdir(dir);

  try {
    Rig::load_workers(2, WAYGATE_NAT_PLUGIN, kConfig, with(directory("20000-20149")));  // blocks of 100
    ADD_FAILURE() << "a block larger than a share was taken";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("is larger than a worker's share of the ports of socket 'zero' (egress_ports "
                                         "20000-20149 shared by [host] workers = 2: 20000-20074 here)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Rig::load_workers(2, WAYGATE_NAT_PLUGIN,
                                 "[pair]\nlisten = \"127.0.0.1:0\"\npeer = \"127.0.0.1:1\"\n" + std::string(kConfig),
                                 with(directory("20000-20999"))),
               waygate::ConfigError);
}

// ----- the ports: the directory's [[socket]] egress_ports -----

TEST(Nat, PortRangeMovedToTheDirectory) {
  const std::string e = config_error("port_range = \"20000-20999\"\n[[socket]]\nid = 0\negress4 = \"198.51.100.1\"\n");
  EXPECT_NE(e.find("<rig>:1:1: key 'port_range': port_range moved to [[socket]] egress_ports"),
            std::string::npos)
      << e;
}

const char* kTwoSockets = R"(
[[socket]]
name = "a"
type = "exit_node"
egress = ["198.51.100.1"]
egress_ports = "20000-20099"
[[socket]]
name = "b"
type = "exit_node"
egress = ["198.51.100.2"]
egress_ports = "30000-30149"
)";

TEST(Nat, EachSocketAllocatesWithinItsOwnEgressPorts) {
  auto rig = Rig::load(WAYGATE_NAT_PLUGIN, "block_size = 50", with(kTwoSockets));
  rig->start();
  auto out = [&](std::uint16_t sport, std::uint32_t socket) {
    rig->push(Direction::outbound, udp("10.0.0.2", sport, "203.0.113.5", 53), who(1, 1, socket));
    auto got = rig->take(Direction::outbound);
    EXPECT_EQ(got.size(), 1u);
    return got.empty() ? net::PacketInfo{} : info(got[0].bytes);
  };
  // An inside port in the socket's own range is preserved; one in the other socket's is not.
  const auto b = out(30010, 1);
  EXPECT_EQ(b.src, addr("198.51.100.2"));
  EXPECT_EQ(b.src_port, 30010);
  const auto a = out(30010, 0);
  EXPECT_EQ(a.src, addr("198.51.100.1"));
  EXPECT_GE(a.src_port, 20000);
  EXPECT_LE(a.src_port, 20099);
  EXPECT_EQ(out(20010, 0).src_port, 20010);
  const auto b2 = out(20010, 1).src_port;
  EXPECT_GE(b2, 30000);
  EXPECT_LE(b2, 30149);
  // The answers come back to their socket.
  rig->push(Direction::inbound, udp("203.0.113.5", 53, "198.51.100.2", 30010));
  auto back = rig->take(Direction::inbound);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].meta.socket, 1u);
  // Every port either socket hands out is of its own range, until that range runs out: a has 100
  // ports, b 150, and two of each are taken above.
  auto fill = [&](std::uint32_t socket, std::uint16_t first, std::uint16_t last) {
    std::size_t n = 0;
    for (std::uint16_t i = 0; i < 200; ++i) {
      rig->push(Direction::outbound, udp("10.0.0.3", static_cast<std::uint16_t>(1000 + i), "203.0.113.5", 53),
                who(1, 1, socket));
      for (auto& c : rig->take(Direction::outbound)) {
        const auto port = info(c.bytes).src_port;
        EXPECT_TRUE(port >= first && port <= last) << "socket " << socket << ": port " << port;
        ++n;
      }
    }
    rig->take(Direction::inbound);  // the refusals' answers
    return n;
  };
  EXPECT_EQ(fill(0, 20000, 20099), 98u);
  EXPECT_EQ(fill(1, 30000, 30149), 148u);
  EXPECT_EQ(rig->drops("ports_exhausted"), (200u - 98u) + (200u - 148u));
}

// A [[stage.socket]] takes the ports of the directory's socket with its id, the default without one.
TEST(Nat, StageSocketsTakeTheDirectorySocketsEgressPorts) {
  Nat nat;  // socket 0 is the directory's 'zero', 20000-20999; socket 5 is not in the directory
  const auto zero = info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 0))).src_port;
  EXPECT_GE(zero, 20000);
  EXPECT_LE(zero, 20999);
  EXPECT_EQ(info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 5))).src_port, 40000)
      << "preserved: in the default 20000-49999";
}

// Sessions hold ports of their socket's range: a socket's egress_ports change on reload while it is
// idle, and is refused, naming it, while it has sessions; other sockets' sessions live on.
TEST(Nat, EgressPortsChangeOnReloadOnlyWhereNoSessionsAre) {
  auto rig = Rig::load(WAYGATE_NAT_PLUGIN, "block_size = 50", with(kTwoSockets));
  rig->start();
  rig->push(Direction::outbound, udp("10.0.0.2", 20010, "203.0.113.5", 53), who(1, 1, 0));
  ASSERT_EQ(rig->take(Direction::outbound).size(), 1u);
  std::string moved = kTwoSockets;
  moved.replace(moved.find("30000-30149"), 11, "31000-31099");
  rig->reconfigure("block_size = 50", moved);  // b is idle
  rig->push(Direction::outbound, udp("10.0.0.2", 30010, "203.0.113.5", 53), who(1, 1, 1));
  auto got = rig->take(Direction::outbound);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(info(got[0].bytes).src_port, 31000);
  EXPECT_LE(info(got[0].bytes).src_port, 31099);
  moved.replace(moved.find("20000-20099"), 11, "20000-20199");
  try {
    rig->reconfigure("block_size = 50", moved);
    ADD_FAILURE() << "egress_ports changed under live sessions";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("socket 'a': egress_ports 20000-20099 -> 20000-20199 cannot change while "
                                         "sessions are live: restart to apply it"),
              std::string::npos)
        << e.what();
  }
  rig->push(Direction::inbound, udp("203.0.113.5", 53, "198.51.100.1", 20010));  // the old config still runs
  EXPECT_EQ(rig->take(Direction::inbound).size(), 1u);
}

TEST(Nat, CompoundDurations) {
  Nat nat("tcp_transitory = \"1m30s\"\n");
  nat.out(tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::syn));
  nat.rig->advance(85s);
  EXPECT_EQ(nat.sessions("tcp"), 1);
  nat.rig->advance(10s);
  EXPECT_EQ(nat.sessions("tcp"), 0);
}

TEST(Nat, TheSweepDoesBoundedWorkPerTick) {
  Nat nat;
  for (std::uint16_t i = 0; i < 960; ++i)
    nat.out(udp("10.0.0.2", static_cast<std::uint16_t>(1000 + i), "203.0.113.5", 53), who(static_cast<std::uint32_t>(i / 100)));
  EXPECT_EQ(nat.sessions("udp"), 960);
  nat.rig->advance(120s);  // the deadline: the tick at 120 s sees only its slice of the table
  EXPECT_GT(nat.sessions("udp"), 0);
  EXPECT_LT(nat.sessions("udp"), 960);
  nat.rig->advance(16s);  // a whole pass
  EXPECT_EQ(nat.sessions("udp"), 0);
  EXPECT_EQ(nat.rig->counter("sessions_expired_total"), 960);
  EXPECT_EQ(nat.rig->counter("blocks_in_use"), 0);
}

TEST(Nat, RemovingAnIdleSocket) {
  Nat nat;
  nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 5));
  nat.rig->advance(3min);  // socket 5's session expires
  nat.rig->reconfigure("block_size = 100\n[[socket]]\nid = 0\negress4 = \"198.51.100.1\"\n");
  nat.rig->push(Direction::outbound, udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 5));
  EXPECT_EQ(nat.rig->drops("unknown_socket"), 1u);
  nat.rig->reconfigure(std::string("block_size = 100\n[[socket]]\nid = 0\n") +
                       "egress4 = \"198.51.100.1\"\n[[socket]]\nid = 6\negress4 = \"198.51.100.6\"\n");
  EXPECT_EQ(info(nat.out(udp("10.0.0.2", 40000, "203.0.113.5", 53), who(1, 1, 6))).src, addr("198.51.100.6"));
}

// The NAT log hook, on the engine itself (the plugin keeps the ring and exposes nothing yet).
TEST(NatEngine, SessionEventsAreKeptInARing) {
  std::array<std::atomic<std::uint64_t>, 8> slots{};
  waygate::nat::Metrics m;
  for (std::size_t i = 0; i < 3; ++i) m.sessions[i] = waygate::Gauge(&slots[i]);
  m.translations = {waygate::Counter(&slots[3]), waygate::Counter(&slots[4])};
  m.created = waygate::Counter(&slots[5]);
  m.expired = waygate::Counter(&slots[6]);
  m.blocks = waygate::Gauge(&slots[7]);
  waygate::nat::Engine engine(m, 1);
  waygate::nat::Settings s;
  s.sockets.push_back({0, addr("198.51.100.1"), std::nullopt, {}, "", {}});
  ASSERT_FALSE(engine.configure(s).has_value());
  const auto wall = std::chrono::sys_days{std::chrono::year{2026} / 3 / 1};
  engine.set_clock(0s, wall);
  Bytes p = udp("10.0.0.2", 40000, "203.0.113.5", 53);
  Meta meta = who(8);
  ASSERT_EQ(engine.process(p, meta, Direction::outbound).verdict, waygate::nat::Verdict::pass);
  engine.set_clock(200s, wall + 200s);
  engine.sweep();
  std::vector<waygate::nat::SessionEvent> events;
  engine.drain_events([&](const waygate::nat::SessionEvent& e) { events.push_back(e); });
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].start);
  EXPECT_FALSE(events[1].start);
  EXPECT_EQ(events[0].identity, 8u);
  EXPECT_EQ(events[0].inside, addr("10.0.0.2"));
  EXPECT_EQ(events[0].inside_port, 40000);
  EXPECT_EQ(events[0].remote, addr("203.0.113.5"));
  EXPECT_EQ(events[0].remote_port, 53);
  EXPECT_EQ(events[0].outside, addr("198.51.100.1"));
  EXPECT_EQ(events[0].protocol, net::ipproto::udp);
  EXPECT_EQ(events[1].wall_ns - events[0].wall_ns, 200'000'000'000);
  engine.drain_events([&](const waygate::nat::SessionEvent&) { FAIL() << "drained twice"; });
  EXPECT_EQ(engine.events_lost(), 0u);
}

// An engine alone, as the pair's replication drives one: socket 0 egresses 198.51.100.1, ports
// 20000-20999 in blocks of 100.
struct Alone {
  explicit Alone(std::uint32_t max_sessions = 1000) : engine(local.metrics(), 1) {
    waygate::nat::Settings s;
    s.block_size = 100;
    s.max_sessions = max_sessions;
    s.sockets.push_back({0, addr("198.51.100.1"), std::nullopt, {20000, 20999}, "", {}});
    EXPECT_FALSE(engine.configure(s).has_value());
    engine.set_clock(0s, std::chrono::system_clock::now());
  }
  waygate::nat::Verdict run(Bytes& p, Direction d, Meta meta = {}) { return engine.process(p, meta, d).verdict; }
  std::vector<waygate::nat::SessionChange> changes() {
    std::vector<waygate::nat::SessionChange> out;
    engine.drain_changes([&](const waygate::nat::SessionChange& c) { out.push_back(c); });
    return out;
  }
  waygate::nat::LocalMetrics local;
  waygate::nat::Engine engine;
};

// What the active records, the standby adopts; made active, the standby translates the same
// connections through the same outside ports, both ways.
TEST(NatReplication, AStandbyTakesOverTheActivesSessions) {
  Alone active, standby;
  active.engine.record_changes(true);
  standby.engine.set_standby(true);
  Bytes syn = tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::syn);
  Bytes query = udp("10.0.0.3", 5353, "203.0.113.53", 53);
  ASSERT_EQ(active.run(syn, Direction::outbound, who(7, 2)), waygate::nat::Verdict::pass);
  ASSERT_EQ(active.run(query, Direction::outbound, who(8, 3)), waygate::nat::Verdict::pass);
  const std::uint16_t tcp_port = get16(syn, 20), udp_port = get16(query, 20);
  Bytes synack = tcp("203.0.113.5", 443, "198.51.100.1", tcp_port, net::tcpflag::syn | net::tcpflag::ack);
  ASSERT_EQ(active.run(synack, Direction::inbound), waygate::nat::Verdict::pass);
  auto changes = active.changes();
  ASSERT_EQ(changes.size(), 3u);  // the TCP session, the UDP one, the TCP one established
  EXPECT_EQ(changes[2].state.outside_port, tcp_port);
  EXPECT_NE(changes[2].state.tcp, changes[0].state.tcp);
  for (auto& c : changes) ASSERT_TRUE(standby.engine.adopt(c.state));
  EXPECT_EQ(standby.engine.session_count(), 2u);

  standby.engine.set_standby(false);  // the active is gone
  Bytes data = tcp("203.0.113.5", 443, "198.51.100.1", tcp_port, net::tcpflag::ack);
  Meta in;
  ASSERT_EQ(standby.engine.process(data, in, Direction::inbound).verdict, waygate::nat::Verdict::pass);
  EXPECT_EQ(info(data).dst, addr("10.0.0.2"));
  EXPECT_EQ(get16(data, 22), 40000);
  EXPECT_EQ(in.identity, 7u);
  EXPECT_EQ(in.peer, 2u);
  Bytes answer = udp("203.0.113.53", 53, "198.51.100.1", udp_port);
  ASSERT_EQ(standby.run(answer, Direction::inbound), waygate::nat::Verdict::pass);
  EXPECT_EQ(info(answer).dst, addr("10.0.0.3"));
  Bytes more = tcp("10.0.0.2", 40000, "203.0.113.5", 443, net::tcpflag::ack);
  ASSERT_EQ(standby.run(more, Direction::outbound, who(7, 2)), waygate::nat::Verdict::pass);
  EXPECT_EQ(get16(more, 20), tcp_port);
  // Established, as on the active: it lives the long lifetime, not the transitory one.
  standby.engine.set_clock(30min, std::chrono::system_clock::now());
  standby.engine.sweep();
  for (unsigned i = 0; i < waygate::nat::Engine::kSweepsPerPass; ++i) standby.engine.sweep();
  EXPECT_EQ(standby.engine.session_count(), 1u);  // the UDP one's two minutes are up
}

TEST(NatReplication, EndsReachTheStandbyWhichAgesNothingItself) {
  Alone active, standby;
  active.engine.record_changes(true);
  standby.engine.set_standby(true);
  Bytes query = udp("10.0.0.3", 5353, "203.0.113.53", 53);
  ASSERT_EQ(active.run(query, Direction::outbound, who(8)), waygate::nat::Verdict::pass);
  for (auto& c : active.changes()) ASSERT_TRUE(standby.engine.adopt(c.state));
  standby.engine.set_clock(10min, std::chrono::system_clock::now());
  for (unsigned i = 0; i <= waygate::nat::Engine::kSweepsPerPass; ++i) standby.engine.sweep();
  EXPECT_EQ(standby.engine.session_count(), 1u);  // only the active says when it ends
  active.engine.set_clock(10min, std::chrono::system_clock::now());
  for (unsigned i = 0; i <= waygate::nat::Engine::kSweepsPerPass; ++i) active.engine.sweep();
  auto changes = active.changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].up);
  standby.engine.forget(changes[0].state);
  EXPECT_EQ(standby.engine.session_count(), 0u);
  EXPECT_EQ(standby.engine.mapping_count(), 0u);
  // The standby's NAT log has the session too, marked as the active's: its start and its end.
  std::vector<waygate::nat::SessionEvent> logged;
  standby.engine.drain_events([&](const waygate::nat::SessionEvent& e) { logged.push_back(e); });
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_TRUE(logged[0].start && logged[0].replicated);
  EXPECT_TRUE(!logged[1].start && logged[1].replicated);
  EXPECT_EQ(logged[0].outside_port, changes[0].state.outside_port);
  active.engine.drain_events([&](const waygate::nat::SessionEvent& e) { EXPECT_FALSE(e.replicated); });
}

TEST(NatReplication, ASnapshotAfterAGapDropsWhatEndedMeanwhile) {
  Alone active, standby;
  active.engine.record_changes(true);
  standby.engine.set_standby(true);
  for (std::uint16_t port : {1000, 1001, 1002}) {
    Bytes p = udp("10.0.0.2", port, "203.0.113.53", 53);
    ASSERT_EQ(active.run(p, Direction::outbound, who(1)), waygate::nat::Verdict::pass);
  }
  for (auto& c : active.changes()) ASSERT_TRUE(standby.engine.adopt(c.state));
  // Two end on the active and the standby misses it: the whole table again.
  std::vector<waygate::nat::SessionState> all;
  active.engine.each_session([&](const waygate::nat::SessionState& s) { all.push_back(s); });
  ASSERT_EQ(all.size(), 3u);
  for (std::size_t i = 0; i < 2; ++i) active.engine.forget(all[i]);
  standby.engine.begin_snapshot();
  active.engine.each_session([&](const waygate::nat::SessionState& s) { EXPECT_TRUE(standby.engine.adopt(s)); });
  standby.engine.end_snapshot();
  std::vector<waygate::nat::SessionState> held;
  standby.engine.each_session([&](const waygate::nat::SessionState& s) { held.push_back(s); });
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0], all[2]);
}

TEST(NatReplication, WhatCannotBeHeldIsRefusedAndChangesNothing) {
  Alone active, standby;
  active.engine.record_changes(true);
  Bytes p = udp("10.0.0.2", 1000, "203.0.113.53", 53);
  ASSERT_EQ(active.run(p, Direction::outbound, who(1)), waygate::nat::Verdict::pass);
  const waygate::nat::SessionState s = active.changes().at(0).state;
  // The standby's own session holds that port (for another identity, in its block).
  Bytes own = udp("10.0.0.9", s.outside_port, "203.0.113.7", 7);
  ASSERT_EQ(standby.run(own, Direction::outbound, who(2)), waygate::nat::Verdict::pass);
  ASSERT_EQ(get16(own, 20), s.outside_port);
  EXPECT_FALSE(standby.engine.adopt(s));  // the port is another mapping's
  auto next = s;
  next.outside_port = static_cast<std::uint16_t>(s.outside_port + 1);
  EXPECT_FALSE(standby.engine.adopt(next));  // a free port, but of identity 2's block
  auto elsewhere = s;
  elsewhere.socket = 9;
  EXPECT_FALSE(standby.engine.adopt(elsewhere));  // no such socket
  auto outside = s;
  outside.outside_port = 30000;
  EXPECT_FALSE(standby.engine.adopt(outside));  // beyond the socket's ports
  EXPECT_EQ(standby.engine.session_count(), 1u);
  auto far = s;
  far.outside_port = 20500;  // a block nobody holds: taken for identity 1
  EXPECT_TRUE(standby.engine.adopt(far));
  EXPECT_EQ(standby.engine.session_count(), 2u);
}

TEST(NatReplication, AFullRingLosesChangesAndSaysSo) {
  Alone active(8192);
  active.engine.record_changes(true);
  EXPECT_FALSE(active.engine.changes_lost());
  for (std::uint32_t i = 0; i <= waygate::nat::Engine::kChangeRing; ++i) {
    Bytes p = udp("10.0.0.2", static_cast<std::uint16_t>(1000 + i % 50), "203.0.113.53", static_cast<std::uint16_t>(1 + i / 50));
    ASSERT_EQ(active.run(p, Direction::outbound, who(1)), waygate::nat::Verdict::pass);
  }
  EXPECT_TRUE(active.engine.changes_lost());
  EXPECT_FALSE(active.engine.changes_lost());  // said once
  EXPECT_EQ(active.changes().size(), waygate::nat::Engine::kChangeRing);
}

}  // namespace
