#include "replay.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>

namespace waygate::wg {
namespace {

constexpr std::uint64_t kWindow = ReplayWindow::kWindow;
constexpr std::uint64_t kReject = ReplayWindow::kRejectAfterMessages;

TEST(ReplayWindow, AcceptsCounterZeroFirstAndOnlyOnce) {
  ReplayWindow w;
  EXPECT_TRUE(w.check(0));
  EXPECT_TRUE(w.update(0));
  EXPECT_FALSE(w.check(0));
  EXPECT_FALSE(w.update(0));
  EXPECT_TRUE(w.update(1));
}

TEST(ReplayWindow, InOrderCountersAreAcceptedOnce) {
  ReplayWindow w;
  for (std::uint64_t c = 0; c < 20000; ++c) ASSERT_TRUE(w.update(c)) << c;
  for (std::uint64_t c = 20000 - kWindow; c < 20000; ++c) ASSERT_FALSE(w.check(c)) << c;
}

TEST(ReplayWindow, DuplicatesAreRefused) {
  ReplayWindow w;
  EXPECT_TRUE(w.update(5));
  EXPECT_FALSE(w.update(5));
  EXPECT_TRUE(w.update(7));
  EXPECT_FALSE(w.update(5));
  EXPECT_FALSE(w.update(7));
}

TEST(ReplayWindow, OutOfOrderWithinTheWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.update(100));
  EXPECT_TRUE(w.update(90));
  EXPECT_TRUE(w.update(95));
  EXPECT_TRUE(w.update(0));
  EXPECT_FALSE(w.update(90));
  EXPECT_FALSE(w.update(95));
  EXPECT_TRUE(w.update(99));
  EXPECT_TRUE(w.update(101));
  EXPECT_FALSE(w.update(100));
  EXPECT_TRUE(w.update(1));
}

TEST(ReplayWindow, ExactlyAtTheWindowEdgeAndOneBeyond) {
  ReplayWindow w;
  const std::uint64_t newest = 3 * kWindow + 17;
  EXPECT_TRUE(w.update(newest));
  EXPECT_FALSE(w.check(newest - kWindow - 1));
  EXPECT_FALSE(w.update(newest - kWindow - 1));
  EXPECT_TRUE(w.check(newest - kWindow));
  EXPECT_TRUE(w.update(newest - kWindow));
  EXPECT_FALSE(w.update(newest - kWindow));
  // Every counter inside the window, at every bit position, is accepted once.
  for (std::uint64_t c = newest - kWindow + 1; c < newest; ++c) ASSERT_TRUE(w.update(c)) << c;
  for (std::uint64_t c = newest - kWindow; c <= newest; ++c) ASSERT_FALSE(w.check(c)) << c;
}

TEST(ReplayWindow, WindowEdgeForEveryAlignment) {
  // The ring is 8192 bits for a window of 8128: the edge must hold wherever newest sits in its word.
  for (std::uint64_t newest = kWindow; newest < kWindow + 130; ++newest) {
    ReplayWindow w;
    ASSERT_TRUE(w.update(newest));
    ASSERT_TRUE(w.update(newest - kWindow)) << newest;
    ASSERT_FALSE(w.check(newest - kWindow - 1)) << newest;
  }
}

TEST(ReplayWindow, BigJumpForwardClearsOldBits) {
  ReplayWindow w;
  for (std::uint64_t c = 0; c < 8192; ++c) ASSERT_TRUE(w.update(c));
  // Jump by exactly one ring: the same bit positions now stand for new counters.
  EXPECT_TRUE(w.update(8191 + 8192));
  for (std::uint64_t c = 8191 + 8192 - kWindow; c < 8191 + 8192; ++c) ASSERT_TRUE(w.check(c)) << c;
  // And by far more than a ring.
  EXPECT_TRUE(w.update(1'000'000'007));
  for (std::uint64_t c = 1'000'000'007 - kWindow; c < 1'000'000'007; ++c) ASSERT_TRUE(w.check(c)) << c;
  EXPECT_FALSE(w.check(1'000'000'007));
  EXPECT_FALSE(w.check(8191 + 8192));
}

TEST(ReplayWindow, SmallJumpsClearOnlyTheWordsPassedOver) {
  ReplayWindow w;
  EXPECT_TRUE(w.update(64 * 10 + 3));
  EXPECT_TRUE(w.update(64 * 10 + 1));
  EXPECT_TRUE(w.update(64 * 12 + 5));  // clears the words of blocks 11 and 12 only
  EXPECT_FALSE(w.check(64 * 10 + 3));
  EXPECT_FALSE(w.check(64 * 10 + 1));
  EXPECT_TRUE(w.check(64 * 10 + 2));
  EXPECT_TRUE(w.check(64 * 11));
}

TEST(ReplayWindow, RejectAfterMessagesIsRefused) {
  ReplayWindow w;
  EXPECT_FALSE(w.check(kReject));
  EXPECT_FALSE(w.update(kReject));
  EXPECT_FALSE(w.update(~std::uint64_t{0}));
  EXPECT_TRUE(w.update(kReject - 1));
  EXPECT_FALSE(w.update(kReject - 1));
  EXPECT_FALSE(w.update(kReject));
  EXPECT_TRUE(w.update(kReject - 2));
}

TEST(ReplayWindow, CheckDoesNotMutate) {
  ReplayWindow w;
  EXPECT_TRUE(w.check(10));
  EXPECT_TRUE(w.check(10));
  EXPECT_TRUE(w.update(10));
  EXPECT_TRUE(w.check(100000));
  EXPECT_TRUE(w.check(100000));
  // The far check above did not move the window: 9 is still acceptable.
  EXPECT_TRUE(w.update(9));
  EXPECT_FALSE(w.check(10));
}

TEST(ReplayWindow, RefusedUpdateChangesNothing) {
  ReplayWindow w;
  const std::uint64_t newest = 2 * kWindow;
  ASSERT_TRUE(w.update(newest));
  ASSERT_TRUE(w.update(newest - 5));
  EXPECT_FALSE(w.update(newest - 5));
  EXPECT_FALSE(w.update(newest - kWindow - 1));
  EXPECT_FALSE(w.update(kReject));
  EXPECT_TRUE(w.check(newest - kWindow));
  EXPECT_TRUE(w.check(newest - 4));
  EXPECT_FALSE(w.check(newest));
}

TEST(ReplayWindow, ResetForgetsEverything) {
  ReplayWindow w;
  ASSERT_TRUE(w.update(50000));
  ASSERT_TRUE(w.update(49999));
  w.reset();
  EXPECT_TRUE(w.update(0));
  EXPECT_TRUE(w.update(49999));
  EXPECT_TRUE(w.update(50000));
}

// A reference with no cleverness: every counter ever accepted, and the newest.
class ReferenceWindow {
 public:
  bool check(std::uint64_t c) const {
    if (c >= kReject) return false;
    if (seen_.empty()) return true;
    if (c + kWindow < newest_) return false;
    return seen_.count(c) == 0;
  }
  bool update(std::uint64_t c) {
    if (!check(c)) return false;
    seen_.insert(c);
    if (c > newest_) newest_ = c;
    return true;
  }

 private:
  std::set<std::uint64_t> seen_;
  std::uint64_t newest_ = 0;
};

// base + n without wrapping around.
std::uint64_t ahead(std::uint64_t base, std::uint64_t n) {
  return n > ~std::uint64_t{0} - base ? ~std::uint64_t{0} : base + n;
}

// Random checks and updates from `start` on, compared with the reference. Returns how many of
// the counters tried were at or beyond kRejectAfterMessages.
int run_against_reference(std::uint64_t seed, std::uint64_t start, int operations) {
  std::mt19937_64 random(seed);
  ReplayWindow w;
  ReferenceWindow reference;
  std::uint64_t base = start;
  int accepted_count = 0;
  int refused_count = 0;
  int beyond_count = 0;
  for (int op = 0; op < operations; ++op) {
    // Mostly near the front, some way back around the window edge, some jumps, some repeats.
    const unsigned kind = static_cast<unsigned>(random() % 100);
    std::uint64_t c;
    if (kind < 50) {
      c = base + random() % 200;
    } else if (kind < 75) {
      c = base > kWindow + 300 ? base - kWindow - 150 + random() % 300 : random() % (base + 1);
    } else if (kind < 90) {
      c = base > 0 ? base - random() % std::min<std::uint64_t>(base, 2000) : 0;
    } else if (kind < 97) {
      c = ahead(base, random() % 20000);
    } else if (kind < 99) {
      c = ahead(base, random() % 10'000'000);
    } else {
      c = base;  // the newest again
    }
    if (c >= kReject) ++beyond_count;
    if (random() % 3 == 0) {
      const bool expected = reference.check(c);
      if (w.check(c) != expected) {
        ADD_FAILURE() << "check: op " << op << " counter " << c << " expected " << expected;
        return -1;
      }
    } else {
      const bool accepted = w.update(c);
      if (accepted != reference.update(c)) {
        ADD_FAILURE() << "update: op " << op << " counter " << c << " accepted " << accepted;
        return -1;
      }
      if (accepted && c > base) base = c;
      ++(accepted ? accepted_count : refused_count);
    }
  }
  // Both outcomes were exercised a fair amount.
  EXPECT_GT(accepted_count, operations / 20);
  EXPECT_GT(refused_count, operations / 20);
  return beyond_count;
}

TEST(ReplayWindow, RandomizedAgainstReference) { run_against_reference(0x5eed'6479, 0, 100000); }

TEST(ReplayWindow, RandomizedAgainstReferenceNearRejectAfterMessages) {
  EXPECT_GT(run_against_reference(0x5eed'0001, kReject - 5'000'000, 20000), 1000);
}

}  // namespace
}  // namespace waygate::wg
