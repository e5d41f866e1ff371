// The egress edge without a host: its config errors, the receive filters run by the kernel on a
// socketpair (SO_ATTACH_FILTER works on any socket; with base 0 the programs read a datagram as
// they read an IP packet behind a link header), the nftables scripts against golden text, the
// ephemeral range arithmetic, frame unwrapping (checksum completion), the send path's drops, and,
// as root, a start and stop in a namespace of its own.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "filter.hpp"
#include "listeners.hpp"
#include "frame.hpp"
#include "tables.hpp"
#include "originals.hpp"
#include "sysctl.hpp"
#include "waygate/net/checksum.hpp"
#include "waygate/pool.hpp"
#include "waygate/testing/rig.hpp"

using waygate::Direction;
using waygate::testing::Rig;
using waygate::testing::RigOptions;
using namespace waygate::egress;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr const char* kShared = R"(
interface = "eth0"
egress4 = ["198.51.100.1", "198.51.100.7"]
egress6 = "2001:db8::1"
)";

std::string error_of(const std::string& toml) {
  try {
    Rig::load(WAYGATE_EGRESS_PLUGIN, toml);
  } catch (const waygate::ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

// --- packets -------------------------------------------------------------------------------------

Bytes ipv4(std::uint8_t protocol, const Bytes& dst, std::uint16_t port, std::size_t options = 0) {
  const std::size_t hl = 20 + options;
  Bytes p(hl + 8, 0);
  p[0] = static_cast<std::uint8_t>(0x40 | (hl / 4));
  p[2] = 0;
  p[3] = static_cast<std::uint8_t>(p.size());
  p[8] = 64;
  p[9] = protocol;
  Bytes src = {203, 0, 113, 5};
  std::copy(src.begin(), src.end(), p.begin() + 12);
  std::copy(dst.begin(), dst.end(), p.begin() + 16);
  p[hl] = 0x01, p[hl + 1] = 0xbb;  // source port 443 (ICMP: type 1, code 187: rewritten below)
  p[hl + 2] = static_cast<std::uint8_t>(port >> 8);
  p[hl + 3] = static_cast<std::uint8_t>(port);
  return p;
}

Bytes icmp4(const Bytes& dst, std::uint8_t type, std::uint16_t id) {
  Bytes p = ipv4(1, dst, 0);
  p[20] = type;
  p[21] = 0;
  p[24] = static_cast<std::uint8_t>(id >> 8);
  p[25] = static_cast<std::uint8_t>(id);
  return p;
}

Bytes ipv6(std::uint8_t next, const Bytes& dst, std::uint16_t port) {
  Bytes p(48, 0);
  p[0] = 0x60;
  p[5] = 8;
  p[6] = next;
  p[7] = 64;
  p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 0x99;
  std::copy(dst.begin(), dst.end(), p.begin() + 24);
  p[42] = static_cast<std::uint8_t>(port >> 8);
  p[43] = static_cast<std::uint8_t>(port);
  return p;
}

Bytes icmp6(const Bytes& dst, std::uint8_t type, std::uint16_t id) {
  Bytes p = ipv6(58, dst, 0);
  p[40] = type;
  p[41] = 0;
  p[42] = p[43] = 0;
  p[44] = static_cast<std::uint8_t>(id >> 8);
  p[45] = static_cast<std::uint8_t>(id);
  return p;
}

const Bytes kEgressA = {198, 51, 100, 1};
const Bytes kEgressB = {198, 51, 100, 7};
const Bytes kOther4 = {198, 51, 100, 2};
const Bytes kEgress6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kOther6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

Settings shared_settings() {
  Settings s;
  s.interface = "eth0";
  s.egress4 = {Address4{198, 51, 100, 1}, Address4{198, 51, 100, 7}};
  s.egress6 = {Address6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  s.ports = {40000, 40999};
  return s;
}

// A datagram socketpair whose receiving end runs one of the filters: what it lets through can be
// read back, what it rejects never arrives.
class Filtered {
 public:
  explicit Filtered(std::vector<sock_filter> program, std::size_t base) : base_(base) {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_), 0);
    sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
    EXPECT_EQ(::setsockopt(fds_[1], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog), 0) << std::strerror(errno);
  }
  ~Filtered() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  bool accepts(const Bytes& packet) {
    Bytes framed(base_, 0xee);  // a link header of that many bytes in front
    framed.insert(framed.end(), packet.begin(), packet.end());
    EXPECT_EQ(::send(fds_[0], framed.data(), framed.size(), 0), static_cast<ssize_t>(framed.size()));
    std::uint8_t buf[256];
    ssize_t n = ::recv(fds_[1], buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return false;
    EXPECT_EQ(n, static_cast<ssize_t>(framed.size()));
    return true;
  }

 private:
  std::size_t base_;
  int fds_[2] = {-1, -1};
};

// --- config --------------------------------------------------------------------------------------

TEST(EgressConfig, ErrorsNameTheKey) {
  EXPECT_EQ(error_of("egress4 = '198.51.100.1'"), "<rig>:1:1: key 'interface': missing (a string is required)");
}

// Without egress4/egress6 of its own, shared mode shares the directory sockets' egress addresses.
TEST(EgressConfig, SharedModeTakesTheSocketsEgressFromTheDirectory) {
  RigOptions with_socket;
  with_socket.directory =
      "[[socket]]\nname = 'exit'\ntype = 'exit_node'\negress = ['198.51.100.1', '2001:db8::1']\n";
  EXPECT_NO_THROW(Rig::load(WAYGATE_EGRESS_PLUGIN, "interface = 'eth0'", with_socket));
  RigOptions without_egress;
  without_egress.directory = "[[socket]]\nname = 'exit'\ntype = 'exit_node'\n";
  EXPECT_THROW(Rig::load(WAYGATE_EGRESS_PLUGIN, "interface = 'eth0'", without_egress), waygate::ConfigError);
}

// The NAT's ports come from the directory's sockets, as the nat stage's do: one range for the
// kernel's ephemeral ports, the filters and the table, covering every socket's egress_ports.
TEST(EgressConfig, ThePortsAreTheDirectorySocketsEgressPorts) {
  auto ports = [](const std::string& stage, const std::string& directory) {
    auto d = waygate::Directory::load(waygate::Config::parse(directory, "d.toml"));
    return read_settings(waygate::Config::parse("interface = 'eth0'\n" + stage, "s.toml"), *d).ports;
  };
  auto socket = [](const std::string& name, const std::string& egress, const std::string& egress_ports) {
    return "[[socket]]\nname = '" + name + "'\ntype = 'exit_node'\negress = ['" + egress + "']\n" +
           (egress_ports.empty() ? "" : "egress_ports = '" + egress_ports + "'\n");
  };
  EXPECT_EQ(ports("", socket("a", "198.51.100.1", "40000-40999")), (PortRange{40000, 40999}));
  EXPECT_EQ(ports("", socket("a", "198.51.100.1", "")), (PortRange{20000, 49999})) << "the default";
  // Sockets that differ: the smallest range covering them all.
  EXPECT_EQ(ports("", socket("a", "198.51.100.1", "45000-45999") + socket("b", "2001:db8::1", "40000-40999") +
                          socket("c", "198.51.100.3", "41000-41999")),
            (PortRange{40000, 45999}));
  // A socket without egress addresses has no NAT ports to keep.
  EXPECT_EQ(ports("", socket("a", "198.51.100.1", "40000-40999") +
                          "[[socket]]\nname = 'lab'\ntype = 'subnet_router'\nroutes = ['10.9.0.0/16']\n"),
            (PortRange{40000, 40999}));
  // Addresses of the edge's own: a socket's, its ports; no socket's (a nat [[stage.socket]]'s),
  // the default ones.
  EXPECT_EQ(ports("egress4 = '198.51.100.1'", socket("a", "198.51.100.1", "40000-40999")), (PortRange{40000, 40999}));
  EXPECT_EQ(ports("egress4 = '198.51.100.9'", socket("a", "198.51.100.1", "40000-40999")), (PortRange{20000, 49999}));
  EXPECT_EQ(ports("egress6 = '2001:db8::9'", ""), (PortRange{20000, 49999}));
}

TEST(EgressConfig, SharedModeErrors) {
  auto has = [](const std::string& error, const std::string& part) {
    return error.find(part) != std::string::npos;
  };
  std::string e = error_of("interface = 'eth0'");
  EXPECT_TRUE(has(e, "key 'egress4'") && has(e, "egress4, egress6, or the directory sockets' egress")) << e;
  e = error_of("interface = 'eth0'\negress4 = '198.51.100.300'");
  EXPECT_TRUE(has(e, "key 'egress4': '198.51.100.300' is not an IPv4 address")) << e;
  e = error_of("interface = 'eth0'\negress6 = '198.51.100.1'");
  EXPECT_TRUE(has(e, "key 'egress6': '198.51.100.1' is not an IPv6 address")) << e;
  e = error_of("interface = 'eth0'\negress4 = ['198.51.100.1', '198.51.100.1']");
  EXPECT_TRUE(has(e, "key 'egress4': '198.51.100.1' is listed twice")) << e;
  e = error_of("interface = 'eth0'\negress4 = '198.51.100.1'\nport_range = '40000-40999'");
  EXPECT_TRUE(has(e, "key 'port_range': port_range moved to [[socket]] egress_ports")) << e;
  e = error_of("interface = 'eth0'\negress4 = '198.51.100.1'\nroutes = ['10.80.0.0/24']");
  EXPECT_TRUE(has(e, "key 'routes': is only used with mode = \"kernel\"")) << e;
  e = error_of("interface = 'an-interface-name-too-long'\negress4 = '198.51.100.1'");
  EXPECT_TRUE(has(e, "key 'interface': an interface name is 1 to 15 characters")) << e;
  e = error_of("mode = 'magic'\ninterface = 'eth0'");
  EXPECT_TRUE(has(e, "key 'mode': expected \"shared\" or \"kernel\", got 'magic'")) << e;
  e = error_of("interface = 'eth0'\negress4 = '198.51.100.1'\ncolour = 'blue'");
  EXPECT_TRUE(has(e, "key 'colour': unknown key")) << e;
  EXPECT_EQ(error_of(kShared), "accepted");
}

TEST(EgressConfig, KernelModeErrors) {
  auto has = [](const std::string& error, const std::string& part) {
    return error.find(part) != std::string::npos;
  };
  std::string e = error_of("mode = 'kernel'\ninterface = 'eth0'");
  EXPECT_TRUE(has(e, "key 'routes': kernel mode needs the client prefixes")) << e;
  e = error_of("mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/33']");
  EXPECT_TRUE(has(e, "key 'routes': '10.80.0.0/33' is not an address with a prefix length")) << e;
  e = error_of("mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/24']\negress4 = '198.51.100.1'");
  EXPECT_TRUE(has(e, "key 'egress4': is only used with mode = \"shared\"")) << e;
  e = error_of("mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/24']\nport_range = '1-2'");
  EXPECT_TRUE(has(e, "key 'port_range': port_range moved to [[socket]] egress_ports")) << e;
  e = error_of("mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/24']\nmtu = 100");
  EXPECT_TRUE(has(e, "key 'mtu'")) << e;
  EXPECT_EQ(error_of("mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/24', 'fd80::/64']"), "accepted");
}

// With more than one worker, kernel mode's device is named (each worker opens a queue of it), and
// shared mode needs one range of ports for every socket with egress addresses: the workers'
// shares are cut from it.
TEST(EgressConfig, TwoWorkersNeedANamedDeviceOrOneRange) {
  auto error = [](const std::string& toml, const std::string& directory) -> std::string {
    RigOptions o;
    o.directory = directory;
    try {
      Rig::load_workers(2, WAYGATE_EGRESS_PLUGIN, toml, o);
      return "accepted";
    } catch (const waygate::ConfigError& e) {
      return e.what();
    }
  };
  auto socket = [](const std::string& name, const std::string& egress, const std::string& egress_ports) {
    return "[[socket]]\nname = '" + name + "'\ntype = 'exit_node'\negress = ['" + egress + "']\negress_ports = '" +
           egress_ports + "'\n";
  };
  const std::string one = socket("a", "198.51.100.1", "40000-40999") + socket("b", "198.51.100.2", "40000-40999");
  EXPECT_EQ(error("interface = 'eth0'", one), "accepted");
  const std::string two = socket("a", "198.51.100.1", "40000-40999") + socket("b", "198.51.100.2", "41000-41999");
  const std::string kernel = "mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/24']\n";
  std::string e = error(kernel, one);
  EXPECT_NE(e.find("key 'device': with [host] workers = 2 each worker opens a queue of one device: name it (no %d)"),
            std::string::npos)
      << e;
  EXPECT_EQ(error(kernel + "device = 'wk0'", two), "accepted") << "the kernel's NAT has no shares";
  e = error("interface = 'eth0'", two);
  EXPECT_NE(e.find("with [host] workers = 2 every socket's egress_ports must be one range, which the workers share: "
                   "'a' has 40000-40999, the NAT's ports span 40000-41999"),
            std::string::npos)
      << e;
}

// --- receive filters -----------------------------------------------------------------------------

TEST(EgressFilter, Ipv4TakesOnlyTheNatsPortsOnEgressAddresses) {
  for (std::size_t base : {0u, 14u}) {
    auto s = shared_settings();
    Filtered f(filter4(static_cast<std::uint32_t>(base), s.egress4, s.ports), base);
    EXPECT_TRUE(f.accepts(ipv4(6, kEgressA, 40000)));
    EXPECT_TRUE(f.accepts(ipv4(17, kEgressA, 40999)));
    EXPECT_TRUE(f.accepts(ipv4(17, kEgressB, 40500))) << "the second address";
    EXPECT_TRUE(f.accepts(ipv4(6, kEgressA, 40001, 8))) << "with IP options: ports found past them";
    EXPECT_FALSE(f.accepts(ipv4(6, kEgressA, 39999))) << "below the range: the kernel's";
    EXPECT_FALSE(f.accepts(ipv4(17, kEgressA, 41000))) << "above the range: the kernel's";
    EXPECT_FALSE(f.accepts(ipv4(6, kOther4, 40000))) << "another address";
    EXPECT_FALSE(f.accepts(ipv4(47, kEgressA, 40000))) << "GRE";
    Bytes fragment = ipv4(17, kEgressA, 40000);
    fragment[7] = 0x10;  // offset 16: no ports in it
    EXPECT_FALSE(f.accepts(fragment));
    fragment[6] = 0x20, fragment[7] = 0;  // more fragments, offset 0: the first has the ports
    EXPECT_TRUE(f.accepts(fragment));

    EXPECT_TRUE(f.accepts(icmp4(kEgressA, 0, 40123))) << "echo reply to a NAT identifier";
    EXPECT_FALSE(f.accepts(icmp4(kEgressA, 0, 1234))) << "echo reply to the kernel's own ping";
    EXPECT_FALSE(f.accepts(icmp4(kEgressA, 8, 40123))) << "echo requests are the kernel's to answer";
    EXPECT_TRUE(f.accepts(icmp4(kEgressA, 3, 0))) << "destination unreachable";
    EXPECT_TRUE(f.accepts(icmp4(kEgressB, 11, 0))) << "time exceeded";
    EXPECT_TRUE(f.accepts(icmp4(kEgressA, 12, 0))) << "parameter problem";
    EXPECT_FALSE(f.accepts(icmp4(kOther4, 3, 0)));

    EXPECT_FALSE(f.accepts(ipv6(6, kEgress6, 40000))) << "IPv6 on the IPv4 socket";
  }
}

TEST(EgressFilter, Ipv6TakesOnlyTheNatsPortsOnEgressAddresses) {
  for (std::size_t base : {0u, 14u}) {
    auto s = shared_settings();
    Address6 second{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    s.egress6.push_back(second);
    Filtered f(filter6(static_cast<std::uint32_t>(base), s.egress6, s.ports), base);
    EXPECT_TRUE(f.accepts(ipv6(6, kEgress6, 40000)));
    EXPECT_TRUE(f.accepts(ipv6(17, kEgress6, 40999)));
    EXPECT_TRUE(f.accepts(ipv6(17, Bytes(second.begin(), second.end()), 40001))) << "the second address";
    EXPECT_FALSE(f.accepts(ipv6(6, kEgress6, 39999)));
    EXPECT_FALSE(f.accepts(ipv6(17, kEgress6, 41000)));
    EXPECT_FALSE(f.accepts(ipv6(6, kOther6, 40000))) << "differs in the last word only";
    Bytes first_word = kEgress6;
    first_word[0] = 0x30;
    EXPECT_FALSE(f.accepts(ipv6(6, first_word, 40000))) << "differs in the first word only";
    EXPECT_FALSE(f.accepts(ipv6(0, kEgress6, 40000))) << "extension headers are left to the kernel";

    EXPECT_TRUE(f.accepts(icmp6(kEgress6, 129, 40500))) << "echo reply to a NAT identifier";
    EXPECT_FALSE(f.accepts(icmp6(kEgress6, 129, 7)));
    EXPECT_FALSE(f.accepts(icmp6(kEgress6, 128, 40500))) << "echo request";
    for (std::uint8_t type : {1, 2, 3, 4}) EXPECT_TRUE(f.accepts(icmp6(kEgress6, type, 0))) << int{type};
    EXPECT_FALSE(f.accepts(icmp6(kEgress6, 0, 0)));
    EXPECT_FALSE(f.accepts(icmp6(kEgress6, 135, 0))) << "neighbour solicitation";
    EXPECT_FALSE(f.accepts(icmp6(kEgress6, 136, 0))) << "neighbour advertisement";
    EXPECT_FALSE(f.accepts(icmp6(kOther6, 1, 0)));

    EXPECT_FALSE(f.accepts(ipv4(6, kEgressA, 40000))) << "IPv4 on the IPv6 socket";
  }
}

// With two or three workers, the steering programs (run here by libpcap's interpreter) pick the
// worker whose share of the NAT's ports holds a packet's destination port or echo identifier, IP
// options or not; errors and ports outside the range go to the first worker.
TEST(EgressSteer, EachPortGoesToTheWorkerWhoseShareHoldsIt) {
  static_assert(sizeof(sock_filter) == sizeof(bpf_insn));
  auto run = [](const std::vector<sock_filter>& program, const Bytes& p) {
    return bpf_filter(reinterpret_cast<const bpf_insn*>(program.data()), p.data(), static_cast<unsigned>(p.size()),
                      static_cast<unsigned>(p.size()));
  };
  const PortRange ports{40000, 40999};
  for (unsigned workers : {2u, 3u}) {
    const auto v4 = steer4(0, ports, workers), v6 = steer6(0, ports, workers);
    for (std::uint16_t port : {40000, 40332, 40333, 40334, 40499, 40500, 40666, 40667, 40999}) {
      const unsigned want = ports.share_of(port, workers);
      EXPECT_EQ(run(v4, ipv4(6, kEgressA, port)), want) << port << " of " << workers;
      EXPECT_EQ(run(v4, ipv4(17, kEgressA, port, 8)), want) << "with options";
      EXPECT_EQ(run(v4, icmp4(kEgressA, 0, port)), want) << "echo reply";
      EXPECT_EQ(run(v6, ipv6(17, kEgress6, port)), want);
      EXPECT_EQ(run(v6, ipv6(6, kEgress6, port)), want);
      EXPECT_EQ(run(v6, icmp6(kEgress6, 129, port)), want);
    }
    EXPECT_EQ(run(v4, ipv4(6, kEgressA, 41000)), 0u) << "outside the range";
    EXPECT_EQ(run(v4, icmp4(kEgressA, 3, 40999)), 0u) << "an error: the first worker's NAT hands it on";
    EXPECT_EQ(run(v6, icmp6(kEgress6, 1, 40999)), 0u);
    EXPECT_EQ(run(v6, ipv6(0, kEgress6, 40999)), 0u) << "an extension header";
  }
}

TEST(EgressFilter, SixteenAddressesStayWithinJumpReach) {
  auto s = shared_settings();
  s.egress4.clear();
  s.egress6.clear();
  for (std::uint8_t i = 0; i < kMaxAddresses; ++i) {
    s.egress4.push_back(Address4{10, 0, 0, i});
    s.egress6.push_back(Address6{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i});
  }
  Filtered f4(filter4(14, s.egress4, s.ports), 14);
  EXPECT_TRUE(f4.accepts(ipv4(6, {10, 0, 0, 15}, 40000)));
  EXPECT_FALSE(f4.accepts(ipv4(6, {10, 0, 0, 16}, 40000)));
  Filtered f6(filter6(14, s.egress6, s.ports), 14);
  Bytes last(s.egress6.back().begin(), s.egress6.back().end());
  EXPECT_TRUE(f6.accepts(ipv6(17, last, 40000)));
  last[15] = 16;
  EXPECT_FALSE(f6.accepts(ipv6(17, last, 40000)));
}

// --- nftables ------------------------------------------------------------------------------------

TEST(EgressNft, SharedScriptIsGolden) {
  EXPECT_EQ(table_name("out-side"), "waygate_out_side");
  EXPECT_EQ(shared_script("waygate_egress", shared_settings()),
            "table inet waygate_egress\n"
            "delete table inet waygate_egress\n"
            "table inet waygate_egress {\n"
            "\tchain prerouting {\n"
            "\t\ttype filter hook prerouting priority raw; policy accept;\n"
            "\t\tip daddr { 198.51.100.1, 198.51.100.7 } meta l4proto { tcp, udp } th dport 40000-40999 notrack\n"
            "\t\tip6 daddr { 2001:db8::1 } meta l4proto { tcp, udp } th dport 40000-40999 notrack\n"
            "\t}\n"
            "\tchain input {\n"
            "\t\ttype filter hook input priority filter - 10; policy accept;\n"
            "\t\tip daddr { 198.51.100.1, 198.51.100.7 } meta l4proto { tcp, udp } th dport 40000-40999 drop\n"
            "\t\tip6 daddr { 2001:db8::1 } meta l4proto { tcp, udp } th dport 40000-40999 drop\n"
            "\t}\n"
            "\tchain output {\n"
            "\t\ttype filter hook output priority raw; policy accept;\n"
            "\t\tip saddr { 198.51.100.1, 198.51.100.7 } meta l4proto { tcp, udp } th sport 40000-40999 notrack\n"
            "\t\tip6 saddr { 2001:db8::1 } meta l4proto { tcp, udp } th sport 40000-40999 notrack\n"
            "\t}\n"
            "}\n");
  auto v6_only = shared_settings();
  v6_only.egress4.clear();
  EXPECT_EQ(shared_script("t", v6_only).find("ip daddr"), std::string::npos);
}

TEST(EgressNft, KernelScriptIsGolden) {
  Settings s;
  s.mode = Mode::kernel;
  s.interface = "eth0";
  EXPECT_EQ(kernel_script("waygate_egress", s, "waygate3"),
            "table inet waygate_egress\n"
            "delete table inet waygate_egress\n"
            "table inet waygate_egress {\n"
            "\tchain postrouting {\n"
            "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            "\t\tiifname \"waygate3\" oifname \"eth0\" masquerade\n"
            "\t}\n"
            "}\n");
  EXPECT_EQ(delete_script("waygate_egress"), "table inet waygate_egress\ndelete table inet waygate_egress\n");
}

// --- originals recorded in the table, for a start after a crash -------------------------------

TEST(EgressOriginals, RecordedInTheTableCommentAndReadBackFromItsListing) {
  Originals o{{"ports", range_record("32768\t60999")}, {"gro:eth0", "on"}};
  const std::string comment = originals_comment(o);
  EXPECT_EQ(comment, "waygate originals: gro:eth0=on ports=32768-60999");
  const std::string script = shared_script("waygate_egress", shared_settings(), comment);
  EXPECT_EQ(script.substr(0, script.find("\tchain")),
            "table inet waygate_egress\ndelete table inet waygate_egress\ntable inet waygate_egress {\n"
            "\tcomment \"waygate originals: gro:eth0=on ports=32768-60999\"\n");
  // As `nft list table` prints it back.
  const std::string listing = "table inet waygate_egress {\n\tcomment \"" + comment + "\"\n\tchain input {\n";
  EXPECT_EQ(parse_originals(listing), o);
  EXPECT_EQ(range_sysctl(parse_originals(listing).at("ports")), "32768 60999");
  PortRange r;
  EXPECT_TRUE(parse_kernel_range(range_sysctl("32768-60999"), r));
  EXPECT_EQ(r.first, 32768);
  EXPECT_EQ(r.last, 60999);
}

TEST(EgressOriginals, WhatCannotBeRecordedIsLeftOut) {
  EXPECT_EQ(originals_comment({}), "");
  EXPECT_EQ(originals_comment({{"gro:a\"b", "on"}, {"x", "a b"}, {"y", ""}}), "");
  Originals many;
  for (int i = 0; i < 20; ++i) many["ip_forward_" + std::to_string(i)] = "1";
  EXPECT_LE(originals_comment(many).size(), 127u);
  EXPECT_TRUE(parse_originals("table inet t {\n\tchain c {\n").empty());
  EXPECT_TRUE(parse_originals("\tcomment \"someone else's\"\n").empty());
  EXPECT_TRUE(parse_originals("\tcomment \"waygate originals: broken").empty());
  EXPECT_EQ(parse_originals("\tcomment \"waygate originals: a=1 =2 b= c=3\""), (Originals{{"a", "1"}, {"c", "3"}}));
}

// --- the kernel's ephemeral range ----------------------------------------------------------------

TEST(EgressPorts, KernelRangeMovesOffTheReservedOne) {
  auto range = [](std::uint16_t a, std::uint16_t b) { return PortRange{a, b}; };
  EXPECT_EQ(clear_of(range(32768, 60999), range(20000, 49999)), range(50000, 60999)) << "Linux's and the NAT's defaults";
  EXPECT_EQ(clear_of(range(32768, 60999), range(40000, 40999)), range(41000, 60999)) << "the larger piece";
  EXPECT_EQ(clear_of(range(32768, 60999), range(58000, 59999)), range(32768, 57999));
  EXPECT_EQ(clear_of(range(32768, 60999), range(30000, 30999)), std::nullopt) << "no overlap: left alone";
  EXPECT_EQ(clear_of(range(32768, 60999), range(30000, 65000)), range(65001, 65535)) << "inside: above it";
  EXPECT_EQ(clear_of(range(32768, 60999), range(20000, 65535)), range(1024, 19999)) << "inside, nothing above";
}

TEST(EgressPorts, ParsesTheKernelsFormat) {
  PortRange r;
  ASSERT_TRUE(parse_kernel_range("32768\t60999", r));
  EXPECT_EQ(r, (PortRange{32768, 60999}));
  EXPECT_FALSE(parse_kernel_range("junk", r));
}

// --- frames from the packet sockets --------------------------------------------------------------

struct EgressFrames : ::testing::Test {
  waygate::Pool pool{8, 2048, 128};
  waygate::Packet* frame(const VnetHeader& h, std::size_t link, const Bytes& ip, std::size_t padding = 0) {
    waygate::Packet* p = pool.alloc();
    Bytes bytes(kVnetHeader + link, 0xee);
    std::memcpy(bytes.data(), &h, sizeof h);
    bytes.insert(bytes.end(), ip.begin(), ip.end());
    bytes.insert(bytes.end(), padding, 0xab);
    p->resize(bytes.size());
    std::memcpy(p->data(), bytes.data(), bytes.size());
    return p;
  }
  Bytes bytes(waygate::Packet* p) { return Bytes(p->data(), p->data() + p->size()); }
};

// A UDP packet over IPv4 with its checksum right.
Bytes udp4() {
  Bytes p = ipv4(17, kEgressA, 40000);
  for (int i = 0; i < 6; ++i) p.push_back(static_cast<std::uint8_t>(0x41 + i));
  p[3] = static_cast<std::uint8_t>(p.size());
  p[24] = 0, p[25] = static_cast<std::uint8_t>(p.size() - 20);
  auto sum = waygate::net::pseudo_header_sum_v4(std::span<const std::uint8_t, 4>(p.data() + 12, 4),
                                                std::span<const std::uint8_t, 4>(p.data() + 16, 4), 17,
                                                static_cast<std::uint16_t>(p.size() - 20));
  std::uint16_t c = waygate::net::checksum({p.data() + 20, p.size() - 20}, sum);
  p[26] = static_cast<std::uint8_t>(c >> 8), p[27] = static_cast<std::uint8_t>(c);
  return p;
}

TEST_F(EgressFrames, HeadersAndPaddingAreStripped) {
  VnetHeader h{};
  Bytes ip = udp4();
  auto* p = frame(h, 14, ip, 12);
  EXPECT_EQ(unwrap(*p, 14), Unwrap::ok);
  EXPECT_EQ(bytes(p), ip);
  pool.free(p);
}

TEST_F(EgressFrames, PartialChecksumIsCompleted) {
  Bytes ip = udp4();
  // What a sender with checksum offload hands over: the pseudo-header sum, not complemented.
  Bytes partial = ip;
  auto pseudo = waygate::net::pseudo_header_sum_v4(std::span<const std::uint8_t, 4>(ip.data() + 12, 4),
                                                   std::span<const std::uint8_t, 4>(ip.data() + 16, 4), 17,
                                                   static_cast<std::uint16_t>(ip.size() - 20));
  partial[26] = static_cast<std::uint8_t>(pseudo >> 8), partial[27] = static_cast<std::uint8_t>(pseudo);
  ASSERT_NE(partial, ip);
  for (std::size_t link : {0u, 14u}) {
    VnetHeader h{};
    h.flags = kNeedsChecksum;
    h.csum_start = static_cast<std::uint16_t>(link + 20);  // from the link header, little-endian
    h.csum_offset = 6;
    auto* p = frame(h, link, partial);
    EXPECT_EQ(unwrap(*p, link), Unwrap::ok);
    EXPECT_EQ(bytes(p), ip) << "link " << link;
    pool.free(p);
  }
}

TEST_F(EgressFrames, MergedShortAndForeignFramesAreRefused) {
  VnetHeader h{};
  h.gso_type = 1;
  auto* p = frame(h, 14, udp4());
  EXPECT_EQ(unwrap(*p, 14), Unwrap::too_big);
  pool.free(p);
  p = frame(VnetHeader{}, 14, Bytes{0x12, 0x34});
  EXPECT_EQ(unwrap(*p, 14), Unwrap::malformed);
  pool.free(p);
  Bytes cut = udp4();
  cut.resize(30);  // shorter than its header says
  p = frame(VnetHeader{}, 0, cut);
  EXPECT_EQ(unwrap(*p, 0), Unwrap::malformed);
  pool.free(p);
  VnetHeader bad{};
  bad.flags = kNeedsChecksum;
  bad.csum_start = 200;
  p = frame(bad, 0, udp4());
  EXPECT_EQ(unwrap(*p, 0), Unwrap::malformed) << "checksum field out of the packet";
  pool.free(p);
}

// --- the send path before any socket -------------------------------------------------------------

TEST(EgressEdge, OnlyPacketsFromAnEgressAddressMayLeave) {
  auto rig = Rig::load(WAYGATE_EGRESS_PLUGIN, kShared, {.received = Direction::inbound});
  Bytes from_client = ipv4(6, {203, 0, 113, 9}, 80);
  std::copy(kOther4.begin(), kOther4.end(), from_client.begin() + 12);  // not translated
  rig->push(Direction::outbound, from_client);
  EXPECT_EQ(rig->drops("no_egress_address"), 1u);
  Bytes v6 = ipv6(6, kOther6, 80);  // source 2001:db8::99: not ours
  rig->push(Direction::outbound, v6);
  EXPECT_EQ(rig->drops("no_egress_address"), 2u);
  rig->push(Direction::outbound, Bytes{0x12, 0x34, 0x56});
  EXPECT_EQ(rig->drops("not_ip"), 1u);
  Bytes translated = ipv4(6, {203, 0, 113, 9}, 80);
  std::copy(kEgressA.begin(), kEgressA.end(), translated.begin() + 12);
  rig->push(Direction::outbound, translated);  // not started: no socket to send it by
  EXPECT_EQ(rig->drops("send_failed"), 1u);
  EXPECT_EQ(rig->pool().available(), rig->pool().capacity());
}

TEST(EgressEdge, KernelModeRefusesNonIp) {
  auto rig = Rig::load(WAYGATE_EGRESS_PLUGIN, "mode = 'kernel'\ninterface = 'eth0'\nroutes = ['10.80.0.0/24']",
                       {.received = Direction::inbound});
  rig->push(Direction::outbound, Bytes{0x12, 0x34, 0x56});
  EXPECT_EQ(rig->drops("not_ip"), 1u);
}

// --- start and stop, as root, in a namespace of the test's own ----------------------------------

class Namespace {
 public:
  Namespace() : name_("egress-test-" + std::to_string(::getpid())) {
    ok_ = std::system(("ip netns add " + name_ + " && ip -n " + name_ + " link add eth0 type veth peer name eth1 && ip -n " +
                       name_ + " link set eth0 up && ip -n " + name_ + " addr add 198.51.100.1/24 dev eth0")
                          .c_str()) == 0;
  }
  ~Namespace() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string run(const std::string& command) const {
    std::string out;
    FILE* f = ::popen(("ip netns exec " + name_ + " " + command + " 2>&1").c_str(), "r");
    char buf[512];
    while (f && std::fgets(buf, sizeof buf, f)) out += buf;
    if (f) ::pclose(f);
    return out;
  }

 private:
  std::string name_;
  bool ok_ = false;
};

TEST(EgressEdge, StartInstallsAndStopRemovesEverything) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Namespace ns;
  if (!ns.ok()) GTEST_SKIP() << "cannot make a namespace here";
  const std::string before = ns.run("cat /proc/sys/net/ipv4/ip_local_port_range");
  const std::string toml = "interface = 'eth0'\nnetns = '" + ns.name() + "'\n";
  auto directory = [](const std::string& egress, const std::string& ports) {
    return "[[socket]]\nname = 'exit'\ntype = 'exit_node'\negress = ['" + egress + "']\negress_ports = '" + ports + "'\n";
  };
  auto rig = Rig::load(WAYGATE_EGRESS_PLUGIN, toml,
                       {.name = "edge", .received = Direction::inbound,
                        .directory = directory("198.51.100.1", "40000-40999")});
  rig->start();
  EXPECT_NE(ns.run("nft list table inet waygate_edge").find("th dport 40000-40999 drop"), std::string::npos);
  EXPECT_EQ(ns.run("cat /proc/sys/net/ipv4/ip_local_port_range"), "41000\t60999\n") << "was " << before;

  try {
    rig->reconfigure(toml, directory("198.51.100.1", "40000-41999"));
    ADD_FAILURE() << "changed the NAT's ports of a running edge";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("the NAT's ports ([[socket]] egress_ports) would go from 40000-40999 to "
                                         "40000-41999: changing them on a running egress edge needs a restart"),
              std::string::npos)
        << e.what();
  }
  try {
    rig->reconfigure("interface = 'eth1'\nnetns = '" + ns.name() + "'\n");
    ADD_FAILURE() << "changed the interface of a running edge";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'interface': changing it on a running egress edge needs a restart"),
              std::string::npos)
        << e.what();
  }
  // Another address is taken in place: the table follows.
  rig->reconfigure(toml, directory("198.51.100.9", "40000-40999"));
  EXPECT_NE(ns.run("nft list table inet waygate_edge").find("198.51.100.9"), std::string::npos);

  rig->stop();
  EXPECT_EQ(ns.run("nft list tables"), "");
  EXPECT_EQ(ns.run("cat /proc/sys/net/ipv4/ip_local_port_range"), before);
}

}  // namespace

