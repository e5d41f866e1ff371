// fuzz-sources: plugins/nat/engine.cpp plugins/nat/replication.cpp
// fuzz-flags: -Iplugins/nat -lsodium
//
// What a connector pair's standby takes off its replication link (plugins/nat/replication.cpp),
// as a peer holding the key could send it: the input, cut into datagrams ([length byte][bytes]),
// each sealed as it stands with the pair's key, so that open() reads arbitrary plaintext; what
// opens goes through the standby's sequence (Replica) and into a small engine (adopt, forget,
// snapshots), which must never take a session it cannot hold: its count stays within its table.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "replication.hpp"

using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
  waygate::nat::ReplicationKey key;
  key.fill(9);
  waygate::nat::LocalMetrics local;
  waygate::nat::Engine engine(local.metrics(), 1);
  waygate::nat::Settings settings;
  settings.block_size = 8;
  settings.max_sessions = 48;
  settings.sockets.push_back({0, waygate::net::Address::v4(0xc6336401), std::nullopt, {1000, 1063}, "", {}});
  settings.sockets.push_back({5, waygate::net::Address::v4(0xc6336405), waygate::net::Address{}, {2000, 2063}, ""});
  if (engine.configure(settings)) __builtin_trap();
  engine.set_clock(0s, std::chrono::system_clock::now());
  engine.set_standby(true);
  waygate::nat::Replica replica;
  std::array<std::uint8_t, waygate::nat::kMaxDatagram + 64> sealed;
  for (std::size_t at = 0; at < size;) {
    const std::size_t n = std::min<std::size_t>(data[at], size - at - 1);
    const std::uint8_t* plain = data + at + 1;
    at += 1 + n;
    if (24 + 16 + n > sealed.size()) continue;
    randombytes_buf(sealed.data(), 24);
    crypto_secretbox_easy(sealed.data() + 24, plain, n, sealed.data(), key.data());
    const auto d = waygate::nat::open(key, {sealed.data(), 24 + 16 + n});
    if (!d) continue;
    switch (replica.receive(*d)) {
      case waygate::nat::Replica::Step::begin:
        engine.begin_snapshot();
        [[fallthrough]];
      case waygate::nat::Replica::Step::apply:
        for (const auto& c : d->records) c.up ? (void)engine.adopt(c.state) : engine.forget(c.state);
        break;
      case waygate::nat::Replica::Step::end:
        engine.end_snapshot();
        break;
      default:
        break;
    }
    if (engine.session_count() > settings.max_sessions) __builtin_trap();
  }
  engine.set_standby(false);  // taking over whatever it holds
  engine.sweep();
  return 0;
}
