// A worker thread: its own buffer pool, io_uring loop, timers and pipeline, touched by no other
// thread. The control thread talks to it through a mailbox (a new config to apply, or stop) and
// an eventfd that wakes its loop; HTTP requests for endpoints its stages serve arrive the same way.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host_config.hpp"
#include "plugin_catalog.hpp"
#include "waygate/api.hpp"
#include "counter_registry.hpp"

namespace waygate {

class Handover;
class Pipeline;
class UringLoop;

class Worker {
 public:
  // `handover`: what the workers hand each other, with more than one; null with one.
  Worker(HostConfig config, PluginCatalog& catalog, CounterRegistry& registry, unsigned index,
         Handover* handover = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread and waits until its pipeline runs; rethrows what stopped it from starting.
  // `after_setup` runs on the worker thread once the pipeline has started (dropping privileges);
  // if it throws, the pipeline is stopped and start() rethrows.
  void start(std::function<void()> after_setup = {}) {
    set_up();
    go(std::move(after_setup));
  }
  // start() in two steps, for several workers: set_up() starts the thread and waits until its
  // pipeline has started, the thread then waiting for go() to run `after_setup` and its loop.
  // Every worker is set up before any drops its privileges, in order of their indices (the
  // order their tunnel sockets join their port's group).
  void set_up();
  void go(std::function<void()> after_setup = {});
  void stop();
  // Turns its loop at once, from any thread.
  void wake();
  // Applies an already validated config between two bursts. The future holds "" on success, or
  // why the worker kept its running config.
  std::future<std::string> reload(HostConfig config);
  // What a worker answers a request with (nullopt: no stage serves its path), and, where the
  // endpoint gathers every worker's answer (api.hpp), how.
  struct Answer {
    std::optional<Response> response;
    Gather gather;
  };
  // Hands an HTTP request to the stage serving its path, between two bursts.
  std::future<Answer> request(Listener listener, Request request);
  // Ready once the worker's loop has turned: the watchdog's proof that it is not stuck.
  std::future<void> ping();

 private:
  void run();
  // Puts what other workers handed over into its pipeline (Pipeline::handed).
  void take_handed();
  void apply(HostConfig& next, std::promise<std::string>& done);
  void answer_requests();
  std::unique_ptr<Pipeline> build(const HostConfig& config, const Pipeline* carry_from = nullptr);

  HostConfig config_;
  PluginCatalog& catalog_;
  CounterRegistry& registry_;
  unsigned index_;
  Handover* handover_;
  Counter handed_lost_;  // handed over, but no buffer or no such stage here
  std::thread thread_;
  std::promise<void> set_up_;
  std::promise<std::optional<std::function<void()>>> go_;  // nullopt: stop before running
  std::promise<void> running_;
  bool went_ = false;
  std::atomic<bool> stopping_{false};

  std::mutex mailbox_mutex_;
  std::optional<std::pair<HostConfig, std::promise<std::string>>> mailbox_;
  struct PendingRequest {
    Listener listener;
    Request request;
    std::promise<Answer> answer;
  };
  std::vector<PendingRequest> requests_;
  std::vector<std::promise<void>> pings_;

  // Owned and used by the worker thread only (created there: an io_uring with a single issuer
  // belongs to the thread that made it).
  struct State;
  std::unique_ptr<State> state_;
  UringLoop* loop_ = nullptr;  // for wake-ups from other threads
  std::mutex loop_mutex_;
};

}  // namespace waygate
