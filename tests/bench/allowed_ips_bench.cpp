// Cryptokey routing at the scale of a busy exit node: 10,000 peers, each with a /32 inside
// 10.64.0.0/16 and a /128 inside fd00:6c:7761::/48, and one more peer holding the default routes
// 0.0.0.0/0 and ::/0. Lookups go to random addresses, half of them a peer's address (a hit on a
// host route), half not (a miss that falls back to the default route); insert builds the whole
// table; memory is what the table holds afterwards. Beside it, the SDK's PrefixMap over the same
// prefixes (BM_PrefixMap*): a table built once and searched, where AllowedIps is changed in place.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "allowed_ips.hpp"
#include "waygate/net/prefix_map.hpp"

namespace {

using waygate::wg::AllowedIps;
using waygate::wg::kNoPeer;
using waygate::wg::Prefix;

constexpr std::uint32_t kPeers = 10000;
constexpr std::uint32_t kExitPeer = kPeers;

struct Population {
  std::vector<Prefix> v4;   // v4[i] belongs to peer i
  std::vector<Prefix> v6;   // v6[i] belongs to peer i
  std::vector<std::array<std::uint8_t, 4>> probes4;
  std::vector<std::array<std::uint8_t, 16>> probes6;
};

Prefix host4(std::uint16_t low) {
  Prefix p;
  p.address = {10, 64, static_cast<std::uint8_t>(low >> 8), static_cast<std::uint8_t>(low)};
  p.bits = 32;
  return p;
}

const Population& population() {
  static const Population population = [] {
    Population pop;
    std::mt19937_64 random(20240611);
    std::set<std::uint16_t> used4;
    while (used4.size() < kPeers) used4.insert(static_cast<std::uint16_t>(random()));
    for (std::uint16_t low : used4) pop.v4.push_back(host4(low));
    std::shuffle(pop.v4.begin(), pop.v4.end(), random);
    for (std::uint32_t i = 0; i < kPeers; ++i) {
      Prefix p;
      p.v6 = true;
      p.bits = 128;
      const std::array<std::uint8_t, 6> net = {0xfd, 0x00, 0x00, 0x6c, 0x77, 0x61};
      for (int b = 0; b < 6; ++b) p.address[b] = net[b];
      for (int b = 6; b < 16; ++b) p.address[b] = static_cast<std::uint8_t>(random());
      pop.v6.push_back(p);
    }
    // Probes: half a peer's own address, half another address of the same /16 or /48.
    constexpr std::size_t kProbes = 1 << 16;
    for (std::size_t i = 0; i < kProbes; ++i) {
      const bool hit = random() % 2 == 0;
      const std::size_t peer = random() % kPeers;
      std::array<std::uint8_t, 4> a4;
      std::array<std::uint8_t, 16> a6;
      std::copy_n(pop.v4[peer].address.begin(), 4, a4.begin());
      std::copy_n(pop.v6[peer].address.begin(), 16, a6.begin());
      if (!hit) {
        std::uint16_t low;
        do low = static_cast<std::uint16_t>(random());
        while (used4.count(low) != 0);
        a4[2] = static_cast<std::uint8_t>(low >> 8);
        a4[3] = static_cast<std::uint8_t>(low);
        a6[15] ^= 0x5a;  // 2^-80 odds of landing on another peer
      }
      pop.probes4.push_back(a4);
      pop.probes6.push_back(a6);
    }
    return pop;
  }();
  return population;
}

void fill(AllowedIps& table, const Population& pop) {
  for (std::uint32_t i = 0; i < kPeers; ++i) {
    table.insert(pop.v4[i], i);
    table.insert(pop.v6[i], i);
  }
  Prefix any4;
  table.insert(any4, kExitPeer);  // 0.0.0.0/0
  Prefix any6;
  any6.v6 = true;
  table.insert(any6, kExitPeer);  // ::/0
}

const AllowedIps& table() {
  static const AllowedIps table = [] {
    AllowedIps t;
    fill(t, population());
    return t;
  }();
  return table;
}

template <std::size_t N>
void lookups(benchmark::State& state, const std::vector<std::array<std::uint8_t, N>>& probes) {
  const AllowedIps& t = table();
  std::size_t i = 0;
  std::uint64_t defaults = 0;
  for (auto _ : state) {
    const std::uint32_t peer = t.lookup(probes[i]);
    benchmark::DoNotOptimize(peer);
    defaults += peer == kExitPeer;
    i = (i + 1) & (probes.size() - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["lookups/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["default_share"] =
      static_cast<double>(defaults) / static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
  state.counters["table_bytes"] = static_cast<double>(t.memory_bytes());
}

void BM_LookupV4(benchmark::State& state) { lookups(state, population().probes4); }
void BM_LookupV6(benchmark::State& state) { lookups(state, population().probes6); }

void BM_LookupMixed(benchmark::State& state) {
  const AllowedIps& t = table();
  const Population& pop = population();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.lookup(pop.probes4[i]));
    benchmark::DoNotOptimize(t.lookup(pop.probes6[i]));
    i = (i + 1) & (pop.probes4.size() - 1);
  }
  state.SetItemsProcessed(2 * static_cast<std::int64_t>(state.iterations()));
  state.counters["lookups/s"] =
      benchmark::Counter(2 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Building the table for all 10,000 peers (20,002 prefixes), from empty.
void BM_Insert10kPeers(benchmark::State& state) {
  const Population& pop = population();
  std::size_t bytes = 0;
  for (auto _ : state) {
    AllowedIps t;
    fill(t, pop);
    bytes = t.memory_bytes();
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * (2 * kPeers + 2));
  state.counters["table_bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_prefix"] = static_cast<double>(bytes) / (2 * kPeers + 2);
}

// Removing every peer, one remove_peer call each (the table is rebuilt outside the timing).
void BM_RemoveAll10kPeers(benchmark::State& state) {
  const Population& pop = population();
  for (auto _ : state) {
    state.PauseTiming();
    AllowedIps t;
    fill(t, pop);
    state.ResumeTiming();
    for (std::uint32_t i = 0; i <= kPeers; ++i) t.remove_peer(i);
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * (kPeers + 1));
}

// The same prefixes in the SDK's PrefixMap, built at once.
waygate::net::PrefixMap<std::uint32_t> prefix_map(const Population& pop) {
  namespace net = waygate::net;
  std::vector<net::PrefixMap<std::uint32_t>::Entry> entries;
  entries.push_back({*net::Prefix::parse("0.0.0.0/0"), kExitPeer});
  entries.push_back({*net::Prefix::parse("::/0"), kExitPeer});
  for (std::uint32_t i = 0; i < kPeers; ++i) {
    entries.push_back({net::Prefix::of(net::Address::v4(std::span<const std::uint8_t, 4>(pop.v4[i].address.data(), 4)), 32), i});
    entries.push_back({net::Prefix::of(net::Address::v6(pop.v6[i].address), 128), i});
  }
  return waygate::net::PrefixMap<std::uint32_t>(std::move(entries));
}

template <std::size_t N>
void map_lookups(benchmark::State& state, const std::vector<std::array<std::uint8_t, N>>& probes) {
  static const auto map = prefix_map(population());
  std::size_t i = 0;
  std::uint64_t defaults = 0;
  for (auto _ : state) {
    const auto* e = N == 4 ? map.find4(probes[i].data()) : map.find6(probes[i].data());
    benchmark::DoNotOptimize(e);
    defaults += e->value == kExitPeer;
    i = (i + 1) & (probes.size() - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["default_share"] =
      static_cast<double>(defaults) / static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
  state.counters["ranges"] = static_cast<double>(map.ranges());
}
void BM_PrefixMapLookupV4(benchmark::State& state) { map_lookups(state, population().probes4); }
void BM_PrefixMapLookupV6(benchmark::State& state) { map_lookups(state, population().probes6); }
void BM_PrefixMapBuild10kPeers(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(prefix_map(population()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * (2 * kPeers + 2));
}

BENCHMARK(BM_LookupV4);
BENCHMARK(BM_LookupV6);
BENCHMARK(BM_LookupMixed);
BENCHMARK(BM_Insert10kPeers)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RemoveAll10kPeers)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrefixMapLookupV4);
BENCHMARK(BM_PrefixMapLookupV6);
BENCHMARK(BM_PrefixMapBuild10kPeers)->Unit(benchmark::kMillisecond);

}  // namespace
