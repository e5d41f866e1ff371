// The `waygate run` and `waygate check` commands: the config file made into a running connector,
// or merely checked.
#pragma once

#include <string>
#include <vector>

namespace waygate {

class PluginCatalog;

struct HostOptions {
  std::string config;
  std::vector<std::string> plugin_path;  // searched before the config's own plugin_path
  bool keys = false;  // check: print every key the host and the plugins read (the schema)
};

// Both take the process's catalog, made in main() and kept until exit: a library is never
// unloaded while something it made (an error on its way to the terminal, say) may still be used.

// Runs until SIGINT/SIGTERM. Returns the process exit code; errors are logged, never thrown.
int run_host(const HostOptions& options, PluginCatalog& catalog);
// Loads the config and every plugin it names and configures them without starting anything.
int check_config(const HostOptions& options, PluginCatalog& catalog);

}  // namespace waygate
