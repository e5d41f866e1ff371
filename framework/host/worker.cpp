#include "worker.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "handover.hpp"
#include "host_logger.hpp"
#include "pipeline.hpp"
#include "watch.hpp"
#include "watch_gather.hpp"
#include "thread_crew.hpp"
#include "uring_loop.hpp"

namespace waygate {

namespace {

// Named for top -H and perf; its crew's threads inherit the priority set here, as they start
// after it (and after the drop of the privilege that allows raising it).
void prepare_thread(const HostConfig& config, unsigned index) {
  ::pthread_setname_np(::pthread_self(), fmt::format("worker {}", index).c_str());
  if (!config.nice) return;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), *config.nice) != 0)
    spdlog::warn("[host] nice = {}: the worker cannot take it ({}); it runs at {}", *config.nice, std::strerror(errno),
                 ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())));
}

}  // namespace

struct Worker::State {
  explicit State(const HostConfig& c)
      : pool(c.buffers, c.buffer_size, c.headroom),
        loop(pool, c.ring_entries, static_cast<unsigned>(c.buffers)),
        timers(UringLoop::clock()),
        crew(c.crypto_threads - 1) {}
  Pool pool;
  UringLoop loop;
  TimerQueue timers;
  ThreadCrew crew;
  Watch watch;  // captures and traces: they outlive a pipeline, not a reload (which ends them)
  std::unique_ptr<Pipeline> pipeline;
};

Worker::Worker(HostConfig config, PluginCatalog& catalog, CounterRegistry& registry, unsigned index,
               Handover* handover)
    : config_(std::move(config)),
      catalog_(catalog),
      registry_(registry),
      index_(index),
      handover_(handover),
      handed_lost_(registry.slot("waygate_handed_over_lost_total",
                                 "Packets another worker handed over that found no buffer or no stage here",
                                 MetricKind::counter, {}, index)) {}

Worker::~Worker() { stop(); }

std::unique_ptr<Pipeline> Worker::build(const HostConfig& config, const Pipeline* carry_from) {
  State& s = *state_;
  return std::make_unique<Pipeline>(
      config, catalog_,
      StageResources{registry_, index_, s.timers, s.pool, s.crew,
                     [&s](std::uint32_t owner) -> Io& { return s.loop.io(owner); },
                     make_stage_logger, &s.watch, handover_},
      carry_from);
}

