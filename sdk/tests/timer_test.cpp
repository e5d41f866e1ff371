#include <gtest/gtest.h>

#include "waygate/timer.hpp"

using namespace std::chrono_literals;
using waygate::Time;
using waygate::TimerQueue;

TEST(Timers, FireInDeadlineOrder) {
  TimerQueue q;
  std::vector<int> fired;
  auto a = q.create([&] { fired.push_back(1); });
  auto b = q.create([&] { fired.push_back(2); });
  a.arm_in(20ms);
  b.arm_in(10ms);
  EXPECT_EQ(q.next_deadline(), Time(10ms));
  q.advance(Time(15ms));
  EXPECT_EQ(fired, std::vector<int>{2});
  q.advance(Time(25ms));
  EXPECT_EQ(fired, (std::vector<int>{2, 1}));
  EXPECT_EQ(q.next_deadline(), Time::max());
}

TEST(Timers, RearmMovesAndCancelStops) {
  TimerQueue q;
  int n = 0;
  auto t = q.create([&] { ++n; });
  t.arm_in(10ms);
  t.arm_in(30ms);  // moved, the 10 ms entry is stale
  q.advance(Time(20ms));
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(t.armed());
  t.cancel();
  q.advance(Time(40ms));
  EXPECT_EQ(n, 0);
  EXPECT_FALSE(t.armed());
}

TEST(Timers, CallbackMayRearmItselfAndCreateOthers) {
  TimerQueue q;
  int ticks = 0;
  std::vector<waygate::Timer> extra;
  waygate::Timer* self = nullptr;
  auto t = q.create([&] {
    ++ticks;
    for (int i = 0; i < 100; ++i) extra.push_back(q.create([] {}));  // grows the slot store
    if (ticks < 3) self->arm_in(10ms);
  });
  self = &t;
  t.arm_in(10ms);
  q.advance(Time(100ms));
  EXPECT_EQ(ticks, 3);
}

TEST(Timers, DestroyedTimerNeverFires) {
  TimerQueue q;
  int n = 0;
  {
    auto t = q.create([&] { ++n; });
    t.arm_in(5ms);
  }
  q.advance(Time(10ms));
  EXPECT_EQ(n, 0);
}
