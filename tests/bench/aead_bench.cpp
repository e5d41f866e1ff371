// ChaCha20-Poly1305 through wg::Aead as the data path uses it, with each of its two libraries
// alone: OpenSSL 3 (contexts made once and re-keyed per packet) and libsodium (its detached IETF
// functions), sealing and opening messages from 64 bytes to 1420 (a full packet at WireGuard's
// default MTU) and 8192: where one overtakes the other is where Aead switches (kSodiumBelow).
// Each message takes a fresh 12-byte nonce (four zero bytes and a little-endian counter), as a
// tunnel does.
// CrewSeal seals bursts of 1420-byte packets as the wireguard edge does, over a crew of 1 or 2
// threads (wall-clock time: what a burst waits for).
//
// Built by CMake as aead_bench, or by hand from the top of the tree:
//   g++ -O2 -std=c++20 -Iplugins/wireguard -Isdk/include tests/bench/aead_bench.cpp
//       plugins/wireguard/crypto.cpp -lbenchmark -lbenchmark_main -lcrypto -lsodium -pthread
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "crypto.hpp"
#include "thread_crew.hpp"

namespace wg = waygate::wg;

namespace {

wg::Key bench_key() {
  wg::Key k;
  wg::random_bytes(k);
  return k;
}

// Seals state.range(0) bytes in place, like the tunnel, with an Aead whose boundary between the
// libraries is `sodium_below`.
void seal(benchmark::State& state, std::size_t sodium_below) {
  const auto size = static_cast<std::size_t>(state.range(0));
  wg::Aead aead(sodium_below);
  wg::Key key = bench_key();
  std::vector<std::uint8_t> buffer(size + wg::kTagSize, 0x5a);
  std::uint64_t counter = 0;
  for (auto _ : state) {
    aead.seal(key, counter++, wg::Bytes(buffer).first(size), {}, buffer.data());
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size));
}

void open(benchmark::State& state, std::size_t sodium_below) {
  const auto size = static_cast<std::size_t>(state.range(0));
  wg::Aead aead(sodium_below);
  wg::Key key = bench_key();
  std::vector<std::uint8_t> plain(size, 0x5a), sealed(size + wg::kTagSize), out(size);
  aead.seal(key, 0, plain, {}, sealed.data());
  for (auto _ : state) {
    bool ok = aead.open(key, 0, sealed, {}, out.data());
    if (!ok) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size));
}

void OpenSslSeal(benchmark::State& state) { seal(state, 0); }
void SodiumSeal(benchmark::State& state) { seal(state, SIZE_MAX); }
void OpenSslOpen(benchmark::State& state) { open(state, 0); }
void SodiumOpen(benchmark::State& state) { open(state, SIZE_MAX); }

// A burst of `burst` packets of 1420 bytes sealed in place, spread over `threads` (state.range(1)).
void CrewSeal(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  constexpr std::size_t kSize = 1420;
  waygate::ThreadCrew crew(threads - 1);
  crew.start();
  std::vector<wg::Aead> aeads(threads);
  wg::Key key = bench_key();
  std::vector<std::vector<std::uint8_t>> packets(burst, std::vector<std::uint8_t>(kSize + wg::kTagSize, 0x5a));
  std::uint64_t counter = 0;
  for (auto _ : state) {
    auto seal = [&](unsigned member, std::size_t i) {
      auto& p = packets[i];
      aeads[member].seal(key, counter + i, wg::Bytes(p).first(kSize), {}, p.data());
    };
    crew.for_each(burst, seal);
    counter += burst;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * burst * kSize));
}

}  // namespace

BENCHMARK(CrewSeal)->Args({64, 1})->Args({64, 2})->Args({256, 1})->Args({256, 2})->UseRealTime();
BENCHMARK(OpenSslSeal)->Arg(64)->Arg(256)->Arg(512)->Arg(1024)->Arg(1280)->Arg(1420)->Arg(8192);
BENCHMARK(SodiumSeal)->Arg(64)->Arg(256)->Arg(512)->Arg(1024)->Arg(1280)->Arg(1420)->Arg(8192);
BENCHMARK(OpenSslOpen)->Arg(64)->Arg(256)->Arg(512)->Arg(1024)->Arg(1280)->Arg(1420)->Arg(8192);
BENCHMARK(SodiumOpen)->Arg(64)->Arg(256)->Arg(512)->Arg(1024)->Arg(1280)->Arg(1420)->Arg(8192);