void Worker::set_up() {
  auto done = set_up_.get_future();
  thread_ = std::thread([this] { run(); });
  try {
    done.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void Worker::go(std::function<void()> after_setup) {
  auto running = running_.get_future();
  went_ = true;
  go_.set_value(std::move(after_setup));
  try {
    running.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  if (!went_) {  // set up, waiting for go()
    went_ = true;
    go_.set_value(std::nullopt);
  }
  stopping_ = true;
  wake();
  thread_.join();
}

void Worker::wake() {
  std::lock_guard lock(loop_mutex_);
  if (loop_ != nullptr) loop_->wake();
}

std::future<std::string> Worker::reload(HostConfig config) {
  std::promise<std::string> done;
  auto result = done.get_future();
  {
    std::lock_guard lock(mailbox_mutex_);
    if (mailbox_) mailbox_->second.set_value("superseded by a newer reload");
    mailbox_.emplace(std::move(config), std::move(done));
  }
  wake();
  return result;
}

std::future<Worker::Answer> Worker::request(Listener listener, Request request) {
  std::promise<Answer> answer;
  auto result = answer.get_future();
  {
    std::lock_guard lock(mailbox_mutex_);
    requests_.push_back({listener, std::move(request), std::move(answer)});
  }
  wake();
  return result;
}

std::future<void> Worker::ping() {
  std::promise<void> pong;
  auto result = pong.get_future();
  {
    std::lock_guard lock(mailbox_mutex_);
    pings_.push_back(std::move(pong));
  }
  wake();
  return result;
}

void Worker::answer_requests() {
  std::vector<PendingRequest> batch;
  std::vector<std::promise<void>> pongs;
  {
    std::lock_guard lock(mailbox_mutex_);
    batch.swap(requests_);
    pongs.swap(pings_);
  }
  for (auto& p : pongs) p.set_value();
  for (auto& r : batch) {
    try {
      if (r.listener == Listener::admin && state_->pipeline)
        if (auto a = state_->watch.handle(r.request, *config_.directory, state_->pipeline->stage_names(),
                                          WatchLimits{config_.capture_seconds, config_.capture_packets})) {
          r.answer.set_value(Answer{std::move(a), gather_watches});
          continue;
        }
      if (!state_->pipeline) {
        r.answer.set_value(Answer{});
        continue;
      }
      r.answer.set_value(Answer{state_->pipeline->handle(r.listener, r.request),
                                state_->pipeline->gather(r.listener, r.request.path)});
    } catch (...) {
      r.answer.set_exception(std::current_exception());
    }
  }
}

void Worker::apply(HostConfig& next, std::promise<std::string>& done) {
  State& s = *state_;
  // How long the worker forwarded nothing, for the log.
  const auto began = std::chrono::steady_clock::now();
  auto paused = [&] { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count(); };
  if (same_shape(config_, next)) {
    try {
      s.pipeline->reconfigure(next);
    } catch (const std::exception& e) {
      // Validated beforehand, so this is a plugin whose configure() is not pure: report it.
      done.set_value(std::string("a stage refused the new config: ") + e.what());
      return;
    }
    config_ = std::move(next);
    s.watch.end_all("the connector reloaded its config");
    spdlog::info("reload: {} stage(s) configured again in place; the worker paused {:.1f} ms", s.pipeline->size(), paused());
    done.set_value("");
    return;
  }
  // Another shape: a new pipeline, into which the stages whose name, plugin and settings did not
  // change move running, with their state (tunnel sessions, NAT sessions, verdicts); the others
  // stop and the new ones start. If a new one cannot start, the old config is built again.
  std::unique_ptr<Pipeline> fresh;
  try {
    fresh = build(next, s.pipeline.get());
  } catch (const std::exception& e) {  // validated beforehand, so a plugin that is not pure
    done.set_value(std::string("the new pipeline cannot be built: ") + e.what());
    return;
  }
  const std::size_t carried = fresh->carried();
  std::string refused = fresh->take_over(*s.pipeline, next);
  s.pipeline.reset();
  try {
    fresh->start();
    s.pipeline = std::move(fresh);
    config_ = std::move(next);
    s.watch.end_all("the connector reloaded its config");
    spdlog::info("reload: {} stage(s) kept running, {} started; the worker paused {:.1f} ms", carried,
                 s.pipeline->size() - carried, paused());
    done.set_value(refused.empty() ? "" : "a stage kept its previous directory: " + refused);
  } catch (const std::exception& e) {
    fresh.reset();
    std::string why = e.what();
    try {
      s.pipeline = build(config_);
      s.pipeline->start();
      done.set_value("the new pipeline did not start: " + why);
    } catch (const std::exception& again) {
      spdlog::critical("neither the new nor the old pipeline starts ({}; {}): stopping", why, again.what());
      stopping_ = true;
      done.set_value("neither the new nor the old pipeline starts: " + why);
    }
  }
}

void Worker::take_handed() {
  State& s = *state_;
  handover_->take(index_, [&](const Handover::Item& item) {
    Packet* p = s.pool.alloc();
    if (p == nullptr || !p->resize(item.bytes.size())) {
      if (p != nullptr) s.pool.free(p);
      handed_lost_.add();
      return;
    }
    std::copy(item.bytes.begin(), item.bytes.end(), p->data());  // empty, it may hold no data() to copy
    p->meta = item.meta;
    if (!s.pipeline || !s.pipeline->handed(item.stage, item.name, item.tag, p)) {
      s.pool.free(p);
      handed_lost_.add();
    }
  });
}

void Worker::run() {
  prepare_thread(config_, index_);
  auto next = go_.get_future();
  try {
    state_ = std::make_unique<State>(config_);
    state_->pipeline = build(config_);
    state_->pipeline->start();
  } catch (...) {
    state_.reset();
    set_up_.set_exception(std::current_exception());
    return;
  }
  set_up_.set_value();
  const std::optional<std::function<void()>> after_setup = next.get();
  try {
    if (!after_setup) throw std::runtime_error("stopped before it ran");
    if (*after_setup) (*after_setup)();
    state_->crew.start();
  } catch (...) {
    state_->pipeline->stop();
    state_.reset();
    if (after_setup) running_.set_exception(std::current_exception());
    return;
  }
  {
    std::lock_guard lock(loop_mutex_);
    loop_ = &state_->loop;
  }
  running_.set_value();

  State& s = *state_;
  bool woken = false;
  auto handle = [&](std::uint32_t owner, const Completion& c) {
    if (owner == UringLoop::kWakeOwner) woken = true;
    else s.pipeline->on_io(owner, c);
  };
  while (!stopping_.load(std::memory_order_relaxed)) {
    s.timers.advance(UringLoop::clock());
    s.loop.wait(s.timers.next_deadline());
    s.loop.drain(handle);
    if (woken && handover_ != nullptr) take_handed();
    if (s.pipeline) s.pipeline->flush();
    if (woken) {
      woken = false;
      std::optional<std::pair<HostConfig, std::promise<std::string>>> job;
      {
        std::lock_guard lock(mailbox_mutex_);
        job.swap(mailbox_);
      }
      if (job) apply(job->first, job->second);
      answer_requests();
    }
    // Whoever this turn handed packets to (its bursts, timers, requests) is woken once.
    if (handover_ != nullptr) handover_->ring(index_);
  }
  {
    std::lock_guard lock(loop_mutex_);
    loop_ = nullptr;
  }
  if (s.pipeline) s.pipeline->stop();
  s.pipeline.reset();
  answer_requests();  // nobody serves them any more
  state_.reset();
}

}  // namespace waygate
