// waygate: the host process. `waygate run -c FILE` runs a connector; `waygate check -c FILE`
// validates a config and the plugins it names without touching the system. Any other command
// comes from a plugin on the plugin path (`waygate genkey` from the wireguard plugin, say).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>

#include "capture_command.hpp"
#include "trace_command.hpp"
#include "connectors_command.hpp"
#include "directory_command.hpp"
#include "doctor.hpp"
#include "host.hpp"
#include "journal.hpp"
#include "plugin_catalog.hpp"
#include "waygate/abi.hpp"

namespace {

bool builtin(const char* word) {
  for (const char* b : {"run", "check", "doctor", "directory", "connectors", "capture", "trace", "version"})
    if (std::strcmp(word, b) == 0) return true;
  return word[0] == '-';
}

// `waygate <command> ...` for a command a plugin provides; -1 if none does. What escapes the
// command is printed, not left to terminate the process.
int run_plugin_command(waygate::PluginCatalog& catalog, int argc, char** argv) {
  for (auto& lib : catalog.all())
    for (const auto& command : lib->commands()) {
      if (std::strcmp(command.name, argv[1]) != 0) continue;
      try {
        return command.run(argc - 1, argv + 1);
      } catch (const std::exception& e) {
        fmt::print(stderr, "waygate {}: {}\n", command.name, e.what());
        return 1;
      }
    }
  return -1;
}

std::string plugin_commands_help(waygate::PluginCatalog& catalog) {
  std::string text;
  for (auto& lib : catalog.all())
    for (const auto& command : lib->commands())
      text += fmt::format("  {:<14}{} (plugin {})\n", command.name, command.summary, lib->info().name);
  return text.empty() ? text : "Commands from plugins:\n" + text;
}

}  // namespace

int main(int argc, char** argv) {
  // Until the control thread's handlers are installed, a stop or reload signal must wait rather
  // than kill the process: every thread starts with them blocked, and only the control thread
  // unblocks them once it listens (control_plane.cpp).
  sigset_t control;
  sigemptyset(&control);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&control, signo);
  pthread_sigmask(SIG_BLOCK, &control, nullptr);
  // A peer that goes away is an error of the write (EPIPE), not the end of the process: OpenSSL
  // writes with write(2), which cannot say MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);

  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  if (waygate::stderr_is_journal()) waygate::log_to_journal();
  waygate::PluginCatalog catalog(waygate::PluginCatalog::default_search_path());
  if (argc > 1 && std::strcmp(argv[1], "directory") == 0) return waygate::directory_command(argc - 1, argv + 1);
  if (argc > 1 && std::strcmp(argv[1], "connectors") == 0) return waygate::connectors_command(argc - 1, argv + 1);
  if (argc > 1 && std::strcmp(argv[1], "capture") == 0) return waygate::capture_command(argc - 1, argv + 1);
  if (argc > 1 && std::strcmp(argv[1], "trace") == 0) return waygate::trace_command(argc - 1, argv + 1);
  if (argc > 1 && !builtin(argv[1])) {
    int code = run_plugin_command(catalog, argc, argv);
    if (code >= 0) return code;
    fmt::print(stderr, "waygate: unknown command '{}' (see waygate --help)\n", argv[1]);
    return 2;
  }

  CLI::App app{"Waygate: a plugin-based modular router; its first product is a VPN exit node."};
  app.require_subcommand(1);
  app.footer([&] { return plugin_commands_help(catalog); });

  waygate::HostOptions options;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", options.config, "The connector's TOML file")->required();
    cmd->add_option("-p,--plugin-path", options.plugin_path,
                    "A folder to search for plugins first (repeatable)");
  };
  auto* run = app.add_subcommand("run", "Run the pipeline described by a config file");
  add_common(run);
  auto* check = app.add_subcommand("check", "Validate a config file and the plugins it names");
  add_common(check);
  check->add_flag("--keys", options.keys,
                  "Print every key the host and its plugins read: section, table, key, type, default");
  auto* doctor = app.add_subcommand("doctor", "Check a connector (or a client) the way its troubleshooting list says");
  add_common(doctor);
  double wait = 2;
  doctor->add_option("--wait", wait, "Seconds to watch the counters move")->check(CLI::Range(0.1, 60.0));
  app.add_subcommand("directory", "The directory in etcd: push a file's, pull it, diff (see waygate directory --help)");
  app.add_subcommand("connectors", "The connectors alive in the directory in etcd (see waygate connectors --help)");
  app.add_subcommand("capture", "The packets inside a running connector's pipeline, as pcapng (see waygate capture --help)");
  app.add_subcommand("trace", "Follow packets through a running connector's pipeline, stage by stage (see waygate trace --help)");
  auto* version = app.add_subcommand("version", "Print the version and the plugin ABI version");

  CLI11_PARSE(app, argc, argv);
  if (*run) return waygate::run_host(options, catalog);
  if (*check) return waygate::check_config(options, catalog);
  if (*doctor) return waygate::doctor(options, wait, catalog);
  if (*version) fmt::print("waygate {} (plugin ABI {})\n", WAYGATE_VERSION, waygate::abi_text(waygate::kAbiVersion));
  return 0;
}
