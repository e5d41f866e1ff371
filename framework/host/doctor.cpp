#include "doctor.hpp"

#include <fmt/format.h>

#include <optional>

#include <boost/json.hpp>

#include "etcd.hpp"
#include "etcd_directory.hpp"
#include "registration.hpp"
#include "host_config.hpp"
#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"
#include "waygate/packet_trace.hpp"

namespace waygate {

namespace {

std::vector<Check> checkup(const HostOptions& options, double wait, PluginCatalog& catalog) {
  std::vector<Check> checks;
  const std::string& file = options.config;
  HostConfig config;
  try {
    config = load_host_config(file);
    config.plugin_path.insert(config.plugin_path.begin(), options.plugin_path.begin(), options.plugin_path.end());
  } catch (const std::exception& e) {
    checks.push_back({"config", false, e.what(), "fix the file; `waygate check -c " + file + "` checks every stage too"});
    return checks;
  }
  if (config.etcd) {
    // What the connector made of etcd's directory, by its own word (its status key).
    std::string running;
    try {
      for (auto& kv : Etcd(config.etcd->members, config.etcd->tls_or_null()).range(config.etcd->prefix + "status/" + config.etcd->connector).kvs)
        running = " (the connector runs revision " +
                  std::to_string(boost::json::parse(kv.value).at("revision").to_number<std::int64_t>()) + ")";
    } catch (const std::exception&) {  // etcd away: load_directory() below says so
    }
    try {
      load_directory(config, nullptr, Claims::none);
      const bool copy = !config.directory_source.starts_with("etcd ");
      checks.push_back({"directory", !copy, config.directory_source,
                        "the connector runs on its last directory; bring etcd back (its members: [directory] etcd)"});
    } catch (const ConfigError& e) {
      checks.push_back({"directory in etcd", false, std::string("does not check: ") + e.what() + running,
                        "correct it and push again: `waygate directory diff -c FILE --etcd ...` shows what etcd holds"});
      return checks;
    } catch (const std::exception& e) {
      checks.push_back({"directory", false, e.what(), "bring etcd back, or run the connector once while it answers"});
      return checks;
    }
    // Its registration: while it runs, the clients' API lists it for its exit nodes.
    try {
      const Snapshot r = Etcd(config.etcd->members, config.etcd->tls_or_null()).range(connectors_prefix(config.etcd->prefix) + config.etcd->connector);
      const auto registered = r.kvs.empty() ? std::nullopt : read_registration(r.kvs.front().value);
      checks.push_back({"registration", registered.has_value(),
                        registered ? fmt::format("registered in etcd as {} (tunnel {}, {} client(s), {} NAT session(s))", registered->name,
                                                 registered->endpoint.empty() ? "without a public_endpoint" : registered->endpoint,
                                                 registered->clients, registered->sessions)
                                   : "not registered in etcd as " + config.etcd->connector,
                        "a connector registers while it runs: start it, or see its log for why it cannot reach etcd"});
    } catch (const std::exception&) {  // etcd away: said above
    }
  }
  const Directory& d = *config.directory;
  const bool has_directory = !d.identities.empty() || !d.sockets.empty() || !d.policies.empty();
  checks.push_back({"config", true,
                    fmt::format("{} reads: {} stage(s){}", file, config.stages.size(),
                                has_directory ? ", with its identities, sockets and policies" : ""),
                    ""});
  for (auto& w : d.warnings)
    checks.push_back({"directory", true, w,
                      "if this is how it should be, nothing to do; `waygate access-graph -c " + file +
                          "` shows who reaches what",
                      true});

  bool running = false;
  if (!config.admin.empty()) {
    try {
      admin_get(config.admin, "/healthz", config.admin_token);
      running = true;
      checks.push_back({"running", true, "the admin API answers on " + config.admin, ""});
    } catch (const std::exception& e) {
      checks.push_back({"running", false, e.what(),
                        "start it: `waygate run -c " + file + "` (in the namespace it runs in), or fix [host] admin"});
    }
  }

  // While the stages are checked (some watch counters move), the pipeline's packets are traced.
  std::optional<PacketTrace> trace;
  if (running) try {
      trace.emplace(config.admin, config.admin_token, static_cast<int>(wait * config.stages.size()) + 10);
    } catch (const std::exception& e) {
      checks.push_back({"where packets stop", true, e.what(), "", true});
    }
  for (const StageSpec& stage : config.stages) {
    try {
      const Checkup run = catalog.find(stage.plugin, config.plugin_path)->checkup();
      if (run == nullptr) continue;
      for (Check& c : run(Patient{stage.table, d, file, config.admin, config.admin_token, running, wait}))
        checks.push_back(std::move(c));
    } catch (const std::exception& e) {
      checks.push_back({"stage " + stage.name, false, e.what(), "`waygate check -c " + file + "` says more"});
    }
  }
  if (trace) try {
      checks.push_back(where_packets_stop(*trace, file));
    } catch (const std::exception& e) {
      checks.push_back({"where packets stop", false, e.what(), "the admin API stopped answering"});
    }
  return checks;
}

}  // namespace

int doctor(const HostOptions& options, double wait, PluginCatalog& catalog) {
  int failed = 0;
  for (const Check& c : checkup(options, wait, catalog)) {
    fmt::print("{} {}: {}\n", !c.ok ? "FAIL" : c.warning ? "warn" : "pass", c.name, c.detail);
    failed += c.ok ? 0 : 1;
    if (!c.ok || c.warning) fmt::print("     -> {}\n", c.hint);
  }
  fmt::print("{}\n", failed == 0 ? "all checks pass" : fmt::format("{} check(s) failed", failed));
  return failed == 0 ? 0 : 1;
}

}  // namespace waygate
