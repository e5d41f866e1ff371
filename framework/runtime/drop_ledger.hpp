// Drops by whose packets they were. drops_total{stage,reason} says what a stage dropped; the
// ledger says for which socket and which identity, from the dropped packet's metadata (policy
// writes both, the wireguard edge the identity), as socket_drops_total{socket,stage,reason} and
// identity_drops_total{identity,stage,reason}. A packet without either is counted only by reason.
//
// One ledger per worker, kept by the CounterRegistry so counts outlive a pipeline a reload
// replaces. Its cells are a flat array, (sockets + identities) x reasons, sized when a stage
// declares a reason or the directory changes (configure time, on the worker's thread), so the
// packet path does one lookup and one relaxed add. Only cells that counted something are
// reported: a connector with many identities exports no wall of zeros.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "waygate/counters.hpp"
#include "waygate/directory.hpp"
#include "waygate/packet.hpp"

namespace waygate {

class DropLedger {
 public:
  // A reason as StageContext::drop_reason made it: `prefix` begins the metric names ("waygate_"
  // in the host, "" in the rig), `labels` are the drop's own (stage, reason). Again for the same
  // counter: nothing changes.
  void add_reason(Drop drop, const std::string& prefix, const Labels& labels);
  // The sockets and identities the rows are for; counts follow names across a change.
  void set_directory(const std::shared_ptr<const Directory>& directory);

  // The packet path: no lock, no allocation. A reason never declared, or a position beyond the
  // directory (a packet queued across a reload), is not attributed.
  void count(const Packet& p, Drop why) {
    if (p.meta.socket == kNoId && p.meta.identity == kNoId) return;  // nobody's: by reason alone
    const std::uint32_t r = reason_of(why);
    if (r == kNoId) return;
    if (p.meta.socket < sockets_) bump(p.meta.socket * reasons_.size() + r);
    if (p.meta.identity < identities_) bump((sockets_ + p.meta.identity) * reasons_.size() + r);
  }

  // The reason's name ("denied"), for a trace; "" for one never declared. The worker's thread.
  std::string_view reason(Drop why) const;

  // The cells that are not zero, as samples, for CounterRegistry::snapshot().
  void collect(std::vector<MetricSample>& out) const;

 private:
  struct Reason {
    const void* id;
    std::string prefix;
    Labels labels;
  };
  std::uint32_t reason_of(Drop why) const {
    // Few reasons (tens): a scan of contiguous pointers beats a hash map here.
    for (std::uint32_t i = 0; i < ids_.size(); ++i)
      if (ids_[i] == why.id()) return i;
    return kNoId;
  }
  void bump(std::size_t cell) {
    auto& c = cells_[cell];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void resize(std::vector<std::string> sockets, std::vector<std::string> identities);

  mutable std::mutex mutex_;  // collect() against a resize; count() runs where resizes do
  std::vector<const void*> ids_;
  std::vector<Reason> reasons_;
  std::vector<std::string> socket_names_, identity_names_;
  std::shared_ptr<const Directory> directory_;
  std::size_t sockets_ = 0, identities_ = 0;
  std::unique_ptr<std::atomic<std::uint64_t>[]> cells_;
};

}  // namespace waygate
