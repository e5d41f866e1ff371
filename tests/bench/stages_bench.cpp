// What the stats and shaper stages cost a packet, beside what forwarding one costs, in one run:
//   stages_bench --benchmark_counters_tabular=true
// - StatsStage: the stats plugin (the built .so, loaded by the rig) processing bursts of 256
//   packets spread over 4 sockets and 256 identities, called directly with a burst and an Output
//   as the pipeline calls it, so only the stage's own work is timed;
// - ShaperStage/0: the shaper with nothing set (what loading it costs); ShaperStage/1: every
//   identity with a limit of its own and a quota, every socket's rate shared fairly, all so
//   high that every packet passes every check (the whole path, nothing dropped);
// - PassStage: a stage that only passes its packets, through the same harness: what any stage
//   costs at all (the Output, the burst), to subtract;
// - NatEstablished: the NAT engine translating an established UDP flow of a hot set (1024 flows,
//   as nat_bench), one packet;
// - Seal1420: ChaCha20-Poly1305 sealing a 1420-byte packet in place (wg::Aead, as the tunnel);
// - CutTrain: a 64 KiB TCP train, as GRO merges a download's segments, cut back into its 45
//   segments of 1448 bytes with their checksums (net::cut, as the egress does); items are segments.
// Items are packets. The stage's share of forwarding is StatsStage / (NatEstablished + Seal1420),
// and forwarding also pays for the tunnel's receive and send, so the true share is smaller.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crypto.hpp"
#include "engine.hpp"
#include "waygate/net/gro.hpp"
#include "waygate/net/gso.hpp"
#include "waygate/testing/packets.hpp"
#include "waygate/pool.hpp"
#include "waygate/testing/rig.hpp"

