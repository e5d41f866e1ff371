// The registry behind every Counter of one process: the host's (and the test rig's), not part of
// the plugin contract, which sees counters through its Context only.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "waygate/counters.hpp"

namespace waygate {

class DropLedger;  // drops by socket and identity (drop_ledger.hpp)

// Every counter of one process. Registration takes a lock (configure time only); the slots it
// hands out never move, so the hot path holds plain pointers.
class CounterRegistry {
 public:
  using Sample = MetricSample;

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
  // What one worker counted of it (the drop ledgers' cells: every worker's sum).
  std::int64_t value(unsigned worker, std::string_view name, const Labels& labels = {}) const;
  // Every metric, summed over workers, in registration order; then the drop ledgers' cells.
  std::vector<Sample> snapshot() const;
  // The ledger of `worker`'s drops by socket and identity, kept as long as the registry.
  DropLedger& drop_ledger(unsigned worker);

 private:
  struct Metric;
  struct Entry;
  struct Chunk;
  std::atomic<std::uint64_t>* new_slot(unsigned worker);

  mutable std::mutex mutex_;
  unsigned workers_;
  Entry* find(std::string_view name, const Labels& labels) const;

  std::vector<std::unique_ptr<Entry>> entries_;              // in registration order
  // By name and labels (key()): a registry of ten thousand peers' counters
  // is searched without walking it.
  std::unordered_map<std::string, Entry*> index_;
  // Each name's kind and help, kept once for all its series (three counters of each of ten
  // thousand peers would otherwise copy them thirty thousand times).
  std::unordered_map<std::string, std::unique_ptr<Metric>> metrics_;
  std::vector<std::vector<std::unique_ptr<Chunk>>> chunks_;  // per worker
  std::vector<std::size_t> used_;                            // slots used in each worker's last chunk
  std::vector<std::unique_ptr<DropLedger>> ledgers_;          // per worker
};

}  // namespace waygate
