#include "pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "drop_ledger.hpp"

namespace waygate {

namespace {

// Prometheus metric names allow [a-zA-Z0-9_:]; plugin names may hold '-' ("port-filter").
std::string metric_prefix(std::string_view plugin) {
  std::string out = "waygate_";
  for (char c : plugin) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out + "_";
}

// Replies can bounce; a burst nested deeper than this is a loop between stages, not traffic.
constexpr int kMaxDepth = 16;

// Calls into a plugin's configure() or start(). What a plugin throws is made of its own code (the
// type's virtual table lives in its library), so it must not travel beyond the call: once the
// library is unloaded, reading or destroying it would jump into unmapped memory. It leaves as the
// host's own exception with the text copied: a ConfigError stays one, anything else is a
// runtime_error.
template <typename Call>
void into_plugin(std::string_view stage, Call&& call) {
  try {
    call();
  } catch (const ConfigError& e) {
    throw ConfigError(e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what());
  } catch (...) {
    throw std::runtime_error(fmt::format("stage '{}': the plugin threw something that is not an exception", stage));
  }
}
}  // namespace

struct Pipeline::Sink final : BurstSink {
  Sink(Pipeline& p, std::size_t at) : pipeline(&p), index(at) {}
  void flush(Burst& burst) override {
    pipeline->run(index, burst);
    burst.clear();
  }
  void dropped(const Packet& p, Drop why) override {
    pipeline->ledger_.count(p, why);
    if (pipeline->watched()) pipeline->watch_dropped(p, why);
  }
  Pipeline* pipeline;  // where the stage stands: a reload may carry it into another pipeline
  std::size_t index;
};

struct Pipeline::Stage {
  std::string name;
  std::optional<Config> settings;  // its [[stage]] table, to tell whether a reload changed it
  std::uint32_t owner = 0;  // its Io's completions come back under this number
  std::unique_ptr<Logger> logger;
  std::unique_ptr<StageContext> context;
  PluginInstance instance;
  std::unique_ptr<Sink> sink;
  std::unique_ptr<Output> io_out;  // what on_io() passes, until flush()
  Drop end_of_pipeline;
  Drop loop;
  bool started = false;
  bool touched = false;  // in touched_
};

Pipeline::Pipeline(const HostConfig& config, PluginCatalog& catalog, StageResources res,
                   const Pipeline* carry_from)
    : pool_(res.pool), watch_(res.watch), ledger_(res.registry.drop_ledger(res.worker)) {
  const std::size_t n = config.stages.size();
  // New stages take owner numbers no stage of the running pipeline has: its stages still run
  // while these are made, and the carried ones keep theirs.
  std::vector<std::uint32_t> owners;
  if (carry_from != nullptr)
    for (auto& s : carry_from->stages_) owners.push_back(s->owner);
  auto fresh_owner = [&] {
    std::uint32_t o = 0;
    while (std::find(owners.begin(), owners.end(), o) != owners.end()) ++o;
    owners.push_back(o);
    return o;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const StageSpec& spec = config.stages[i];
    std::shared_ptr<PluginLibrary> library;
    try {
      library = catalog.find(spec.plugin, config.plugin_path);
    } catch (const LoadError& e) {
      spec.table.fail("plugin", e.what());
    }
    if (carry_from != nullptr) {
      auto& old = carry_from->stages_;
      auto same = std::find_if(old.begin(), old.end(), [&](const std::unique_ptr<Stage>& s) {
        return s->name == spec.name && s->instance.library == library && s->settings->same_as(spec.table);
      });
      if (same != old.end()) {
        carry_.emplace_back(i, static_cast<std::size_t>(same - old.begin()));
        stages_.push_back(nullptr);
        continue;
      }
    }
    auto stage = std::make_unique<Stage>();
    stage->name = spec.name;
    stage->settings = spec.table;
    stage->owner = carry_from != nullptr ? fresh_owner() : static_cast<std::uint32_t>(i);
    stage->instance.library = std::move(library);
    const PluginInfo& info = stage->instance.library->info();
    if (config.workers > 1 && !info.per_worker)
      spec.table.fail("plugin", fmt::format("'{}' runs on one worker only, and [host] workers = {}: run one, or "
                                            "leave this stage out", spec.plugin, config.workers));
    stage->logger = res.logger(spec.name);
    stage->context = std::make_unique<StageContext>(
        spec.name, MetricNaming{metric_prefix(info.name), "waygate_drops_total", true},
        res.registry, res.worker, res.timers, res.pool, res.io(stage->owner), res.crew, *stage->logger);
    stage->context->set_directory(config.directory);
    stage->context->set_connector(config.connector);
    stage->context->set_endpoints(&endpoints_);
    stage->context->set_handover(res.handover);
    into_plugin(spec.name, [&] {
      stage->instance.plugin.reset(info.create(*stage->context));
      stage->instance.plugin->configure(spec.table);
    });
    spec.table.complete();
    stage->sink = std::make_unique<Sink>(*this, i);
    stage->end_of_pipeline = stage->context->drop_reason("end_of_pipeline");
    stage->loop = stage->context->drop_reason("reply_loop");
    stages_.push_back(std::move(stage));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (stages_[i] != nullptr) place(i);  // the carried ones once take_over() brings them
  touched_.reserve(n);
}

Pipeline::~Pipeline() { stop(); }

void Pipeline::place(std::size_t at) {
  Stage& s = *stages_[at];
  s.sink->pipeline = this;
  s.sink->index = at;
  // An edge's received packets travel away from it: inward from the last stage, outward otherwise.
  const std::size_t n = stages_.size();
  Direction away = (at + 1 == n && n > 1) ? Direction::inbound : Direction::outbound;
  s.io_out = std::make_unique<Output>(away, pool_, *s.sink);
  s.context->set_position(static_cast<std::uint32_t>(at));
  if (position_.size() <= s.owner) position_.resize(s.owner + 1, kNoId);
  position_[s.owner] = static_cast<std::uint32_t>(at);
}

std::string Pipeline::take_over(Pipeline& previous, const HostConfig& config) {
  std::vector<bool> moving(previous.stages_.size(), false);
  for (auto& [at, from] : carry_) moving[from] = true;
  previous.halt(moving);
  std::string refused;
  for (auto& [at, from] : carry_) {
    stages_[at] = std::move(previous.stages_[from]);
    Stage& s = *stages_[at];
    previous.position_[s.owner] = kNoId;
    place(at);
    endpoints_.take_stage(previous.endpoints_, s.name);
    s.context->set_endpoints(&endpoints_);
    // The same settings; the directory is the new file's, as a reload of the same shape gives it.
    s.context->set_directory(config.directory);
    s.settings = config.stages[at].table;
    try {
      into_plugin(s.name, [&] { s.instance.plugin->configure(config.stages[at].table); });
      config.stages[at].table.complete();
    } catch (const std::exception& e) {
      refused += (refused.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  carry_.clear();
  previous.started_ = false;
  return refused;
}

void Pipeline::start() {
  for (auto& s : stages_) {
    if (s->started) continue;  // carried over, running
    try {
      into_plugin(s->name, [&] { s->instance.plugin->start(); });
      s->started = true;
    } catch (...) {
      stop();
      throw;
    }
  }
  started_ = true;
}

void Pipeline::stop() {
  halt(std::vector<bool>(stages_.size(), false));
  started_ = false;
}

void Pipeline::halt(const std::vector<bool>& keep) {
  for (std::size_t i = stages_.size(); i-- > 0;) {
    if (stages_[i] == nullptr || keep[i] || !stages_[i]->started) continue;
    Stage& s = *stages_[i];
    s.started = false;
    endpoints_.remove_stage(s.name);
    try {
      s.instance.plugin->stop();
    } catch (const std::exception& e) {
      s.logger->error("stop failed: {}", e.what());
    }
  }
  // Whatever on_io() produced and nobody ran goes back to the pool (the worker calls this between
  // turns, when nothing is held; kept stages hold nothing either).
  for (auto& s : stages_) {
    if (s == nullptr) continue;
    for (Burst* b : {&s->io_out->passed(), &s->io_out->replies()}) {
      for (Packet* p : *b) pool_.free(p);
      b->clear();
    }
  }
  for (std::uint32_t i : touched_)
    if (stages_[i] != nullptr) stages_[i]->touched = false;
  touched_.clear();
}

void Pipeline::reconfigure(const HostConfig& config) {
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    stages_[i]->context->set_directory(config.directory);
    into_plugin(stages_[i]->name, [&] { stages_[i]->instance.plugin->configure(config.stages[i].table); });
    config.stages[i].table.complete();
  }
}

void Pipeline::drop_all(Burst& burst, Drop why) {
  const bool watching = watched();
  for (Packet* p : burst) {
    why.add();
    ledger_.count(*p, why);
    if (watching) watch_dropped(*p, why);
    pool_.free(p);
  }
  burst.clear();
}

void Pipeline::tap(std::size_t at, const Burst& burst) {
  if (burst.empty()) return;
  if (burst.direction() == Direction::outbound) watch_->taps.offer(stages_[at]->name, burst);
  else if (at > 0) watch_->taps.offer(stages_[at - 1]->name, burst);
}

void Pipeline::watch_received(std::size_t at, Output& out) {
  if (watch_->tracer.any()) {
    watch_->tracer.received(static_cast<std::uint32_t>(at), out.passed());
    watch_->tracer.received(static_cast<std::uint32_t>(at), out.replies());
  }
  if (watch_->taps.any()) {
    tap(at, out.passed());
    tap(at, out.replies());
  }
}

void Pipeline::watch_entering(std::size_t at, const Burst& burst) {
  if (watch_->tracer.any()) watch_->tracer.entering(static_cast<std::uint32_t>(at), burst);
}

void Pipeline::watch_left(std::size_t at, const Burst& burst, Output& out) {
  if (watch_->tracer.any()) watch_->tracer.left(static_cast<std::uint32_t>(at), burst, out.passed(), out.replies());
  if (watch_->taps.any()) {
    tap(at, out.replies());
    tap(at, out.passed());
  }
}

void Pipeline::watch_dropped(const Packet& p, Drop why) {
  if (watch_->tracer.any()) watch_->tracer.dropped(p, ledger_.reason(why));
}

Gather Pipeline::gather(Listener listener, const std::string& path) const {
  auto [gather, stage] = endpoints_.gather(listener, path);
  if (!gather) return {};
  for (const auto& s : stages_) {
    if (s == nullptr || s->name != stage) continue;
    // Destroyed in reverse: the plugin's function first, then (perhaps) its library.
    struct Held {
      std::shared_ptr<PluginLibrary> library;
      Gather gather;
    };
    auto held = std::make_shared<Held>(Held{s->instance.library, std::move(gather)});
    return [held](std::vector<Response> all) { return held->gather(std::move(all)); };
  }
  return {};
}

std::vector<StageName> Pipeline::stage_names() const {
  std::vector<StageName> out;
  for (const auto& s : stages_) out.push_back({s->name, s->instance.library->info().name});
  return out;
}

void Pipeline::run(std::size_t from, Burst& entering) {
  if (entering.empty()) return;
  Burst burst = entering;
  if (depth_ >= kMaxDepth) {
    drop_all(burst, stages_[from]->loop);
    return;
  }
  ++depth_;
  const Direction d = burst.direction();
  for (Packet* p : burst) p->meta.direction = d;
  std::size_t at = from;
  while (!burst.empty()) {
    const bool more = d == Direction::outbound ? at + 1 < stages_.size() : at > 0;
    if (!more) {
      drop_all(burst, stages_[at]->end_of_pipeline);
      break;
    }
    at = d == Direction::outbound ? at + 1 : at - 1;
    Stage& s = *stages_[at];
    Output out(d, pool_, *s.sink);
    const bool watching = watched();
    if (watching) watch_entering(at, burst);
    s.instance.plugin->process(burst, out);
    if (watching) watch_left(at, burst, out);
    if (!out.replies().empty()) run(at, out.replies());
    burst = out.passed();
  }
  --depth_;
}

void Pipeline::on_io(std::uint32_t owner, const Completion& completion) {
  // Every stage cancels its I/O when it stops, so a completion has its stage here; one that
  // does not (a plugin that forgot) is left alone rather than handed to a stranger.
  const std::uint32_t at = owner < position_.size() ? position_[owner] : kNoId;
  if (at == kNoId) return;
  touch(at);
  Stage& s = *stages_[at];
  s.instance.plugin->on_io(completion, *s.io_out);
}

bool Pipeline::handed(std::uint32_t at, std::size_t name, std::uint32_t tag, Packet* p) {
  if (at >= stages_.size() || stages_[at] == nullptr || std::hash<std::string>{}(stages_[at]->name) != name)
    return false;
  touch(at);
  Stage& s = *stages_[at];
  s.instance.plugin->on_handed(p, tag, *s.io_out);
  return true;
}

void Pipeline::touch(std::uint32_t at) {
  Stage& s = *stages_[at];
  if (s.touched) return;
  s.touched = true;
  touched_.push_back(at);
}

void Pipeline::flush() {
  for (std::uint32_t i : touched_) {
    Stage& s = *stages_[i];
    s.touched = false;
    s.instance.plugin->flush(*s.io_out);
    if (watched()) watch_received(i, *s.io_out);
    run(i, s.io_out->passed());
    s.io_out->passed().clear();
    run(i, s.io_out->replies());
    s.io_out->replies().clear();
  }
  touched_.clear();
}

}  // namespace waygate
