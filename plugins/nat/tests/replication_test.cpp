// The pair's replication link (replication.hpp): sealed datagrams, the standby's view of the
// sequence, and two engines kept alike through it, a datagram lost on the way.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "replication.hpp"
#include "waygate/testing/packets.hpp"

using namespace std::chrono_literals;
namespace nat = waygate::nat;
namespace net = waygate::net;
using Step = nat::Replica::Step;

namespace {

net::Address v4(const char* text) {
  std::array<std::uint8_t, 4> b{};
  EXPECT_EQ(::inet_pton(AF_INET, text, b.data()), 1);
  return net::Address::v4(std::span<const std::uint8_t, 4>(b));
}

nat::SessionChange session(std::uint16_t port, bool up = true) {
  nat::SessionChange c;
  c.up = up;
  c.state.socket = 3;
  c.state.protocol = 17;
  c.state.identity = 7;
  c.state.peer = 2;
  c.state.inside = v4("10.64.0.2");
  c.state.remote = v4("203.0.113.53");
  c.state.inside_port = port;
  c.state.remote_port = 53;
  c.state.outside_port = static_cast<std::uint16_t>(port + 10000);
  return c;
}

nat::ReplicationKey key(std::uint8_t fill) {
  nat::ReplicationKey k;
  k.fill(fill);
  return k;
}

nat::Datagram datagram(nat::Kind kind, std::uint64_t epoch, std::uint64_t sequence, std::size_t records = 0) {
  nat::Datagram d;
  d.kind = kind;
  d.epoch = epoch;
  d.sequence = sequence;
  for (std::size_t i = 0; i < records; ++i) d.records.push_back(session(static_cast<std::uint16_t>(1000 + i)));
  return d;
}

TEST(NatReplicationLink, ADatagramOpensWithItsKeyOnlyAndWhole) {
  std::array<std::uint8_t, nat::kMaxDatagram> buf;
  nat::Datagram d = datagram(nat::Kind::changes, 42, 7, 3);
  d.records[1].up = false;
  d.records[2].state.version = 6;
  d.records[2].state.inside = net::Address::v6(std::array<std::uint8_t, 16>{0xfd, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
  d.records[2].state.remote = net::Address::v6(std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9});
  d.set_sender("connector-one");
  const std::size_t n = nat::seal(key(1), d, d.records, buf);
  ASSERT_EQ(n, nat::kOverheadBytes - nat::kMaxSender + 13 + 3 * nat::kRecordBytes);
  const auto opened = nat::open(key(1), {buf.data(), n});
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->sender(), "connector-one");
  EXPECT_EQ(opened->kind, nat::Kind::changes);
  EXPECT_EQ(opened->epoch, 42u);
  EXPECT_EQ(opened->sequence, 7u);
  ASSERT_EQ(opened->records.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(opened->records[i].up, d.records[i].up);
    EXPECT_EQ(opened->records[i].state, d.records[i].state);
  }
  EXPECT_FALSE(nat::open(key(2), {buf.data(), n}));  // another pair's
  for (std::size_t at : {std::size_t{0}, std::size_t{30}, n - 1}) {
    auto bent = buf;
    bent[at] ^= 0x40;
    EXPECT_FALSE(nat::open(key(1), {bent.data(), n})) << "a byte changed at " << at;
  }
  EXPECT_FALSE(nat::open(key(1), {buf.data(), n - 1}));
  EXPECT_FALSE(nat::open(key(1), {buf.data(), 10}));
  // Sealed twice, never the same bytes: a nonce each.
  std::array<std::uint8_t, nat::kMaxDatagram> again;
  ASSERT_EQ(nat::seal(key(1), d, d.records, again), n);
  EXPECT_NE(std::memcmp(buf.data(), again.data(), n), 0);
}

TEST(NatReplicationLink, AFullDatagramFitsItsLimit) {
  std::array<std::uint8_t, nat::kMaxDatagram> buf;
  EXPECT_EQ(nat::kRecordsPerDatagram, 24u);
  const nat::Datagram full = datagram(nat::Kind::changes, 1, 1, nat::kRecordsPerDatagram);
  const std::size_t n = nat::seal(key(1), full, full.records, buf);
  EXPECT_GT(n, 0u);
  EXPECT_LE(n, nat::kMaxDatagram);
  const nat::Datagram over = datagram(nat::Kind::changes, 1, 1, nat::kRecordsPerDatagram + 1);
  EXPECT_EQ(nat::seal(key(1), over, over.records, buf), 0u);
}

TEST(NatReplicationLink, TheStandbyFollowsTheSequenceAndAsksAfterAGap) {
  nat::Replica r;
  EXPECT_TRUE(r.behind());
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 1)), Step::ask);  // it knows nothing yet
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 2)), Step::ignore);  // asked already
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_begin, 9, 3)), Step::begin);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_part, 9, 4)), Step::apply);
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 5)), Step::apply);  // changes meanwhile count too
  EXPECT_TRUE(r.behind());
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_end, 9, 6)), Step::end);
  EXPECT_FALSE(r.behind());
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 7)), Step::apply);
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 7)), Step::ignore);  // repeated
  EXPECT_EQ(r.receive(datagram(nat::Kind::heartbeat, 9, 8)), Step::ignore);
  EXPECT_EQ(r.sequence(), 8u);
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 10)), Step::ask);  // 9 was lost
  EXPECT_TRUE(r.behind());
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 9, 11)), Step::ignore);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_begin, 9, 12)), Step::begin);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_end, 9, 13)), Step::end);
  // The active restarted: a new epoch, from 1 again.
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 10, 1)), Step::ask);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_begin, 10, 2)), Step::begin);
  EXPECT_EQ(r.receive(datagram(nat::Kind::ask_snapshot, 10, 3)), Step::ignore);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_end, 10, 3)), Step::end);
  EXPECT_FALSE(r.behind());
  // That snapshot could not be held whole: behind again, changes wait for the next snapshot.
  r.ask_again();
  EXPECT_TRUE(r.behind());
  EXPECT_EQ(r.receive(datagram(nat::Kind::changes, 10, 4)), Step::ignore);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_begin, 10, 5)), Step::begin);
  EXPECT_EQ(r.receive(datagram(nat::Kind::snapshot_end, 10, 6)), Step::end);
  EXPECT_FALSE(r.behind());
}

