// waygate: the host process. `waygate run -c FILE` runs a connector; `waygate check -c FILE`
// validates a config and the plugins it names without touching the system.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "host.hpp"
#include "waygate/abi.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Waygate: a plugin-based modular router; its first product is a VPN exit node."};
  app.require_subcommand(1);

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
  auto* version = app.add_subcommand("version", "Print the version and the plugin ABI version");

  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");

  if (*run) return waygate::run_host(options);
  if (*check) return waygate::check_config(options);
  if (*version) {
    fmt::print("waygate {} (plugin ABI {})\n", WAYGATE_VERSION, waygate::kAbiVersion);
    return 0;
  }
  return 0;
}
