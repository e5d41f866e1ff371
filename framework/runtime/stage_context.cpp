#include "stage_context.hpp"

#include "drop_ledger.hpp"

namespace waygate {

StageContext::StageContext(std::string name, MetricNaming naming, CounterRegistry& registry,
                           unsigned worker, TimerQueue& timers, Pool& pool, Io& io, Crew& crew,
                           Logger& logger)
    : name_(std::move(name)),
      naming_(std::move(naming)),
      registry_(registry),
      worker_(worker),
      timers_(timers),
      pool_(pool),
      io_(io),
      crew_(crew),
      logger_(logger) {}

std::atomic<std::uint64_t>* StageContext::slot(std::string_view name, std::string_view help,
                                               MetricKind kind, const Labels& labels) {
  Labels all;
  if (naming_.stage_label) all.emplace_back("stage", name_);
  all.insert(all.end(), labels.begin(), labels.end());
  return registry_.slot(naming_.prefix + std::string(name), help, kind, all, worker_);
}

Counter StageContext::counter(std::string_view name, std::string_view help, const Labels& labels) {
  return Counter(slot(name, help, MetricKind::counter, labels));
}

Gauge StageContext::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  return Gauge(slot(name, help, MetricKind::gauge, labels));
}

std::chrono::system_clock::time_point StageContext::wall() const {
  if (fake_epoch_)
    return *fake_epoch_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(timers_.now());
  return std::chrono::system_clock::now();
}

Drop StageContext::drop_reason(std::string_view reason) {
  Labels labels;
  if (naming_.stage_label) labels.emplace_back("stage", name_);
  labels.emplace_back("reason", std::string(reason));
  Drop drop(registry_.slot(naming_.drops, "Packets dropped, by stage and reason", MetricKind::counter,
                           labels, worker_));
  // The ledger's metrics take the same prefix: "waygate_drops_total" -> "waygate_".
  std::string prefix = naming_.drops.substr(0, naming_.drops.rfind("drops_total"));
  registry_.drop_ledger(worker_).add_reason(drop, prefix, labels);
  return drop;
}

bool StageContext::hand_over(unsigned to, Packet* p, std::uint32_t tag) {
  if (handover_ == nullptr || !handover_->post(worker_, to, position_, std::hash<std::string>{}(name_), tag, *p))
    return false;
  pool_.free(p);
  return true;
}

void StageContext::set_directory(std::shared_ptr<const Directory> d) {
  registry_.drop_ledger(worker_).set_directory(d);
  directory_ = std::move(d);
}

}  // namespace waygate
