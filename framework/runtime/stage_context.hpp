// The one implementation of Context, shared by the host and the test rig: they differ only in
// the clock behind the TimerQueue, the Io, the Crew, the Logger and how metric names are spelled.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "counter_registry.hpp"
#include "endpoints.hpp"
#include "handover.hpp"
#include "waygate/context.hpp"

namespace waygate {

struct MetricNaming {
  std::string prefix;       // "waygate_tun_" in the host, "" in the rig
  std::string drops;        // one metric for every plugin's drops: "waygate_drops_total"
  bool stage_label = true;  // add stage="<name>" to every metric
};

class StageContext final : public Context {
 public:
  StageContext(std::string name, MetricNaming naming, CounterRegistry& registry, unsigned worker,
               TimerQueue& timers, Pool& pool, Io& io, Crew& crew, Logger& logger);

  std::string_view name() const override { return name_; }
  std::string_view connector() const override { return connector_; }
  void set_connector(std::string name) { connector_ = std::move(name); }
  Counter counter(std::string_view name, std::string_view help, const Labels& labels) override;
  Gauge gauge(std::string_view name, std::string_view help, const Labels& labels) override;
  Drop drop_reason(std::string_view reason) override;
  Timer timer(std::function<void()> fire) override { return timers_.create(std::move(fire)); }
  Time now() const override { return timers_.now(); }
  std::chrono::system_clock::time_point wall() const override;
  // Makes wall() `epoch` plus the timer queue's time: the test rig's fake calendar.
  void fake_wall_clock(std::chrono::system_clock::time_point epoch) { fake_epoch_ = epoch; }
  Logger& log() override { return logger_; }
  Pool& pool() override { return pool_; }
  Io& io() override { return io_; }
  Crew& crew() override { return crew_; }
  std::vector<MetricSample> metrics() const override { return registry_.snapshot(); }
  std::shared_ptr<const Directory> directory() const override { return directory_; }
  // Also sizes the worker's drop ledger for the directory's sockets and identities.
  void set_directory(std::shared_ptr<const Directory> d);
  using Context::serve;
  void serve(Listener listener, std::string_view path, Handler handler, Gather gather) override {
    if (endpoints_ != nullptr) endpoints_->add(listener, std::string(path), name_, std::move(handler), std::move(gather));
  }
  // Where serve() registers; without one (a throw-away instance) endpoints are ignored.
  void set_endpoints(Endpoints* e) { endpoints_ = e; }
  unsigned workers() const override { return handover_ != nullptr ? handover_->workers() : 1; }
  unsigned worker() const override { return worker_; }
  bool hand_over(unsigned to, Packet* p, std::uint32_t tag) override;
  // The workers' shared inbox (none: one worker), and where the stage stands in its pipeline,
  // which is where its instance on the receiving worker stands too.
  void set_handover(Handover* h) { handover_ = h; }
  void set_position(std::uint32_t at) { position_ = at; }

 private:
  std::atomic<std::uint64_t>* slot(std::string_view name, std::string_view help, MetricKind kind,
                                   const Labels& labels);
  std::string name_;
  std::string connector_ = "rig";
  MetricNaming naming_;
  CounterRegistry& registry_;
  unsigned worker_;
  TimerQueue& timers_;
  Pool& pool_;
  Io& io_;
  Crew& crew_;
  Logger& logger_;
  std::optional<std::chrono::system_clock::time_point> fake_epoch_;
  std::shared_ptr<const Directory> directory_ = std::make_shared<const Directory>();
  Endpoints* endpoints_ = nullptr;
  Handover* handover_ = nullptr;
  std::uint32_t position_ = 0;
};

}  // namespace waygate
