// The NAT engine (plugins/nat/engine.cpp) alone, no host: lookups of established flows in a table
// of a million sessions, session creation (alone, and as a pair's active replicating it), and memory
// per session.
//   nat_bench --benchmark_counters_tabular=true
// Items are translated packets (two per iteration of the lookup benchmark: out and back).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <vector>

#include "engine.hpp"
#include "replication.hpp"

namespace {

namespace net = waygate::net;
using waygate::nat::Engine;

waygate::nat::LocalMetrics local_metrics;

waygate::nat::Metrics metrics() { return local_metrics.metrics(); }

constexpr std::uint32_t kSessions = 1000000;
constexpr std::uint32_t kSockets = 4;
constexpr std::uint32_t kRemotes = 16;  // sessions per mapping (endpoint-independent mapping)

std::unique_ptr<Engine> make_engine() {
  auto e = std::make_unique<Engine>(metrics(), 42);
  waygate::nat::Settings s;
  s.block_size = 512;
  s.max_sessions = kSessions + 1024;
  for (std::uint32_t i = 0; i < kSockets; ++i)
    s.sockets.push_back({i, net::Address::v4(0xC6336401u + i), std::nullopt, {1024, 65535}, "", {}});  // 198.51.100.1+i
  if (e->configure(s)) std::abort();
  e->set_clock(std::chrono::seconds(1), std::chrono::system_clock::now());
  return e;
}

// A 40-byte IPv4 UDP packet for session n (its checksum is not the engine's concern here).
struct Tuple {
  std::uint32_t inside, remote;
  std::uint16_t port;
  std::uint32_t socket;
};
Tuple tuple(std::uint32_t n) {
  const std::uint32_t mapping = n / kRemotes;
  return {0x0A000000u + mapping / 16, 0xCB007100u + n % kRemotes, static_cast<std::uint16_t>(40000 + mapping % 16),
          mapping % kSockets};
}
void udp(std::uint8_t* p, std::uint32_t src, std::uint16_t sport, std::uint32_t dst, std::uint16_t dport) {
  std::memset(p, 0, 40);
  p[0] = 0x45;
  p[3] = 40;
  p[8] = 64;
  p[9] = 17;
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = static_cast<std::uint8_t>(src >> (24 - 8 * i));
    p[16 + i] = static_cast<std::uint8_t>(dst >> (24 - 8 * i));
  }
  p[20] = static_cast<std::uint8_t>(sport >> 8), p[21] = static_cast<std::uint8_t>(sport);
  p[22] = static_cast<std::uint8_t>(dport >> 8), p[23] = static_cast<std::uint8_t>(dport);
  p[25] = 20;
  net::ipv4_set_header_checksum(std::span<std::uint8_t>(p, 40));
}

std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4096;
}

void fill(Engine& e) {
  std::array<std::uint8_t, 40> p;
  for (std::uint32_t n = 0; n < kSessions; ++n) {
    const Tuple t = tuple(n);
    udp(p.data(), t.inside, t.port, t.remote, 443);
    waygate::Meta m;
    m.socket = t.socket;
    m.identity = t.socket;
    if (e.process(p, m, waygate::Direction::outbound).verdict != waygate::nat::Verdict::pass) std::abort();
  }
}

