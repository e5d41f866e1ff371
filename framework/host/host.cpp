#include "host.hpp"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include <csignal>

#include "connector_lease.hpp"
#include "control_plane.hpp"
#include "etcd_directory.hpp"
#include "etcd_socket.hpp"
#include "etcd_watch.hpp"
#include "handover.hpp"
#include "host_config.hpp"
#include "host_logger.hpp"
#include "metrics_text.hpp"
#include "pipeline.hpp"
#include "socket_file.hpp"
#include "plugin_catalog.hpp"
#include "privileges.hpp"
#include "scratch.hpp"
#include "service_manager.hpp"
#include "watch_audit.hpp"
#include "worker.hpp"
#include "waygate/metric_names.hpp"
#include "waygate/utc.hpp"

namespace waygate {

namespace {

// Builds the whole pipeline (plugins loaded, every stage configured) without starting it, as the
// first of its workers: a stage's settings may depend on how many there are.
void validate(const HostConfig& config, PluginCatalog& catalog) {
  Scratch scratch;
  std::optional<Handover> handover;
  if (config.workers > 1) handover.emplace(config.workers);
  Pipeline pipeline(config, catalog,
                    StageResources{scratch.registry, 0, scratch.timers, scratch.pool, scratch.crew,
                                   [&](std::uint32_t) -> Io& { return scratch.io; },
                                   make_stage_logger, nullptr, handover ? &*handover : nullptr});
}

// Pool addresses handed out are recorded so each identity keeps its own across restarts.
void keep_assignments(const HostConfig& config) {
  try {
    write_assignments(config.state_dir, config.directory->assigned);
  } catch (const std::exception& e) {
    spdlog::error("cannot record the overlay addresses in {}: {}", config.state_dir, e.what());
  }
}

// The directory's warnings (a group nobody is in, say), logged whenever a file is taken in.
void log_warnings(const HostConfig& config) {
  for (auto& w : config.directory->warnings) spdlog::warn("{}", w);
}

HostConfig with_cli_path(HostConfig config, const HostOptions& options) {
  config.plugin_path.insert(config.plugin_path.begin(), options.plugin_path.begin(),
                            options.plugin_path.end());
  return config;
}

// The file, and the directory wherever it lives (the file, or etcd and the copy kept of it).
HostConfig load(const HostOptions& options, bool record_keys = false, Claims claims = Claims::make) {
  HostConfig config = with_cli_path(load_host_config(options.config, record_keys), options);
  load_directory(config, nullptr, claims);
  return config;
}

// One line per key read, tab-separated: where it is documented ("plugin NAME" for a stage's
// tables, else its table: "host", "stage", "socket", ...), its table, the key, its type and default.
// Each once, though every identity's table (say) is read.
void print_keys(const HostConfig& config) {
  if (config.stages.empty()) return;
  std::set<std::string> printed;
  for (const KeyUse& k : config.stages.front().table.asked()) {
    std::string section = k.table.empty() ? "top" : k.table.substr(0, k.table.find('.'));
    for (const StageSpec& s : config.stages)
      if (k.context == "stage '" + s.name + "'") section = "plugin " + s.plugin;
    std::string line = fmt::format("{}\t{}\t{}\t{}\t{}\n", section, k.table, k.key, k.type, k.fallback);
    if (printed.insert(line).second) fmt::print("{}", line);
  }
}

// What this connector says of itself in etcd: its tunnel (as the tunnel stage's metric says it),
// and its load as the stages count it.
Registration describe(const HostConfig& config, const CounterRegistry& registry, std::int64_t revision,
                      const std::string& since) {
  Registration r{config.etcd->connector, "", "", config.admin, WAYGATE_VERSION, revision, 0, 0, since};
  for (const MetricSample& m : registry.snapshot()) {
    if (metric::is(m.name, metric::kTunnelInfo) && m.value == 1) {
      for (auto& [label, value] : m.labels) {
        if (label == "public_key") r.public_key = value;
        if (label == "endpoint") r.endpoint = value;
      }
    }
    if (metric::is(m.name, metric::kSocketClients)) r.clients += m.value;
    if (metric::is(m.name, metric::kSocketSessions)) r.sessions += m.value;
  }
  return r;
}

}  // namespace

int check_config(const HostOptions& options, PluginCatalog& catalog) {
  try {
    HostConfig config = load(options, options.keys, Claims::none);
    validate(config, catalog);
    for (auto& w : config.directory->warnings) fmt::print(stderr, "warning: {}\n", w);
    if (options.keys) {
      print_keys(config);
      return 0;
    }
    fmt::print("{}: ok, {} stage(s)\n", options.config, config.stages.size());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
}

int run_host(const HostOptions& options, PluginCatalog& catalog) {
  HostConfig config;
  try {
    config = load(options);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  set_log_level(config.log_level);
  log_warnings(config);

  CounterRegistry registry(config.workers);
  // Recorded (and the state folder made, where stages may keep files too) before anything runs.
  // A state folder this start makes is handed to [host] user; one that was there stays as it is.
  const bool made_state_dir = !config.state_dir.empty() && !std::filesystem::exists(config.state_dir);
  keep_assignments(config);
  std::unique_ptr<WatchAudit> audit;  // opened as root, in the state folder perhaps made just now
  try {
    audit = std::make_unique<WatchAudit>(config.audit_log, !config.admin_token.empty());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  // With more than one worker, each runs the whole pipeline; packets steered to the wrong one
  // are handed over (handover.hpp).
  std::optional<Handover> handover;
  if (config.workers > 1) handover.emplace(config.workers);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < config.workers; ++i) {
    workers.push_back(std::make_unique<Worker>(config, catalog, registry, i, handover ? &*handover : nullptr));
    if (handover) handover->set_bell(i, [w = workers.back().get()] { w->wake(); });
  }
  Worker& first = *workers.front();  // serves the stages' endpoints and the captures
  try {
    keep_capabilities_across_user_change(config);
    // Set up as root; run as the configured user with only the capabilities the stages still
    // need (on each worker's thread, and then on this one once the control plane's ring and
    // listeners exist: hooks.ready below). The first worker changes the user for the process;
    // the others, set up and waiting, keep their capabilities through it (keepcaps) to restrict.
    for (auto& w : workers) w->set_up();
    for (auto& w : workers)
      w->go([&, change_user = w.get() == &first] {
        if (change_user) become_user(config, made_state_dir);
        restrict_thread(config);
      });
    // Reading the file and building the stages' tables freed more than the pipeline keeps (ten
    // thousand identities parsed: tens of MiB); glibc keeps freed memory unless asked to return it.
    ::malloc_trim(0);
    if (!config.user.empty() && !config.state_dir.empty() && ::access(config.state_dir.c_str(), W_OK) != 0)
      spdlog::warn("the state folder {} is not writable by user {}: what is recorded there after a reload will fail",
                   config.state_dir, config.user);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  ControlHooks hooks;
  hooks.metrics = [&] { return prometheus_text(registry); };
  hooks.admin_token = config.admin_token;
  // SIGHUP and the portal's new socket apply a validated file the same way; "" when applied, else
  // why not.
  auto apply = [&](const HostConfig& next) -> std::string {
    if (next.workers != config.workers)
      return fmt::format("[host] workers changes from {} to {} only with a restart", config.workers, next.workers);
    try {
      std::vector<std::future<std::string>> results;
      for (auto& w : workers) results.push_back(w->reload(next));
      // Validated, so each worker takes it; one that does not keeps its previous pipeline.
      std::string why;
      for (auto& result : results) {
        if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) why = "a worker did not answer in time";
        else if (std::string w = result.get(); !w.empty() && why.empty()) why = w;
      }
      if (!why.empty()) return why;
      set_log_level(next.log_level);
      keep_assignments(next);
      return "";
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  // The directory in etcd as the watch keeps it (started below, once the rest is ready).
  std::optional<DirectoryWatch> watch;
  // What runs now, for the directory's status in etcd and the copy kept of it; its revision for
  // the registration's thread too.
  HostConfig running = config;
  std::atomic<std::int64_t> running_revision = config.directory_revision;
  hooks.reload = [&] {
    spdlog::info("SIGHUP: reloading {}", options.config);
    service::reloading();
    std::string why;
    std::int64_t revision = 0;
    try {
      HostConfig next = with_cli_path(load_host_config(options.config), options);
      try {
        const std::optional<Snapshot> copy = watch ? watch->copy() : std::nullopt;
        load_directory(next, copy ? &*copy : nullptr);
      } catch (...) {
        revision = -1;  // etcd's newest, which did not check
        throw;
      }
      revision = next.directory_revision;
      validate(next, catalog);
      log_warnings(next);
      why = apply(next);
      if (why.empty()) {
        running = std::move(next);
        running_revision = running.directory_revision;
      }
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (why.empty()) {
      spdlog::info("reload: applied{}", running.etcd ? fmt::format(" (the directory at etcd revision {})", running.directory_revision) : "");
      keep_directory(running);
    } else {
      spdlog::error("reload failed, still running the previous config: {}", why);
    }
    service::ready(why.empty() ? fmt::format("running {} with {} stage(s), reloaded", options.config, running.stages.size())
                               : fmt::format("running the previous config; the reload failed: {}", why));
    report_directory(running, revision, why);
  };
  hooks.create_socket = [&](const std::string& body) {
    if (config.etcd) return create_socket_in_etcd(*config.etcd, body);
    return create_socket(options.config, body, [&](const std::string& text) -> std::function<std::string()> {
      auto next = std::make_shared<HostConfig>(with_cli_path(parse_host_config(text, options.config), options));
      validate(*next, catalog);  // throws: then nothing is written
      return [&apply, next] { return apply(*next); };
    });
  };

  hooks.request = [&](Listener listener, Request request) -> std::optional<Response> {
    const std::optional<Request> watching =
        listener == Listener::admin && WatchAudit::starts(request) ? std::optional(request) : std::nullopt;
    // The first worker answers; where the endpoint gathers (api.hpp), the others too.
    auto asked = [&](Worker& w, Request r) -> std::optional<Worker::Answer> {
      auto answer = w.request(listener, std::move(r));
      if (answer.wait_for(std::chrono::seconds(2)) != std::future_status::ready) return std::nullopt;
      return answer.get();
    };
    std::optional<Worker::Answer> answer = asked(first, request);
    if (!answer) return Response{503, "text/plain", "the worker did not answer in time\n"};
    std::optional<Response> a = std::move(answer->response);
    if (a && answer->gather && workers.size() > 1) {
      std::vector<Response> all{std::move(*a)};
      for (std::size_t i = 1; i < workers.size(); ++i) {
        std::optional<Worker::Answer> more = asked(*workers[i], request);
        if (!more) return Response{503, "text/plain", fmt::format("worker {} did not answer in time\n", i)};
        if (more->response) all.push_back(std::move(*more->response));
      }
      a = answer->gather(std::move(all));
    }
    if (watching && a && a->status == 201) audit->record(*watching, *a);
    return a;
  };

  hooks.ready = [&] {
    restrict_thread(config);
    spdlog::info("running {} with {} stage(s) as uid {} with capabilities {}", options.config, config.stages.size(),
                 ::getuid(), thread_capabilities());
    service::ready(fmt::format("running {} with {} stage(s)", options.config, config.stages.size()));
  };

  // systemd's watchdog hears from the host while all of its loops turn: this tick proves the
  // control thread's, each worker's answer to the last ping its own. A stuck worker goes unpetted,
  // and systemd restarts the connector.
  std::vector<std::future<void>> turned;
  bool said_stuck = false;
  hooks.tick_every = service::watchdog_interval() / 2;
  hooks.tick = [&] {
    for (std::size_t i = 0; i < turned.size(); ++i) {
      if (turned[i].wait_for(std::chrono::seconds(0)) == std::future_status::ready) continue;
      if (!said_stuck)
        spdlog::error("watchdog: the worker has not turned its loop for {} ms{}", hooks.tick_every.count() / 1000,
                      workers.size() > 1 ? fmt::format(" (worker {} of {})", i, workers.size()) : "");
      said_stuck = true;
      return;
    }
    said_stuck = false;
    service::watchdog();
    turned.clear();
    for (auto& w : workers) turned.push_back(w->ping());
  };

  // A change of the directory in etcd is applied as a SIGHUP applies a changed file.
  keep_directory(config);
  report_directory(config, 0, "");
  std::optional<ConnectorLease> lease;
  if (config.etcd) {
    watch.emplace(*config.etcd, config.directory_revision, [] { ::kill(::getpid(), SIGHUP); });
    const std::string since = format_utc(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    lease.emplace(*config.etcd, [&config, &registry, &running_revision, since] {
      return describe(config, registry, running_revision, since);
    });

  }

  // Without etcd, or before the first renewal: nobody (an answer, not a 404 the portal would log).
  hooks.connectors = [&lease] {
    std::string live = lease ? lease->connectors() : "";
    return live.empty() ? std::string("{\"connectors\":[],\"revision\":0}\n") : live;
  };

  int code = 0;
  try {
    run_control_plane(config.admin, config.api, hooks);
  } catch (const std::exception& e) {
    spdlog::error("control plane: {}", e.what());
    code = 1;
  }
  service::stopping();
  // The watch first: the registration's withdrawal is a change it would answer with a SIGHUP,
  // which nothing handles once the control plane is gone.
  watch.reset();
  lease.reset();
  for (auto& w : workers) w->stop();
  spdlog::info("stopped");
  return code;
}

}  // namespace waygate
