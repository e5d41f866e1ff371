#include <gtest/gtest.h>

#include <thread>

#include "counter_registry.hpp"
#include "waygate/pool.hpp"

using waygate::CounterRegistry;
using waygate::MetricKind;

TEST(Counters, SameNameAndLabelsIsTheSameCounter) {
  CounterRegistry r(1);
  auto* a = r.slot("x_total", "", MetricKind::counter, {{"stage", "s"}}, 0);
  auto* b = r.slot("x_total", "", MetricKind::counter, {{"stage", "s"}}, 0);
  auto* c = r.slot("x_total", "", MetricKind::counter, {{"stage", "t"}}, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_THROW(r.slot("x_total", "", MetricKind::gauge, {}, 0), std::invalid_argument);
}

// Thousands of peers' counters: each its own, found by name and labels (where one label ends is
// part of the key), and listed in the order they were registered.
TEST(Counters, ManyLabelledCountersStayApartAndInOrder) {
  CounterRegistry r(1);
  EXPECT_NE(r.slot("p_total", "", MetricKind::counter, {{"stage", "ab"}}, 0),
            r.slot("p_total", "", MetricKind::counter, {{"stag", "eab"}}, 0));
  constexpr int kPeers = 20000;
  for (int i = 0; i < kPeers; ++i)
    r.slot("peer_rx_bytes_total", "", MetricKind::counter, {{"peer", "p" + std::to_string(i)}}, 0)->store(i);
  for (int i : {0, 1, 9999, kPeers - 1}) EXPECT_EQ(r.value("peer_rx_bytes_total", {{"peer", "p" + std::to_string(i)}}), i);
  auto all = r.snapshot();
  ASSERT_GE(all.size(), static_cast<std::size_t>(kPeers + 2));
  for (int i = 0; i < kPeers; ++i) ASSERT_EQ(all[2 + i].labels[0].second, "p" + std::to_string(i));
}

TEST(Counters, WorkersWriteTheirOwnSlotsAndReadersSum) {
  CounterRegistry r(2);
  waygate::Counter w0(r.slot("p_total", "", MetricKind::counter, {}, 0));
  waygate::Counter w1(r.slot("p_total", "", MetricKind::counter, {}, 1));
  std::thread t0([&] { for (int i = 0; i < 100000; ++i) w0.add(); });
  std::thread t1([&] { for (int i = 0; i < 100000; ++i) w1.add(2); });
  t0.join();
  t1.join();
  EXPECT_EQ(r.value("p_total"), 300000);
  auto snap = r.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].value, 300000);
}

TEST(Counters, ManySlotsNeverMove) {
  CounterRegistry r(1);
  std::vector<std::atomic<std::uint64_t>*> slots;
  for (int i = 0; i < 5000; ++i)
    slots.push_back(r.slot("c_total", "", MetricKind::counter, {{"i", std::to_string(i)}}, 0));
  for (auto* s : slots) s->store(1);
  EXPECT_EQ(r.value("c_total", {{"i", "4999"}}), 1);
  EXPECT_EQ(r.snapshot().size(), 5000u);
}

TEST(Counters, GaugeGoesDown) {
  CounterRegistry r(1);
  waygate::Gauge g(r.slot("sessions", "", MetricKind::gauge, {}, 0));
  g.add(5);
  g.add(-2);
  EXPECT_EQ(r.value("sessions"), 3);
}

TEST(Pool, HandsOutEveryBufferOnceAndTakesThemBack) {
  waygate::Pool pool(4, 256, 64);
  std::vector<waygate::Packet*> got;
  while (auto* p = pool.alloc()) got.push_back(p);
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ(pool.available(), 0u);
  for (auto* p : got) pool.free(p);
  EXPECT_EQ(pool.available(), 4u);
}

TEST(Packet, HeadroomAndTailroom) {
  waygate::Pool pool(1, 256, 64);
  auto* p = pool.alloc();
  EXPECT_EQ(p->headroom(), 64u);
  ASSERT_TRUE(p->resize(100));
  EXPECT_EQ(p->tailroom(), 256u - 64 - 100);
  ASSERT_NE(p->prepend(32), nullptr);  // an encapsulation header, in place
  EXPECT_EQ(p->size(), 132u);
  EXPECT_EQ(p->headroom(), 32u);
  EXPECT_EQ(p->prepend(33), nullptr);
  EXPECT_TRUE(p->strip(32));
  EXPECT_EQ(p->size(), 100u);
  EXPECT_FALSE(p->strip(101));
  EXPECT_FALSE(p->resize(256 - 64 + 1));
}
