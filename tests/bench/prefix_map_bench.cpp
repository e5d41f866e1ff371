// The SDK's PrefixMap at the scale of a busy exit node's cryptokey routing: 10,000 peers, each
// with a /32 inside 10.64.0.0/16 and a /128 inside fd00:6c:7761::/48, and one more peer holding
// the default routes 0.0.0.0/0 and ::/0, as the wireguard edge builds it. Lookups go to random
// addresses, half of them a peer's address (a host route), half not (a miss that falls back to
// the default route); build is the whole table from its 20,002 prefixes, what a reload that
// changes peers costs the worker.
//
// The wireguard plugin's own trie, which this table replaced, measured in the same run on this
// machine: lookups 17.2 ns (IPv4) and 27.6 ns (IPv6), built in place in 2.1 ms; the PrefixMap
// 19.2 and 28.6 ns, built in 11.8 ms. The exit node's destination check, a table of 68 nested
// prefixes, is where the difference goes the other way: 6 ns with the PrefixMap, 20 with the trie.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "waygate/net/prefix_map.hpp"

namespace {

namespace net = waygate::net;
using Map = net::PrefixMap<std::uint32_t>;

constexpr std::uint32_t kPeers = 10000;
constexpr std::uint32_t kExitPeer = kPeers;

struct Population {
  std::vector<Map::Entry> entries;
  std::vector<std::array<std::uint8_t, 4>> probes4;
  std::vector<std::array<std::uint8_t, 16>> probes6;
};

const Population& population() {
  static const Population population = [] {
    Population pop;
    std::mt19937_64 random(20240611);
    std::set<std::uint16_t> used4;
    while (used4.size() < kPeers) used4.insert(static_cast<std::uint16_t>(random()));
    std::vector<std::array<std::uint8_t, 4>> v4;
    for (std::uint16_t low : used4) v4.push_back({10, 64, static_cast<std::uint8_t>(low >> 8), static_cast<std::uint8_t>(low)});
    std::shuffle(v4.begin(), v4.end(), random);
    std::vector<std::array<std::uint8_t, 16>> v6(kPeers);
    for (auto& a : v6) {
      a = {0xfd, 0x00, 0x00, 0x6c, 0x77, 0x61};
      for (int b = 6; b < 16; ++b) a[b] = static_cast<std::uint8_t>(random());
    }
    pop.entries.push_back({*net::Prefix::parse("0.0.0.0/0"), kExitPeer});
    pop.entries.push_back({*net::Prefix::parse("::/0"), kExitPeer});
    for (std::uint32_t i = 0; i < kPeers; ++i) {
      pop.entries.push_back({net::Prefix::of(net::Address::v4(v4[i]), 32), i});
      pop.entries.push_back({net::Prefix::of(net::Address::v6(v6[i]), 128), i});
    }
    // Probes: half a peer's own address, half another address of the same /16 or /48.
    constexpr std::size_t kProbes = 1 << 16;
    for (std::size_t i = 0; i < kProbes; ++i) {
      const bool hit = random() % 2 == 0;
      const std::size_t peer = random() % kPeers;
      std::array<std::uint8_t, 4> a4 = v4[peer];
      std::array<std::uint8_t, 16> a6 = v6[peer];
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

const Map& map() {
  static const Map m(population().entries);
  return m;
}

template <std::size_t N>
void lookups(benchmark::State& state, const std::vector<std::array<std::uint8_t, N>>& probes) {
  const Map& m = map();
  std::size_t i = 0;
  std::uint64_t defaults = 0;
  for (auto _ : state) {
    const auto* e = N == 4 ? m.find4(probes[i].data()) : m.find6(probes[i].data());
    benchmark::DoNotOptimize(e);
    defaults += e->value == kExitPeer;
    i = (i + 1) & (probes.size() - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["default_share"] =
      static_cast<double>(defaults) / static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
  state.counters["ranges"] = static_cast<double>(m.ranges());
}

void BM_LookupV4(benchmark::State& state) { lookups(state, population().probes4); }
void BM_LookupV6(benchmark::State& state) { lookups(state, population().probes6); }

void BM_Build10kPeers(benchmark::State& state) {
  const Population& pop = population();
  for (auto _ : state) benchmark::DoNotOptimize(Map(pop.entries));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * (2 * kPeers + 2));
}

BENCHMARK(BM_LookupV4);
BENCHMARK(BM_LookupV6);
BENCHMARK(BM_Build10kPeers)->Unit(benchmark::kMillisecond);

}  // namespace
