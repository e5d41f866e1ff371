#include "waygate/timer.hpp"

#include <algorithm>
#include <utility>

namespace waygate {

Timer& Timer::operator=(Timer&& o) noexcept {
  if (this != &o) {
    if (queue_ != nullptr) queue_->destroy(id_);
    queue_ = std::exchange(o.queue_, nullptr);
    id_ = o.id_;
  }
  return *this;
}

Timer::~Timer() {
  if (queue_ != nullptr) queue_->destroy(id_);
}

void Timer::arm_at(Time when) { queue_->arm(id_, when); }
void Timer::arm_in(Duration d) { queue_->arm(id_, queue_->now() + d); }
void Timer::cancel() { queue_->cancel(id_); }
bool Timer::armed() const { return queue_ != nullptr && queue_->slots_[id_].armed; }

Timer TimerQueue::create(std::function<void()> callback) {
  std::uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[id];
  s.callback = std::move(callback);
  s.armed = false;
  s.live = true;
  return Timer(this, id);
}

void TimerQueue::arm(std::uint32_t id, Time when) {
  Slot& s = slots_[id];
  ++s.generation;  // any earlier heap entry for this timer is now stale
  s.deadline = when;
  s.armed = true;
  heap_.push_back({when, id, s.generation});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
}

void TimerQueue::cancel(std::uint32_t id) {
  Slot& s = slots_[id];
  ++s.generation;
  s.armed = false;
}

void TimerQueue::destroy(std::uint32_t id) {
  cancel(id);
  slots_[id].live = false;
  if (id == firing_) return;  // released by advance() once the callback has returned
  slots_[id].callback = nullptr;
  free_ids_.push_back(id);
}

void TimerQueue::drop_stale() {
  while (!heap_.empty()) {
    const Entry& top = heap_.front();
    const Slot& s = slots_[top.id];
    if (s.armed && s.generation == top.generation) return;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

Time TimerQueue::next_deadline() {
  drop_stale();
  return heap_.empty() ? Time::max() : heap_.front().deadline;
}

void TimerQueue::advance(Time now) {
  for (;;) {
    drop_stale();
    if (heap_.empty() || heap_.front().deadline > now) break;
    // Time steps to each deadline as it fires, so a timer re-armed from its callback counts
    // from when it fired, and a fake clock jumping an hour fires a periodic timer every period.
    if (heap_.front().deadline > now_) now_ = heap_.front().deadline;
    std::uint32_t id = heap_.front().id;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
    Slot& s = slots_[id];
    s.armed = false;
    ++s.generation;
    firing_ = id;
    s.callback();  // may re-arm, create or destroy timers, this one included
    firing_ = kNotFiring;
    if (!s.live) {
      s.callback = nullptr;
      free_ids_.push_back(id);
    }
  }
  if (now > now_) now_ = now;
}

}  // namespace waygate
