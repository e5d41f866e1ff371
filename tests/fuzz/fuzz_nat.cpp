// fuzz-sources: plugins/nat/engine.cpp sdk/src/prohibited.cpp
// fuzz-flags: -Iplugins/nat
//
// Arbitrary bytes through the NAT engine (plugins/nat/engine.cpp), no host and no rig. The input is
// a sequence of records: [control byte][length byte][length bytes of packet]. The control byte
// picks the direction (bit 0), the identity (bits 1-2), the socket (bit 3: the default, or socket
// 5) and how far the clock moves first (bits 4-7, in steps of 20 s, so expiry runs too). The
// tables are tiny (64 ports, blocks of 8, 48 sessions) so exhaustion and a full table happen.
// After each packet: a translated packet must still parse, and every checksum that verified before
// (IPv4 header, L4, and for an ICMP error the quoted packet's) must verify after; an ICMP error the
// answer to a refused packet (the SDK's net::prohibit, from the engine's egress address) must verify
// from scratch. Anything else traps.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine.hpp"
#include "waygate/net/headers.hpp"
#include "waygate/net/prohibited.hpp"

namespace {

namespace net = waygate::net;
using waygate::nat::Engine;

struct Checks {
  bool parsed = false;
  bool ip = false;
  bool l4 = false;
  bool quoted_ip = false;
  bool quoted_l4 = false;
  bool udp_zero = false;
};

Checks check(std::span<const std::uint8_t> p) {
  Checks c;
  const auto r = net::parse_packet(p);
  if (!r) return c;
  c.parsed = true;
  c.ip = r.info.version == 4 && net::ipv4_header_checksum_ok(p);
  c.l4 = net::l4_checksum_ok(p, r.info);
  if (r.info.version == 4 && r.info.is_udp() && !r.info.is_fragment && r.info.l4_offset + 8 <= p.size())
    c.udp_zero = p[r.info.l4_offset + 6] == 0 && p[r.info.l4_offset + 7] == 0;
  if (r.info.is_icmp && !r.info.has_icmp_id && r.info.l4_offset + 8 < r.info.packet_end()) {
    const auto q = p.subspan(r.info.l4_offset + 8, r.info.packet_end() - r.info.l4_offset - 8);
    const auto e = net::parse_embedded(q);
    if (e) {
      c.quoted_ip = e.info.version == 4 && net::ipv4_header_checksum_ok(q);
      c.quoted_l4 = e.info.total_len_claimed <= q.size() && net::l4_checksum_ok(q, e.info);
    }
  }
  return c;
}

waygate::nat::LocalMetrics local_metrics;

waygate::nat::Metrics metrics() { return local_metrics.metrics(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Engine engine(metrics(), 0x5eed);
  waygate::nat::Settings s;
  s.block_size = 8;
  s.max_sessions = 48;
  s.filtering = (size & 1) ? waygate::nat::Filtering::endpoint_independent
                           : waygate::nat::Filtering::address_and_port_dependent;
  std::array<std::uint8_t, 4> e4a{198, 51, 100, 1}, e4b{198, 51, 100, 5};
  std::array<std::uint8_t, 16> e6{0x20, 0x01, 0x0d, 0xb8};
  e6[15] = 1;
  s.sockets.push_back({0, net::Address::v4(std::span<const std::uint8_t, 4>(e4a)),
                       net::Address::v6(std::span<const std::uint8_t, 16>(e6)), {20000, 20063}, "", {}});
  s.sockets.push_back({5, net::Address::v4(std::span<const std::uint8_t, 4>(e4b)), std::nullopt, {20000, 20063}, "", {}});
  // Half the inputs run as the first of two workers ([host] workers = 2), holding the first half
  // of each socket's ports: a packet for the other half is the other worker's.
  s.workers = (size & 2) ? 2 : 1;
  for (auto& so : s.sockets) {
    so.whole = so.ports;
    so.ports = so.whole.share(0, s.workers);
  }
  if (engine.configure(s)) __builtin_trap();

  std::chrono::nanoseconds now{0};
  std::vector<std::uint8_t> buf(2048);
  constexpr std::size_t kHead = 48;  // room for an ICMP error header in front
  std::size_t i = 0;
  while (i + 2 <= size) {
    const std::uint8_t ctl = data[i];
    const std::size_t len = std::min<std::size_t>(data[i + 1], size - i - 2);
    i += 2;
    now += std::chrono::seconds(20 * (ctl >> 4));
    engine.set_clock(now, std::chrono::system_clock::time_point{} + now);
    engine.sweep();
    std::memcpy(buf.data() + kHead, data + i, len);
    i += len;
    auto pkt = std::span<std::uint8_t>(buf.data() + kHead, len);
    waygate::Meta meta;
    meta.identity = (ctl >> 1) & 3;
    meta.peer = 7;
    meta.socket = (ctl & 8) ? 5 : waygate::kNoId;
    const auto dir = (ctl & 1) ? waygate::Direction::inbound : waygate::Direction::outbound;
    const Checks before = check(pkt);
    const auto r = engine.process(pkt, meta, dir);
    using waygate::nat::Verdict;
    if (r.verdict == Verdict::pass || r.verdict == Verdict::hairpin) {
      const Checks after = check(pkt);
      if (!after.parsed) __builtin_trap();
      if (before.ip && !after.ip) __builtin_trap();
      if (before.l4 && !after.l4) __builtin_trap();
      if (before.quoted_ip && !after.quoted_ip) __builtin_trap();
      if (before.quoted_l4 && !after.quoted_l4) __builtin_trap();
      if (before.udp_zero && !after.udp_zero) __builtin_trap();
    } else if (r.verdict == Verdict::elsewhere) {
      if (r.worker == 0 || r.worker >= s.workers) __builtin_trap();  // only another worker's share
    } else if (r.verdict == Verdict::prohibit) {
      waygate::Packet p(buf.data(), static_cast<std::uint32_t>(buf.size()), 0);
      p.reset(kHead);
      p.resize(len);
      const net::Address* from = engine.answer_from(meta, static_cast<std::uint8_t>(len ? pkt[0] >> 4 : 4));
      if (from != nullptr && net::prohibit(p, *from)) {
        const auto c = check(p.bytes());
        if (!c.parsed || !c.l4) __builtin_trap();
        if (p.data()[0] >> 4 == 4 && !c.ip) __builtin_trap();
      }
    }
  }
  // Let everything expire: the tables must empty cleanly.
  engine.set_clock(now + std::chrono::hours(3), std::chrono::system_clock::time_point{});
  for (int k = 0; k < 32; ++k) engine.sweep();
  if (engine.session_count() != 0 || engine.mapping_count() != 0) __builtin_trap();
  return 0;
}
