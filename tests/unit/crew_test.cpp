// The thread crew a worker spreads a burst's crypto over: every item done exactly once, on a
// member the crew names, jobs back to back with no lost wake-up, threads that start only when
// told to, and small jobs kept on the caller. Run under TSan too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "thread_crew.hpp"

namespace {

struct Tally {
  std::vector<std::atomic<int>> done;
  std::vector<unsigned> member;
  explicit Tally(std::size_t n) : done(n), member(n, ~0u) {}
};

TEST(ThreadCrew, EveryItemOnceOnAMemberItNames) {
  for (unsigned threads : {0u, 1u, 3u}) {
    waygate::ThreadCrew crew(threads);
    crew.start();
    EXPECT_EQ(crew.size(), threads + 1);
    for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 33u, 256u, 1000u, 300000u}) {
      Tally t(n);
      auto work = [&](unsigned m, std::size_t i) {
        t.done[i].fetch_add(1, std::memory_order_relaxed);
        t.member[i] = m;
      };
      crew.for_each(n, work);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(t.done[i].load(), 1) << threads << " threads, " << n << " items, item " << i;
        ASSERT_LT(t.member[i], crew.size());
      }
    }
  }
}

// Items that take a while leave the crew's thread time to wake: it takes some of them.
TEST(ThreadCrew, TheWorkIsShared) {
  waygate::ThreadCrew crew(1);
  crew.start();
  std::vector<unsigned> member(64, ~0u);
  auto slow = [&](unsigned m, std::size_t i) {
    member[i] = m;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  crew.for_each(member.size(), slow);
  std::size_t by_crew = 0;
  for (unsigned m : member) by_crew += m == 1;
  EXPECT_GT(by_crew, 0u);
  EXPECT_LT(by_crew, member.size());  // the caller works too
}

TEST(ThreadCrew, SmallJobsAndAnUnstartedCrewStayOnTheCaller) {
  waygate::ThreadCrew crew(2);
  EXPECT_EQ(crew.size(), 3u);  // counted before they run, so stages can size their scratch
  std::vector<unsigned> member(100, ~0u);
  auto work = [&](unsigned m, std::size_t i) { member[i] = m; };
  crew.for_each(member.size(), work);
  for (unsigned m : member) EXPECT_EQ(m, 0u);
  crew.start();
  std::vector<unsigned> few(waygate::ThreadCrew::kMinItems - 1, ~0u);
  auto small = [&](unsigned m, std::size_t i) { few[i] = m; };
  crew.for_each(few.size(), small);
  for (unsigned m : few) EXPECT_EQ(m, 0u);
}

// Many jobs back to back, as bursts come: each job's items are its own, none is lost or run
// twice, and nothing hangs when a thread wakes late for a job that is already over.
TEST(ThreadCrew, JobsBackToBack) {
  waygate::ThreadCrew crew(2);
  crew.start();
  std::vector<std::uint64_t> items(64);
  for (std::uint64_t job = 1; job <= 20000; ++job) {
    const std::size_t n = 8 + job % 57;
    auto stamp = [&](unsigned, std::size_t i) { items[i] = job; };
    crew.for_each(n, stamp);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(items[i], job) << i;
  }
}

}  // namespace