namespace {

using waygate::Direction;
using waygate::testing::Rig;

constexpr std::uint32_t kSockets = 4, kIdentities = 256;

std::string directory() {
  std::string d;
  for (std::uint32_t s = 0; s < kSockets; ++s) d += "[[socket]]\nname = \"exit-" + std::to_string(s) + "\"\ntype = \"exit_node\"\n";
  // Identities need distinct public keys: 32 bytes whose first two encode the position.
  for (std::uint32_t i = 0; i < kIdentities; ++i) {
    std::array<std::uint8_t, 32> key{};
    key[0] = static_cast<std::uint8_t>(i), key[1] = static_cast<std::uint8_t>(i >> 8);
    static constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string text;
    for (std::size_t at = 0; at < 32; at += 3) {
      std::uint32_t v = key[at] << 16 | (at + 1 < 32 ? key[at + 1] << 8 : 0) | (at + 2 < 32 ? key[at + 2] : 0);
      text += b64[v >> 18 & 63], text += b64[v >> 12 & 63];
      text += at + 1 < 32 ? b64[v >> 6 & 63] : '=';
      text += at + 2 < 32 ? b64[v & 63] : '=';
    }
    d += "[[identity]]\nname = \"id-" + std::to_string(i) + "\"\npublic_key = \"" + text + "\"\n";
  }
  return d;
}

struct Discard final : waygate::BurstSink {
  void flush(waygate::Burst& b) override { b.clear(); }
  void dropped(const waygate::Packet&, waygate::Drop) override {}
};

// Bursts of 256 full-size packets through one stage, as the pipeline hands them over.
void run_stage(benchmark::State& state, Rig& rig) {
  waygate::Pool pool(waygate::kBurstMax, 2048, 128);
  std::vector<waygate::Packet*> packets;
  for (std::uint32_t i = 0; i < waygate::kBurstMax; ++i) {
    waygate::Packet* p = pool.alloc();
    p->resize(1420);
    std::memset(p->data(), 0x45, 1420);
    p->meta.socket = i % kSockets;
    p->meta.identity = (i * 7) % kIdentities;
    packets.push_back(p);
  }
  Discard sink;
  int turn = 0;
  for (auto _ : state) {
    const Direction d = (turn++ & 1) ? Direction::inbound : Direction::outbound;
    waygate::Burst burst(d);
    for (auto* p : packets) burst.push(p);
    waygate::Output out(d, pool, sink);
    rig.plugin().process(burst, out);
    benchmark::DoNotOptimize(out.passed().size());
    out.passed().clear();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * waygate::kBurstMax);
}

void StatsStage(benchmark::State& state) {
  waygate::testing::RigOptions o;
  o.directory = directory();
  auto rig = Rig::load(WAYGATE_STATS_PLUGIN, "", o);
  rig->start();
  run_stage(state, *rig);
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * waygate::kBurstMax,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(StatsStage);

void ShaperStage(benchmark::State& state) {
  waygate::testing::RigOptions o;
  o.directory = directory();
  std::string keys;
  if (state.range(0) == 1) {
    for (std::uint32_t s = 0; s < kSockets; ++s)
      keys += "[[limit]]\nsocket = \"exit-" + std::to_string(s) + "\"\nup = \"1000gbit\"\ndown = \"1000gbit\"\n";
    for (std::uint32_t i = 0; i < kIdentities; ++i) {
      keys += "[[limit]]\nidentity = \"id-" + std::to_string(i) + "\"\nup = \"1000gbit\"\ndown = \"1000gbit\"\n";
      keys += "[[quota]]\nidentity = \"id-" + std::to_string(i) + "\"\nbytes = \"1000000TB\"\n";
    }
  }
  auto rig = Rig::load(WAYGATE_SHAPER_PLUGIN, keys, o);
  rig->start();
  run_stage(state, *rig);
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * waygate::kBurstMax,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(ShaperStage)->Arg(0)->Arg(1);

class Pass final : public waygate::Plugin {
 public:
  explicit Pass(waygate::Context&) {}
  void configure(const waygate::Config&) override {}
  void process(waygate::Burst& b, waygate::Output& out) override {
    for (auto* p : b) out.pass(p);
  }
};

void PassStage(benchmark::State& state) {
  Rig rig([](waygate::Context& c) { return std::make_unique<Pass>(c); }, "");
  run_stage(state, rig);
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * waygate::kBurstMax,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(PassStage);

void udp(std::uint8_t* p, std::uint32_t src, std::uint16_t sport, std::uint32_t dst) {
  std::memset(p, 0, 40);
  p[0] = 0x45, p[3] = 40, p[8] = 64, p[9] = 17;
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = static_cast<std::uint8_t>(src >> (24 - 8 * i));
    p[16 + i] = static_cast<std::uint8_t>(dst >> (24 - 8 * i));
  }
  p[20] = static_cast<std::uint8_t>(sport >> 8), p[21] = static_cast<std::uint8_t>(sport);
  p[22] = 443 >> 8, p[23] = 443 & 0xff, p[25] = 20;
  waygate::net::ipv4_set_header_checksum(std::span<std::uint8_t>(p, 40));
}

void NatEstablished(benchmark::State& state) {
  waygate::nat::LocalMetrics local;
  waygate::nat::Engine e(local.metrics(), 42);
  waygate::nat::Settings s;
  s.sockets.push_back({0, waygate::net::Address::v4(0xC6336401u), std::nullopt, {}, "", {}});
  if (e.configure(s)) std::abort();
  e.set_clock(std::chrono::seconds(1), std::chrono::system_clock::now());
  constexpr std::uint32_t kFlows = 1024;
  std::vector<std::array<std::uint8_t, 40>> pristine(kFlows);
  for (std::uint32_t i = 0; i < kFlows; ++i) {
    udp(pristine[i].data(), 0x0A000002u + i / 64, static_cast<std::uint16_t>(30000 + i % 64), 0xCB007105u);
    auto p = pristine[i];
    waygate::Meta m;
    m.socket = 0;
    if (e.process(p, m, Direction::outbound).verdict != waygate::nat::Verdict::pass) std::abort();
  }
  // Each iteration translates a fresh copy (40 bytes) of an established flow's packet.
  std::array<std::uint8_t, 40> p;
  std::uint32_t i = 0;
  for (auto _ : state) {
    p = pristine[i];
    waygate::Meta m;
    m.socket = 0;
    auto r = e.process(p, m, Direction::outbound);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(p.data());
    i = (i + 1) % kFlows;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(NatEstablished);

void Seal1420(benchmark::State& state) {
  waygate::wg::Aead aead;
  waygate::wg::Key key;
  waygate::wg::random_bytes(key);
  std::vector<std::uint8_t> buffer(1420 + waygate::wg::kTagSize, 0x5a);
  std::uint64_t counter = 0;
  for (auto _ : state) {
    aead.seal(key, counter++, waygate::wg::Bytes(buffer).first(1420), {}, buffer.data());
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(Seal1420);

void CutTrain(benchmark::State& state) {
  constexpr std::size_t kHeaders = 40, kMss = 1448, kSegments = 45;
  std::vector<std::uint8_t> train(kHeaders + kMss * kSegments);
  for (std::size_t i = kHeaders; i < train.size(); ++i) train[i] = static_cast<std::uint8_t>(i * 131);
  std::uint8_t* b = train.data();
  b[0] = 0x45, b[2] = static_cast<std::uint8_t>(train.size() >> 8), b[3] = static_cast<std::uint8_t>(train.size());
  b[8] = 64, b[9] = 6, b[12] = 203, b[15] = 5, b[16] = 10, b[19] = 2;  // 203.0.0.5 -> 10.0.0.2
  b[20] = 443 >> 8, b[21] = 443 & 0xff, b[22] = 0xa0, b[23] = 0x01, b[32] = 0x50, b[33] = 0x10;  // ACK
  const waygate::net::VnetHeader h{waygate::net::kVnetNeedsCsum, waygate::net::kVnetGsoTcpV4, kHeaders, kMss, 20, 16};
  waygate::Pool pool(2 * kSegments, 2048, 64);
  std::vector<waygate::Packet*> out;
  out.reserve(kSegments);
  for (auto _ : state) {
    if (waygate::net::cut(h, train, pool, out) != waygate::net::Cut::ok) std::abort();
    benchmark::DoNotOptimize(out.data());
    for (waygate::Packet* p : out) pool.free(p);
    out.clear();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSegments));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kSegments * kMss));
}
BENCHMARK(CutTrain);


// The other way: 45 segments of one TCP flow (1448 bytes each, checksums valid) glued into one
// train for the egress edge's or the tun edge's device, as a burst's are: train_length() and glue().
void GlueTrain(benchmark::State& state) {
  constexpr std::size_t kMss = 1448, kSegments = 45;
  waygate::Pool pool(kSegments, 2048, 64);
  std::vector<waygate::Packet*> packets;
  for (std::size_t i = 0; i < kSegments; ++i) {
    std::string payload(kMss, '\0');
    for (std::size_t k = 0; k < kMss; ++k) payload[k] = static_cast<char>(i * 7 + k * 131);
    const auto bytes = waygate::testing::tcp("10.0.0.2", 40000, "203.0.0.5", 443, 0x10, payload,
                                             static_cast<std::uint32_t>(1000 + i * kMss));
    waygate::Packet* p = pool.alloc();
    p->resize(bytes.size());
    std::memcpy(p->data(), bytes.data(), bytes.size());
    packets.push_back(p);
  }
  std::vector<std::uint8_t> out(waygate::net::kVnetHeaderSize + waygate::net::kMaxGlued);
  for (auto _ : state) {
    const std::size_t n = waygate::net::train_length(packets);
    if (n != kSegments) std::abort();
    if (waygate::net::glue(std::span(packets).first(n), out.data()).segments != kSegments) std::abort();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSegments));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kSegments * kMss));
}
BENCHMARK(GlueTrain);

}  // namespace