// What the NAT's ports hide on an egress address: listening TCP and bound UDP sockets on a port
// of the range, on that address or every address; not another address's, not outside the range,
// not a TCP connection's. The text is /proc/net's, as the kernel prints it on a little-endian host.
TEST(EgressListeners, TheNatsPortsHideWhatListensOnAnEgressAddress) {
  Settings s;
  s.egress4 = {{198, 51, 100, 1}};
  s.egress6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  s.ports = {40000, 59999};
  const std::string heading = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
  const std::string udp = heading +
                          "  1: 00000000:CA6C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1\n"  // *:51820
                          "  2: 016433C6:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2\n"  // egress:50000
                          "  3: 026433C6:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3\n"  // .2: another
                          "  4: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4\n";  // *:53
  EXPECT_EQ(listeners_in_nat_ports(s, "udp", udp),
            (std::vector<std::string>{"UDP 0.0.0.0:51820", "UDP 198.51.100.1:50000"}));
  const std::string tcp = heading +
                          "  1: 00000000:9C40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5\n"   // listening
                          "  2: 016433C6:9C41 0A00000A:0016 01 00000000:00000000 00:00000000 00000000     0        0 6\n";  // established
  EXPECT_EQ(listeners_in_nat_ports(s, "tcp", tcp), (std::vector<std::string>{"TCP 0.0.0.0:40000"}));
  const std::string udp6 = heading +
                           "  1: B80D0120000000000000000001000000:CA6C 00000000000000000000000000000000:0000 07 0 0 0 0 0 7\n"
                           "  2: 00000000000000000000000000000000:9C40 00000000000000000000000000000000:0000 07 0 0 0 0 0 8\n";
  EXPECT_EQ(listeners_in_nat_ports(s, "udp6", udp6),
            (std::vector<std::string>{"UDP [2001:db8::1]:51820", "UDP [::]:40000"}));
}

// And from the kernel itself: a UDP socket bound on a port of the range, on every address.
TEST(EgressListeners, ASocketBoundInTheRangeIsFound) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  socklen_t len = sizeof at;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len), 0);
  const std::uint16_t port = ntohs(at.sin_port);
  Settings s;
  s.egress4 = {{198, 51, 100, 1}};
  s.ports = {port, port};
  const std::string ours = "UDP 0.0.0.0:" + std::to_string(port);
  auto has_ours = [&] {
    const auto found = listeners_in_nat_ports(s);
    return std::find(found.begin(), found.end(), ours) != found.end();
  };
  EXPECT_TRUE(has_ours());
  s.ports = {static_cast<std::uint16_t>(port - 1), static_cast<std::uint16_t>(port - 1)};  // ephemeral: > 1
  EXPECT_FALSE(has_ours());
  ::close(fd);
}
