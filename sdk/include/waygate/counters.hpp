// Counters that the hot path bumps with no lock, no allocation and no shared cache line: each
// worker's pipeline gets its own slot for every counter, and readers (metrics, stats, tests) sum
// the slots. A plugin declares its counters once, at construction or configure time, through its
// Context; declaring the same name and labels again returns the same counter, so reload is safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
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

class DropLedger;  // drops by socket and identity (the SDK's src/drop_ledger.hpp)

// Every counter of one process. Registration takes a lock (configure time only); the slots it
// hands out never move, so the hot path holds plain pointers.
class CounterRegistry {
 public:
  struct Sample {
    std::string name;
    std::string help;
    MetricKind kind;
    Labels labels;
    std::int64_t value;  // counters are reported as their (non-negative) sum
  };

  explicit CounterRegistry(unsigned workers = 1);
  ~CounterRegistry();
  CounterRegistry(const CounterRegistry&) = delete;
  CounterRegistry& operator=(const CounterRegistry&) = delete;

  // The slot of `worker` for the metric with this name and labels, created on first use.
  // Throws std::invalid_argument if the name was registered with another kind.
  std::atomic<std::uint64_t>* slot(std::string_view name, std::string_view help, MetricKind kind,
                                   const Labels& labels, unsigned worker);

  // Sum over workers of one metric (0 if unknown).
  std::int64_t value(std::string_view name, const Labels& labels = {}) const;
  // Every metric, summed over workers, in registration order; then the drop ledgers' cells.
  std::vector<Sample> snapshot() const;
  // The ledger of `worker`'s drops by socket and identity, kept as long as the registry.
  DropLedger& drop_ledger(unsigned worker);

 private:
  struct Entry;
  struct Chunk;
  std::atomic<std::uint64_t>* new_slot(unsigned worker);

  mutable std::mutex mutex_;
  unsigned workers_;
  Entry* find(std::string_view name, const Labels& labels) const;

  std::vector<std::unique_ptr<Entry>> entries_;              // in registration order
  // By name and labels (key()), and each name's kind: a registry of ten thousand peers' counters
  // is searched without walking it.
  std::unordered_map<std::string, Entry*> index_;
  std::unordered_map<std::string, MetricKind> kinds_;
  std::vector<std::vector<std::unique_ptr<Chunk>>> chunks_;  // per worker
  std::vector<std::size_t> used_;                            // slots used in each worker's last chunk
  std::vector<std::unique_ptr<DropLedger>> ledgers_;          // per worker
};

}  // namespace waygate