void BM_EstablishedLookups(benchmark::State& state) {
  const std::size_t before = rss_bytes();
  auto e = make_engine();
  fill(*e);
  const std::size_t after = rss_bytes();
  // Random established flows: an outbound packet translated, then its answer translated back
  // (which restores the original bytes, so the buffers can be reused): two lookups each.
  const auto kPackets = static_cast<std::size_t>(state.range(0));  // distinct flows cycled through
  std::vector<std::array<std::uint8_t, 40>> packets(kPackets);
  std::vector<std::uint32_t> sockets(kPackets);
  std::mt19937 rng(7);
  for (std::size_t i = 0; i < kPackets; ++i) {
    const Tuple t = tuple(static_cast<std::uint32_t>(rng() % kSessions));
    udp(packets[i].data(), t.inside, t.port, t.remote, 443);
    sockets[i] = t.socket;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto& p = packets[i];
    waygate::Meta m;
    m.socket = sockets[i];
    auto r1 = e->process(p, m, waygate::Direction::outbound);
    // The answer: swap source and destination of the translated packet.
    std::array<std::uint8_t, 4> a;
    std::memcpy(a.data(), p.data() + 12, 4);
    std::memcpy(p.data() + 12, p.data() + 16, 4);
    std::memcpy(p.data() + 16, a.data(), 4);
    std::swap(p[20], p[22]);
    std::swap(p[21], p[23]);
    auto r2 = e->process(p, m, waygate::Direction::inbound);
    std::memcpy(a.data(), p.data() + 12, 4);
    std::memcpy(p.data() + 12, p.data() + 16, 4);
    std::memcpy(p.data() + 16, a.data(), 4);
    std::swap(p[20], p[22]);
    std::swap(p[21], p[23]);
    benchmark::DoNotOptimize(r1);
    benchmark::DoNotOptimize(r2);
    if (r1.verdict != waygate::nat::Verdict::pass || r2.verdict != waygate::nat::Verdict::pass) {
      state.SkipWithError("lookup failed");
      break;
    }
    i = (i + 1) % kPackets;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2);
  state.counters["sessions"] = static_cast<double>(e->session_count());
  state.counters["mappings"] = static_cast<double>(e->mapping_count());
  state.counters["table_bytes_per_session_slot"] = static_cast<double>(e->bytes_per_session());
  state.counters["rss_bytes_per_session"] = static_cast<double>(after - before) / kSessions;
}
// 65536 random flows of the million: every lookup misses the caches (the worst case); 1024 hot
// flows: the working set of a busy burst stays in cache.
BENCHMARK(BM_EstablishedLookups)->Unit(benchmark::kNanosecond)->Iterations(4000000)->Arg(65536)->Arg(1024);

// Session creation; with Arg(1), as a pair's active does it: each change recorded and, after each
// burst of 64 packets, drained and sealed into the replication link's datagrams (not sent). Its
// counters: the link's bytes per session made, and the CPU time 10,000 new sessions a second take
// each second.
void BM_SessionCreation(benchmark::State& state) {
  const bool replicated = state.range(0) == 1;
  const waygate::nat::ReplicationKey key{};
  auto e = make_engine();
  e->record_changes(replicated);
  std::uint32_t n = 0;
  std::array<std::uint8_t, 40> p;
  std::array<std::uint8_t, waygate::nat::kMaxDatagram> wire;
  std::vector<waygate::nat::SessionChange> records;
  records.reserve(waygate::nat::kRecordsPerDatagram);
  waygate::nat::Header header;
  std::uint64_t bytes = 0;
  auto send = [&] {
    header.sequence++;
    bytes += waygate::nat::seal(key, header, records, wire);
    records.clear();
  };
  for (auto _ : state) {
    if (n == kSessions) {
      state.PauseTiming();
      e = make_engine();
      e->record_changes(replicated);
      n = 0;
      state.ResumeTiming();
    }
    const Tuple t = tuple(n++);
    udp(p.data(), t.inside, t.port, t.remote, 443);
    waygate::Meta m;
    m.socket = t.socket;
    m.identity = t.socket;
    auto r = e->process(p, m, waygate::Direction::outbound);
    benchmark::DoNotOptimize(r);
    if (replicated && n % 64 == 0) {
      e->drain_changes([&](const waygate::nat::SessionChange& c) {
        records.push_back(c);
        if (records.size() == waygate::nat::kRecordsPerDatagram) send();
      });
      if (!records.empty()) send();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["link_bytes_per_session"] = benchmark::Counter(static_cast<double>(bytes) / static_cast<double>(state.iterations()));
  state.counters["cpu_per_s_at_10k_new"] =
      benchmark::Counter(static_cast<double>(state.iterations()) / 1e4, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SessionCreation)->Unit(benchmark::kNanosecond)->Iterations(1000000)->Arg(0)->Arg(1);

}  // namespace
