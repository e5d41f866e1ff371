// Counters that the hot path bumps with no lock, no allocation and no shared cache line: each
// worker's pipeline gets its own slot for every counter, and readers (metrics, stats, tests) sum
// the slots. A plugin declares its counters once, at construction or configure time, through its
// Context; declaring the same name and labels again returns the same counter, so reload is safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace waygate {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonic count. Only its worker writes it (relaxed load + store, no read-modify-write bus
// lock); any thread may read it.
class Counter {
 public:
  Counter() = default;
  explicit Counter(std::atomic<std::uint64_t>* slot) : slot_(slot) {}
  void add(std::uint64_t n = 1) const {
    slot_->store(slot_->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return slot_->load(std::memory_order_relaxed); }
  explicit operator bool() const { return slot_ != nullptr; }
  // Which counter this is: the same for every handle to it.
  const void* id() const { return slot_; }

 private:
  std::atomic<std::uint64_t>* slot_ = nullptr;
};

// A drop reason is a counter of dropped packets labelled with the reason.
using Drop = Counter;

// A level that goes up and down (sessions, peers). Per-worker slots sum like counters.
class Gauge {
 public:
  Gauge() = default;
  explicit Gauge(std::atomic<std::uint64_t>* slot) : slot_(slot) {}
  void add(std::int64_t n) const {
    slot_->store(slot_->load(std::memory_order_relaxed) + static_cast<std::uint64_t>(n),
                 std::memory_order_relaxed);
  }
  void set(std::int64_t v) const {
    slot_->store(static_cast<std::uint64_t>(v), std::memory_order_relaxed);
  }
  std::int64_t value() const {
    return static_cast<std::int64_t>(slot_->load(std::memory_order_relaxed));
  }

 private:
  std::atomic<std::uint64_t>* slot_ = nullptr;
};

enum class MetricKind : std::uint8_t { counter, gauge };

// One metric as /metrics shows it, summed over workers: what Context::metrics() lists.
struct MetricSample {
  std::string name;
  std::string help;
  MetricKind kind;
  Labels labels;
  std::int64_t value;  // counters are reported as their (non-negative) sum
};

}  // namespace waygate
