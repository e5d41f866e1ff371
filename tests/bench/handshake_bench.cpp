// Handshakes the connector completes per second and core: the responder's whole share of the
// work per initiation — parse, MAC1 check, consume (decrypt the initiator's static key and
// timestamp: two DH), respond (a new ephemeral, two DH, the keys), write and MAC the response.
// The initiations are made beforehand by as many initiators, outside the timing.
//   handshake_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <array>
#include <stdexcept>
#include <vector>

#include "messages.hpp"
#include "noise.hpp"

namespace {

using namespace waygate::wg;

constexpr std::size_t kBatch = 512;

struct Peers {
  Identity responder = Identity::from_private(generate_private_key());
  std::vector<Identity> initiators;
  std::vector<PeerKeys> towards_responder, towards_initiator;
  std::vector<std::array<std::uint8_t, kInitiationSize>> initiations;
  Peers() {
    for (std::size_t i = 0; i < kBatch; ++i) {
      initiators.push_back(Identity::from_private(generate_private_key()));
      towards_responder.push_back(PeerKeys::derive(responder.public_key, Key{}));
      towards_initiator.push_back(PeerKeys::derive(initiators.back().public_key, Key{}));
      Initiator initiator;
      Initiation m;
      if (!initiator.create(initiators.back(), towards_responder.back(), static_cast<std::uint32_t>(i),
                            tai64n(1'700'000'000'000'000'000ULL + i), m))
        throw std::logic_error("a fresh key cannot be of low order");
      initiations.emplace_back();
      write(m, initiations.back());
      add_macs(initiations.back(), towards_responder.back().mac1_key, std::nullopt);
    }
  }
};

void ResponderHandshake(benchmark::State& state) {
  static Peers peers;
  std::size_t n = 0;
  std::array<std::uint8_t, kResponseSize> out{};
  for (auto _ : state) {
    const std::size_t i = n++ % kBatch;
    Initiation parsed;
    Responder responder;
    if (!parse(peers.initiations[i], parsed) || !mac1_valid(peers.initiations[i], peers.responder.mac1_key) ||
        !responder.consume(peers.responder, parsed)) {
      state.SkipWithError("an initiation did not verify");
      break;
    }
    Response response;
    Keypair keys = responder.respond(peers.responder, peers.towards_initiator[i], static_cast<std::uint32_t>(n), response);
    write(response, out);
    add_macs(out, peers.towards_initiator[i].mac1_key, std::nullopt);
    benchmark::DoNotOptimize(keys.send);
  }
  state.counters["handshakes_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(ResponderHandshake)->Unit(benchmark::kMicrosecond);

}  // namespace
