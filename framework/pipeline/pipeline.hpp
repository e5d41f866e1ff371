// A running line of stages and the executor that moves bursts along it. A burst leaving stage i
// outbound visits i+1, i+2, ... while any packet is left; inbound, i-1, i-2, .... A stage's replies
// travel back from where it stands. What passes the last stage in its direction was consumed by
// nobody: it is dropped as "end_of_pipeline". Nothing here allocates per packet.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "host_config.hpp"
#include "loader.hpp"
#include "plugin_catalog.hpp"
#include "stage_context.hpp"

namespace waygate {

// What the stages' contexts are made of: one worker's counters, timers, buffers and I/O.
struct StageResources {
  CounterRegistry& registry;
  unsigned worker;
  TimerQueue& timers;
  Pool& pool;
  Crew& crew;
  std::function<Io&(std::uint32_t stage)> io;
  std::function<std::unique_ptr<Logger>(const std::string& stage)> logger;
};

class Pipeline {
 public:
  // Creates and configures every stage; throws ConfigError (naming the stage and key) or
  // LoadError. Nothing is started, so this also serves to validate a config.
  Pipeline(const HostConfig& config, PluginCatalog& catalog, StageResources resources);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();  // in order; if one throws, those already started are stopped again
  void stop();   // in reverse order
  // Configures the running stages again from a config of the same shape (see same_shape()).
  void reconfigure(const HostConfig& config);

  // A completion for the stage that queued it. What the stage passes on is held until flush().
  void on_io(std::uint32_t stage, const Completion& completion);
  // Tells the stages that had completions that the turn is over (Plugin::flush), then runs
  // everything they produced.
  void flush();
  // A request for an endpoint a stage serves (see waygate/api.hpp); nullopt if none does.
  std::optional<Response> handle(Listener listener, const Request& request) const {
    return endpoints_.handle(listener, request);
  }

  std::size_t size() const { return stages_.size(); }

 private:
  struct Stage;
  struct Sink;
  void run(std::size_t from, Burst& burst);
  void drop_all(Burst& burst, Drop why);

  Pool& pool_;
  DropLedger& ledger_;  // the worker's: drops by socket and identity
  Endpoints endpoints_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<std::uint32_t> touched_;  // stages that had completions since the last flush()
  int depth_ = 0;
  bool started_ = false;
};

}  // namespace waygate
