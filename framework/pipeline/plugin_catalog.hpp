// Finds plugins by name on the plugin path and keeps each shared object loaded once for the
// process. A name "tun" is looked up as "waygate-tun.so" in each folder in turn; a value with a
// '/' is taken as a path. Thread-safe: the control thread validates configs with it while the
// worker runs.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "loader.hpp"

namespace waygate {

class PluginCatalog {
 public:
  explicit PluginCatalog(std::vector<std::string> default_path) : default_path_(std::move(default_path)) {}

  // Throws LoadError naming every folder searched when nothing is found.
  std::shared_ptr<PluginLibrary> find(const std::string& plugin, const std::vector<std::string>& path);

  // Every loadable plugin on the default path, once per name (the first found wins); files that
  // fail to load are skipped. For finding plugin commands.
  std::vector<std::shared_ptr<PluginLibrary>> all();

  // Folders searched after a config's own plugin_path: $WAYGATE_PLUGIN_PATH (colon-separated),
  // then the folders installed and built beside the running binary.
  static std::vector<std::string> default_search_path();

 private:
  std::mutex mutex_;
  std::vector<std::string> default_path_;
  std::map<std::string, std::shared_ptr<PluginLibrary>> loaded_;  // by resolved path
};

}  // namespace waygate
