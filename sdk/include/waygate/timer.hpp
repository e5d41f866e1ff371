// Time and timers. Time is a monotonic count of nanoseconds; the host reads it from the kernel,
// the test rig from a fake clock it advances. A Timer is created once (with its callback) and then
// armed and cancelled as often as needed without allocating; it fires on its worker's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace waygate {

using Duration = std::chrono::nanoseconds;
using Time = std::chrono::nanoseconds;  // since an arbitrary, fixed epoch (monotonic)

class TimerQueue;

class Timer {
 public:
  Timer() = default;
  Timer(TimerQueue* queue, std::uint32_t id) : queue_(queue), id_(id) {}
  Timer(Timer&& o) noexcept : queue_(o.queue_), id_(o.id_) { o.queue_ = nullptr; }
  Timer& operator=(Timer&& o) noexcept;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer();

  void arm_at(Time when);   // (re)arm; an armed timer moves to the new deadline
  void arm_in(Duration d);  // relative to the queue's current time
  void cancel();
  bool armed() const;

 private:
  TimerQueue* queue_ = nullptr;
  std::uint32_t id_ = 0;
};

// The timers of one worker, ordered by deadline in a binary heap. Cancelling and re-arming leave
// stale heap entries that are skipped by generation number, so neither needs a search.
class TimerQueue {
 public:
  explicit TimerQueue(Time now = Time{0}) : now_(now) {}

  Timer create(std::function<void()> callback);
  Time now() const { return now_; }
  // The earliest deadline of an armed timer, or Time::max() if none.
  Time next_deadline();
  // Moves time to `now` and fires every timer due by then, in deadline order; while a callback
  // runs, now() is its timer's deadline. A callback may arm any timer, itself included; one armed
  // for a time not after `now` fires in this call.
  void advance(Time now);

 private:
  friend class Timer;
  struct Slot {
    std::function<void()> callback;
    Time deadline{};
    std::uint32_t generation = 0;
    bool armed = false;
    bool live = false;
  };
  struct Entry {
    Time deadline;
    std::uint32_t id;
    std::uint32_t generation;
    bool operator>(const Entry& o) const { return deadline > o.deadline; }
  };
  void arm(std::uint32_t id, Time when);
  void cancel(std::uint32_t id);
  void destroy(std::uint32_t id);
  void drop_stale();
  static constexpr std::uint32_t kNotFiring = 0xffffffffu;

  Time now_;
  std::deque<Slot> slots_;  // a deque: a firing callback's slot must not move when timers are added
  std::uint32_t firing_ = kNotFiring;
  std::vector<std::uint32_t> free_ids_;
  std::vector<Entry> heap_;
};

}  // namespace waygate
