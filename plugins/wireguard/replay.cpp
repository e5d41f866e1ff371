// RFC 6479's anti-replay bitmap: a ring of 128 64-bit words (8192 bits) in which bit
// (counter mod 8192) records whether counter has been seen. The window is one word shorter
// than the ring (kWindow = 8192 - 64), so every counter in [newest - kWindow, newest] lives in a
// word that was cleared when the window last moved over it. Moving forward clears the words
// passed over (at most the whole ring), so each packet costs O(1) and nothing is allocated.
#include "replay.hpp"

#include <algorithm>

namespace waygate::wg {
namespace {

constexpr std::uint64_t kBitsPerWord = 64;
constexpr std::uint64_t kWordShift = 6;  // log2(kBitsPerWord)
constexpr std::uint64_t kRingWords = 8192 / kBitsPerWord;
static_assert((kRingWords & (kRingWords - 1)) == 0, "the ring size must be a power of two");
static_assert(ReplayWindow::kWindow == kRingWords * kBitsPerWord - kBitsPerWord);

constexpr std::size_t word_of(std::uint64_t counter) {
  return static_cast<std::size_t>((counter >> kWordShift) & (kRingWords - 1));
}
constexpr std::uint64_t bit_of(std::uint64_t counter) {
  return std::uint64_t{1} << (counter & (kBitsPerWord - 1));
}

}  // namespace

bool ReplayWindow::check(std::uint64_t counter) const {
  if (counter >= kRejectAfterMessages) return false;
  if (!any_ || counter > newest_) return true;
  if (newest_ - counter > kWindow) return false;
  return (bits_[word_of(counter)] & bit_of(counter)) == 0;
}

bool ReplayWindow::update(std::uint64_t counter) {
  if (!check(counter)) return false;
  if (!any_) {
    // reset() left every word clear; the first counter simply becomes the newest.
    newest_ = counter;
    any_ = true;
  } else if (counter > newest_) {
    const std::uint64_t current = newest_ >> kWordShift;
    const std::uint64_t next = counter >> kWordShift;
    // Clear the words for the blocks (current, next]; past a whole ring, that is every word.
    const std::uint64_t steps = std::min(next - current, kRingWords);
    for (std::uint64_t i = 1; i <= steps; ++i) bits_[word_of((current + i) << kWordShift)] = 0;
    newest_ = counter;
  }
  bits_[word_of(counter)] |= bit_of(counter);
  return true;
}

void ReplayWindow::reset() {
  newest_ = 0;
  any_ = false;
  bits_.fill(0);
}

}  // namespace waygate::wg
