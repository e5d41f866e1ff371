// The rig itself, driven by a small plugin defined here: what comes out on which side, drops by
// reason, counters, the fake clock, reload semantics and buffer accounting.
#include <gtest/gtest.h>

#include "waygate/testing/rig.hpp"

using namespace std::chrono_literals;
using waygate::Direction;
using waygate::testing::Rig;

namespace {

// Passes packets whose first byte is even, replies to those starting with 1, drops the rest;
// counts ticks of a timer armed at start with the configured period.
class Sorter final : public waygate::Plugin {
 public:
  explicit Sorter(waygate::Context& c)
      : ctx_(c), odd_(c.drop_reason("odd")), ticks_(c.counter("ticks_total", "")),
        timer_(c.timer([this] { ticks_.add(); timer_.arm_in(period_); })) {}
  void configure(const waygate::Config& c) override {
    auto period = c.duration("period", 1s);
    if (period == waygate::Duration{0}) c.fail("period", "must be positive");
    period_ = period;
  }
  void start() override { timer_.arm_in(period_); }
  void process(waygate::Burst& b, waygate::Output& out) override {
    for (auto* p : b) {
      std::uint8_t first = p->data()[0];
      if (first % 2 == 0) out.pass(p);
      else if (first == 1) out.reply(p);
      else out.drop(p, odd_);
    }
  }

 private:
  waygate::Context& ctx_;
  waygate::Drop odd_;
  waygate::Counter ticks_;
  waygate::Timer timer_;
  waygate::Duration period_{};
};

Rig::Factory sorter = [](waygate::Context& c) { return std::make_unique<Sorter>(c); };

TEST(Rig, SortsPacketsToTheirSides) {
  Rig rig(sorter, "period = '10s'");
  rig.push(Direction::outbound, std::vector<std::vector<std::uint8_t>>{{2, 9}, {1, 8}, {3}, {4}});
  auto out = rig.take(Direction::outbound);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, (std::vector<std::uint8_t>{2, 9}));
  EXPECT_EQ(out[1].bytes, (std::vector<std::uint8_t>{4}));
  auto back = rig.take(Direction::inbound);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].bytes, (std::vector<std::uint8_t>{1, 8}));
  EXPECT_EQ(rig.drops("odd"), 1u);
  EXPECT_TRUE(rig.take(Direction::outbound).empty());  // take() empties
  EXPECT_EQ(rig.pool().available(), rig.pool().capacity());  // nothing leaked
}

TEST(Rig, MoreThanABurstIsSplitAndKeepsOrder) {
  Rig rig(sorter, "");
  std::vector<std::vector<std::uint8_t>> many;
  for (int i = 0; i < 1000; ++i) many.push_back({0, static_cast<std::uint8_t>(i & 0xff), static_cast<std::uint8_t>(i >> 8)});
  rig.push(Direction::inbound, many);
  auto out = rig.take(Direction::inbound);
  ASSERT_EQ(out.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i].bytes[1] | (out[i].bytes[2] << 8), i);
}

TEST(Rig, FakeClockFiresTimers) {
  Rig rig(sorter, "period = '10s'");
  rig.start();
  rig.advance(9s);
  EXPECT_EQ(rig.counter("ticks_total"), 0);
  rig.advance(1s);
  EXPECT_EQ(rig.counter("ticks_total"), 1);
  rig.advance(35s);
  EXPECT_EQ(rig.counter("ticks_total"), 4);
}

TEST(Rig, BadConfigIsAConfigError) {
  EXPECT_THROW(Rig(sorter, "period = 0"), waygate::ConfigError);
  EXPECT_THROW(Rig(sorter, "colour = 1"), waygate::ConfigError);  // unknown key
}

TEST(Rig, FailedReconfigureKeepsTheOldConfig) {
  Rig rig(sorter, "period = '10s'");
  rig.start();
  EXPECT_THROW(rig.reconfigure("period = 0"), waygate::ConfigError);
  // Valid values beside an unknown key: refused whole, the period must not become 1 s.
  EXPECT_THROW(rig.reconfigure("period = '1s'\ncolour = 1"), waygate::ConfigError);
  rig.advance(10s);
  EXPECT_EQ(rig.counter("ticks_total"), 1);
  rig.advance(5s);
  EXPECT_EQ(rig.counter("ticks_total"), 1);
  rig.reconfigure("period = '1s'");
  rig.advance(5s);
  EXPECT_EQ(rig.counter("ticks_total"), 2);  // the 10 s timer armed before the reload fires at 20 s
}

// Drops are counted by whose packets they were: the socket and identity in their metadata.
constexpr const char* kWho = R"(
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
[[identity]]
name = "bob"
public_key = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w="
[[socket]]
name = "corporate-exit"
type = "exit_node"
)";

TEST(Rig, DropsAreCountedBySocketAndIdentity) {
  Rig rig(sorter, "", {.directory = kWho});
  waygate::Meta bob;
  bob.identity = 1;
  bob.socket = 0;
  waygate::Meta nobody;
  rig.push(Direction::outbound, std::vector<std::vector<std::uint8_t>>{{3}, {5}}, bob);
  rig.push(Direction::outbound, std::vector<std::uint8_t>{7}, nobody);
  rig.push(Direction::outbound, std::vector<std::uint8_t>{2}, bob);  // passes: not a drop
  EXPECT_EQ(rig.drops("odd"), 3u);
  EXPECT_EQ(rig.counter("socket_drops_total", {{"socket", "corporate-exit"}, {"reason", "odd"}}), 2);
  EXPECT_EQ(rig.counter("identity_drops_total", {{"identity", "bob"}, {"reason", "odd"}}), 2);
  // Only cells that counted something are reported: alice has none.
  for (auto& s : rig.metrics())
    for (auto& [k, v] : s.labels) EXPECT_FALSE(k == "identity" && v == "alice") << s.name;
  EXPECT_EQ(rig.pool().available(), rig.pool().capacity());

  // A reload that moves bob first keeps his counts under his name; a position beyond the
  // directory (a packet from before a reload) is not attributed.
  const std::string carol_first = std::string(R"(
[[identity]]
name = "carol"
public_key = "Wa2s8kq538O5x16x5n22CLq04AIHmxD2Hl2ILnY/jAs="
)") + kWho;
  rig.reconfigure("", carol_first);
  bob.identity = 2;
  rig.push(Direction::outbound, std::vector<std::uint8_t>{9}, bob);
  EXPECT_EQ(rig.counter("identity_drops_total", {{"identity", "bob"}, {"reason", "odd"}}), 3);
  EXPECT_EQ(rig.counter("socket_drops_total", {{"socket", "corporate-exit"}, {"reason", "odd"}}), 3);
  bob.identity = 7;
  rig.push(Direction::outbound, std::vector<std::uint8_t>{11}, bob);
  EXPECT_EQ(rig.counter("socket_drops_total", {{"socket", "corporate-exit"}, {"reason", "odd"}}), 4);
  EXPECT_EQ(rig.drops("odd"), 5u);
}

}  // namespace
