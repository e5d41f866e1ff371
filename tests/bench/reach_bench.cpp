// What the exit node's destination check costs a packet, in one run:
//   reach_bench --benchmark_counters_tabular=true
// - ReachLookup: the check alone, one destination looked up in an exit node's table as the policy
//   stage builds it (the internet from IANA's registries, the overlay pools, 8 addresses of the
//   connector, an allow and a deny: 68 rows, flattened into ranges), for random destinations,
//   three in four IPv4;
// - ReachWalk: the same rows walked one by one for the most specific match, as a list would be:
//   what a lookup per packet saves;
// - PolicyStage: the policy plugin (the built .so, loaded by the rig) processing bursts of 256
//   such packets (global destinations, so all pass), as the pipeline calls it: the stage's whole
//   cost, the check included.
// Items are packets (lookups).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "reach.hpp"
#include "waygate/config.hpp"
#include "waygate/net/special_purpose.hpp"
#include "waygate/testing/rig.hpp"

namespace {

using namespace waygate;

const char* kDirectory = R"(
[overlay]
pool4 = "10.64.0.0/24"
pool6 = "fd64::/64"
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
[[socket]]
name = "exit"
type = "exit_node"
dns = ["9.9.9.9"]
allow = ["10.20.0.0/16"]
deny = ["203.0.113.0/24"]
[[policy]]
name = "everyone"
organization_wide = true
permissions = ["network"]
)";

std::vector<net::Address> own_addresses() {
  std::vector<net::Address> own;
  for (const char* a : {"127.0.0.1", "10.0.0.5", "198.51.100.1", "10.64.0.1", "::1", "fe80::1", "2001:db8::1", "fd64::1"})
    own.push_back(*net::parse_address(a));
  return own;
}

// Random destinations, three in four IPv4, drawn from the whole space.
std::vector<net::Address> destinations(std::size_t n) {
  std::mt19937 rng(1);
  std::vector<net::Address> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::array<std::uint8_t, 16> b{};
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (i % 4 == 3) {
      b[0] = static_cast<std::uint8_t>(0x20 | (b[0] & 0x1f));  // mostly global unicast, as traffic is
      out.push_back(net::Address::v6(b));
    } else {
      out.push_back(net::Address::v4(std::span<const std::uint8_t, 4>(b.data(), 4)));
    }
  }
  return out;
}

void ReachLookup(benchmark::State& state) {
  auto d = Directory::load(Config::parse(kDirectory, "bench.toml"));
  policy::Reach reach;
  reach.build(*d, own_addresses());
  auto to = destinations(4096);
  std::size_t i = 0, reached = 0;
  for (auto _ : state) {
    reached += reach.reaches(0, to[i++ & 4095]);
    benchmark::DoNotOptimize(reached);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["reached_share"] = static_cast<double>(reached) / static_cast<double>(state.iterations());
}
BENCHMARK(ReachLookup);

void ReachWalk(benchmark::State& state) {
  auto d = Directory::load(Config::parse(kDirectory, "bench.toml"));
  policy::Reach reach;
  reach.build(*d, own_addresses());
  // The table's own rows, in the same precedence (later wins a tie), walked for every address.
  std::vector<std::pair<net::Prefix, bool>> rows;
  for (auto& e : net::internet_entries()) rows.emplace_back(e.prefix, e.value.reached);
  for (auto& pool : {*d->overlay.pool4, *d->overlay.pool6}) rows.emplace_back(pool, false);
  for (auto& a : own_addresses()) rows.emplace_back(net::Prefix::of(a, static_cast<std::uint8_t>(a.size() * 8)), false);
  rows.emplace_back(*net::Prefix::parse("9.9.9.9/32"), true);
  rows.emplace_back(*net::Prefix::parse("10.20.0.0/16"), true);
  rows.emplace_back(*net::Prefix::parse("203.0.113.0/24"), false);
  auto to = destinations(4096);
  std::size_t i = 0, reached = 0;
  for (auto _ : state) {
    const net::Address& a = to[i++ & 4095];
    int best = -1;
    bool verdict = false;
    for (auto& [p, r] : rows)
      if (p.bits >= best && p.contains(a)) best = p.bits, verdict = r;
    reached += verdict;
    benchmark::DoNotOptimize(reached);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["rows"] = static_cast<double>(rows.size());
}
BENCHMARK(ReachWalk);

struct Discard final : BurstSink {
  void flush(Burst& b) override { b.clear(); }
  void dropped(const Packet&, Drop) override {}
};

void PolicyStage(benchmark::State& state) {
  testing::RigOptions o;
  o.directory = kDirectory;
  auto rig = testing::Rig::load(WAYGATE_POLICY_PLUGIN, "", o);
  rig->start();
  Pool pool(kBurstMax, 2048, 128);
  // Only destinations it reaches: a dropped packet goes back to the pool, and the burst is pushed
  // again each turn.
  std::vector<net::Address> to;
  for (auto& a : destinations(4 * kBurstMax))
    if (to.size() < kBurstMax && net::is_global(a) && a.to_string() != "9.9.9.9") to.push_back(a);
  std::vector<Packet*> packets;
  for (std::uint32_t i = 0; i < kBurstMax; ++i) {
    Packet* p = pool.alloc();
    const bool v4 = to[i].is_v4();
    p->resize(v4 ? 60 : 80);
    std::memset(p->data(), 0, p->size());
    p->data()[0] = v4 ? 0x45 : 0x60;
    auto dst = to[i].bytes();
    std::memcpy(p->data() + (v4 ? 16 : 24), dst.data(), dst.size());
    p->meta.identity = 0;
    packets.push_back(p);
  }
  Discard sink;
  std::size_t passed = 0;
  for (auto _ : state) {
    Burst burst(Direction::outbound);
    for (auto* p : packets) burst.push(p);
    Output out(Direction::outbound, pool, sink);
    rig->plugin().process(burst, out);
    passed += out.passed().size();
    out.passed().clear();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurstMax);
  state.counters["passed_share"] =
      static_cast<double>(passed) / static_cast<double>(state.iterations() * kBurstMax);
}
BENCHMARK(PolicyStage);

}  // namespace