// An engine alone, socket 3 egressing 198.51.100.1 on ports 20000-20999.
struct Side {
  Side() : engine(local.metrics(), 1) {
    nat::Settings s;
    s.block_size = 100;
    s.sockets.push_back({3, v4("198.51.100.1"), std::nullopt, {20000, 20999}, "", {}});
    EXPECT_FALSE(engine.configure(s).has_value());
    engine.set_clock(0s, std::chrono::system_clock::now());
  }
  nat::LocalMetrics local;
  nat::Engine engine;
};

// The link as the plugin will run it: the active's changes sealed in datagrams after each burst,
// the standby applying what opens in order; one datagram lost, the standby asks, and the whole
// table brings it level.
TEST(NatReplicationLink, TwoEnginesStayAlikeThroughALossAndASnapshot) {
  Side active, standby;
  active.engine.record_changes(true);
  standby.engine.set_standby(true);
  const nat::ReplicationKey k = key(7);
  nat::Replica replica;
  std::uint64_t sequence = 0;
  const std::uint64_t epoch = 77;
  std::vector<std::vector<std::uint8_t>> wire;
  auto send = [&](nat::Kind kind, std::vector<nat::SessionChange> records) {
    for (std::size_t at = 0; at == 0 || at < records.size(); at += nat::kRecordsPerDatagram) {
      const std::size_t n = std::min(records.size() - std::min(at, records.size()), nat::kRecordsPerDatagram);
      std::vector<std::uint8_t> bytes(nat::kMaxDatagram);
      bytes.resize(nat::seal(k, nat::Header{kind, epoch, ++sequence}, std::span(records).subspan(at, n), bytes));
      wire.push_back(std::move(bytes));
    }
  };
  auto burst = [&](std::uint16_t first, std::uint16_t count) {
    for (std::uint16_t p = first; p < first + count; ++p) {
      auto packet = waygate::testing::udp("10.64.0.2", p, "203.0.113.53", 53);
      waygate::Meta meta;
      meta.identity = 7;
      meta.socket = 3;
      ASSERT_EQ(active.engine.process(packet, meta, waygate::Direction::outbound).verdict, nat::Verdict::pass);
    }
    std::vector<nat::SessionChange> changes;
    active.engine.drain_changes([&](const nat::SessionChange& c) { changes.push_back(c); });
    send(nat::Kind::changes, changes);
  };
  bool asked = false;
  auto deliver = [&] {
    for (auto& bytes : wire) {
      const auto d = nat::open(k, bytes);
      ASSERT_TRUE(d);
      switch (replica.receive(*d)) {
        case Step::begin:
          standby.engine.begin_snapshot();
          [[fallthrough]];
        case Step::apply:
          for (auto& c : d->records) {
            if (c.up) EXPECT_TRUE(standby.engine.adopt(c.state));
            else standby.engine.forget(c.state);
          }
          break;
        case Step::end:
          standby.engine.end_snapshot();
          break;
        case Step::ask:
          asked = true;
          break;
        case Step::ignore:
          break;
      }
    }
    wire.clear();
  };
  auto table = [](const nat::Engine& e) {
    std::vector<nat::SessionState> all;
    e.each_session([&](const nat::SessionState& s) { all.push_back(s); });
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.inside_port < b.inside_port; });
    return all;
  };

  auto snapshot = [&] {  // what the active sends when asked
    std::vector<nat::SessionChange> all;
    active.engine.each_session([&](const nat::SessionState& s) { all.push_back({true, s}); });
    send(nat::Kind::snapshot_begin, {});
    send(nat::Kind::snapshot_part, all);
    send(nat::Kind::snapshot_end, {});
  };

  burst(1000, 30);  // the standby is new: it asks, and the whole table comes
  deliver();
  ASSERT_TRUE(asked);
  asked = false;
  snapshot();
  deliver();
  EXPECT_FALSE(replica.behind());
  EXPECT_EQ(table(standby.engine), table(active.engine));

  burst(2000, 10);  // in order: applied as it comes
  deliver();
  EXPECT_EQ(table(standby.engine), table(active.engine));

  burst(3000, 5);
  wire.clear();  // lost on the way
  for (auto& s : table(active.engine))
    if (s.inside_port < 1010) active.engine.forget(s);  // and ten end meanwhile (forget: as if they expired)
  burst(4000, 5);
  deliver();
  ASSERT_TRUE(asked);
  EXPECT_TRUE(replica.behind());
  snapshot();
  deliver();
  EXPECT_FALSE(replica.behind());
  EXPECT_EQ(table(standby.engine).size(), 30u - 10 + 10 + 5 + 5);
  EXPECT_EQ(table(standby.engine), table(active.engine));
}

}  // namespace
