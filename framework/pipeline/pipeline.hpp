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
#include "watch.hpp"

namespace waygate {

// What the stages' contexts are made of: one worker's counters, timers, buffers and I/O. A stage's
// Io hands its completions back under the stage's owner number, which stays with the stage
// wherever a reload moves it.
struct StageResources {
  CounterRegistry& registry;
  unsigned worker;
  TimerQueue& timers;
  Pool& pool;
  Crew& crew;
  std::function<Io&(std::uint32_t owner)> io;
  std::function<std::unique_ptr<Logger>(const std::string& stage)> logger;
  Watch* watch;  // the worker's captures and traces; null where nothing is watched (a config's validation)
  Handover* handover = nullptr;  // what the workers hand each other; null with one worker
};

class Pipeline {
 public:
  // Creates and configures every stage; throws ConfigError (naming the stage and key) or
  // LoadError. Nothing is started, so this also serves to validate a config.
  // With `carry_from`, a running pipeline: a stage whose name, plugin and settings are the same
  // there is not created again but carried over by take_over(), running, with its state.
  Pipeline(const HostConfig& config, PluginCatalog& catalog, StageResources resources,
           const Pipeline* carry_from = nullptr);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Moves the stages carried from `previous` (the pipeline given to the constructor) into this
  // one, running, configured again for `config`'s directory, and stops the rest of `previous`,
  // last first. Nothing of `previous` runs afterwards. Returns what a carried stage refused of
  // the new directory (it keeps its previous one), "" when nothing.
  std::string take_over(Pipeline& previous, const HostConfig& config);
  std::size_t carried() const { return carry_.size(); }

  void start();  // in order, those not running yet; if one throws, every running one is stopped
  void stop();   // in reverse order
  // Configures the running stages again from a config of the same shape (see same_shape()).
  void reconfigure(const HostConfig& config);

  // A completion for the stage that queued it (its owner number). What the stage passes on is
  // held until flush().
  void on_io(std::uint32_t owner, const Completion& completion);
  // A packet another worker handed to the stage at `at` (whose name hashes to `name`), as
  // Plugin::on_handed gets it; what the stage passes on is held until flush(). False, the packet
  // still the caller's, when no such stage stands there (the other worker's pipeline had another
  // shape when it handed it over).
  bool handed(std::uint32_t at, std::size_t name, std::uint32_t tag, Packet* p);
  // Tells the stages that had completions that the turn is over (Plugin::flush), then runs
  // everything they produced.
  void flush();
  // A request for an endpoint a stage serves (see waygate/api.hpp); nullopt if none does.
  std::optional<Response> handle(Listener listener, const Request& request) const {
    return endpoints_.handle(listener, request);
  }
  // How the answers of every worker to a request make one (api.hpp); empty when the first
  // worker's answer stands alone. It holds the stage's library: it runs on another thread, maybe
  // after a reload took the stage away.
  Gather gather(Listener listener, const std::string& path) const;

  std::size_t size() const { return stages_.size(); }
  std::vector<StageName> stage_names() const;

 private:
  struct Stage;
  struct Sink;
  void run(std::size_t from, Burst& burst);
  void drop_all(Burst& burst, Drop why);
  bool watched() const { return watch_ != nullptr && watch_->any(); }  // the one test per burst
  // While a capture or a trace runs: packets an edge brings in, a burst before and after a stage
  // (`out` is what the stage made of it), a packet dropped.
  void watch_received(std::size_t at, Output& out);
  void watch_entering(std::size_t at, const Burst& burst);
  void watch_left(std::size_t at, const Burst& burst, Output& out);
  void watch_dropped(const Packet& p, Drop why);
  // A burst leaving stage `at` crosses the link after it (outbound) or before it (inbound): the
  // captures on that link see it.
  void tap(std::size_t at, const Burst& burst);
  void halt(const std::vector<bool>& keep);  // stops the running stages not kept, last first
  void place(std::size_t at);                 // binds stage `at` to this pipeline at that position
  void touch(std::uint32_t at);               // stage `at` has something for flush()

  Pool& pool_;
  Watch* watch_;
  DropLedger& ledger_;  // the worker's: drops by socket and identity
  Endpoints endpoints_;
  std::vector<std::unique_ptr<Stage>> stages_;  // null where take_over() is still to bring one
  std::vector<std::pair<std::size_t, std::size_t>> carry_;  // (position here, position in the previous)
  std::vector<std::uint32_t> position_;  // by owner number: the stage's position, or kNoId
  std::vector<std::uint32_t> touched_;  // stages that had completions since the last flush()
  int depth_ = 0;
  bool started_ = false;
};

}  // namespace waygate
