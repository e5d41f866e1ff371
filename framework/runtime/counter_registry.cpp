#include "counter_registry.hpp"

#include <array>
#include <map>
#include <stdexcept>

#include "drop_ledger.hpp"

namespace waygate {

// Slots come in chunks per worker, so that one worker's counters share cache lines only with each
// other and a chunk never moves once handed out.
struct CounterRegistry::Chunk {
  static constexpr std::size_t kSlots = 512;
  alignas(64) std::array<std::atomic<std::uint64_t>, kSlots> slots{};
};

struct CounterRegistry::Metric {
  std::string name;
  std::string help;
  MetricKind kind;
};

struct CounterRegistry::Entry {
  const Metric* metric;
  Labels labels;
  std::vector<std::atomic<std::uint64_t>*> slots;  // one per worker, created on demand
};

CounterRegistry::CounterRegistry(unsigned workers)
    : workers_(workers == 0 ? 1 : workers), chunks_(workers_), used_(workers_, Chunk::kSlots) {
  for (unsigned w = 0; w < workers_; ++w) ledgers_.push_back(std::make_unique<DropLedger>());
}

DropLedger& CounterRegistry::drop_ledger(unsigned worker) {
  if (worker >= workers_) throw std::out_of_range("counter registry: no such worker");
  return *ledgers_[worker];
}

CounterRegistry::~CounterRegistry() = default;

std::atomic<std::uint64_t>* CounterRegistry::new_slot(unsigned worker) {
  if (used_[worker] == Chunk::kSlots) {
    chunks_[worker].push_back(std::make_unique<Chunk>());
    used_[worker] = 0;
  }
  return &chunks_[worker].back()->slots[used_[worker]++];
}

namespace {
// A metric's name and labels as one string: no name or label holds a NUL.
std::string key(std::string_view name, const Labels& labels) {
  std::string k(name);
  for (const auto& [label, value] : labels) {
    k += '\0';
    k += label;
    k += '\0';
    k += value;
  }
  return k;
}
}  // namespace

CounterRegistry::Entry* CounterRegistry::find(std::string_view name, const Labels& labels) const {
  auto found = index_.find(key(name, labels));
  return found == index_.end() ? nullptr : found->second;
}

std::atomic<std::uint64_t>* CounterRegistry::slot(std::string_view name, std::string_view help,
                                                  MetricKind kind, const Labels& labels,
                                                  unsigned worker) {
  if (worker >= workers_) throw std::out_of_range("counter registry: no such worker");
  std::lock_guard lock(mutex_);
  auto& metric = metrics_[std::string(name)];
  if (!metric) metric = std::make_unique<Metric>(Metric{std::string(name), std::string(help), kind});
  if (metric->kind != kind)
    throw std::invalid_argument("metric '" + std::string(name) + "' registered with two kinds");
  Entry*& entry = index_[key(name, labels)];
  if (entry == nullptr) {
    entries_.push_back(std::make_unique<Entry>(Entry{metric.get(), labels, std::vector<std::atomic<std::uint64_t>*>(workers_)}));
    entry = entries_.back().get();
  }
  if (entry->slots[worker] == nullptr) entry->slots[worker] = new_slot(worker);
  return entry->slots[worker];
}

namespace {
std::int64_t sum(const std::vector<std::atomic<std::uint64_t>*>& slots) {
  std::uint64_t total = 0;
  for (auto* s : slots)
    if (s != nullptr) total += s->load(std::memory_order_relaxed);
  return static_cast<std::int64_t>(total);
}
}  // namespace

std::int64_t CounterRegistry::value(std::string_view name, const Labels& labels) const {
  {
    std::lock_guard lock(mutex_);
    if (const Entry* e = find(name, labels)) return sum(e->slots);
  }
  for (auto& s : snapshot())
    if (s.name == name && s.labels == labels) return s.value;
  return 0;
}

std::int64_t CounterRegistry::value(unsigned worker, std::string_view name, const Labels& labels) const {
  {
    std::lock_guard lock(mutex_);
    if (const Entry* e = find(name, labels)) {
      auto* slot = worker < e->slots.size() ? e->slots[worker] : nullptr;
      return slot == nullptr ? 0 : static_cast<std::int64_t>(slot->load(std::memory_order_relaxed));
    }
  }
  return value(name, labels);
}

std::vector<CounterRegistry::Sample> CounterRegistry::snapshot() const {
  std::vector<Sample> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(entries_.size());
    for (auto& e : entries_) out.push_back({e->metric->name, e->metric->help, e->metric->kind, e->labels, sum(e->slots)});
  }
  // Each worker's ledger reports its own cells; the same series from two workers is one sum.
  std::vector<Sample> cells;
  for (auto& l : ledgers_) l->collect(cells);
  std::map<std::pair<std::string, Labels>, std::size_t> at;
  for (auto& c : cells) {
    auto [it, fresh] = at.try_emplace({c.name, c.labels}, out.size());
    if (fresh) out.push_back(std::move(c));
    else out[it->second].value += c.value;
  }
  return out;
}

}  // namespace waygate
