#include "plugin_catalog.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace waygate {

namespace fs = std::filesystem;

std::vector<std::string> PluginCatalog::default_search_path() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("WAYGATE_PLUGIN_PATH")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      auto colon = rest.find(':');
      if (colon != 0) out.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path bin = exe.parent_path();
    out.push_back((bin / "plugins").string());                            // build tree
    out.push_back((bin.parent_path() / "lib/waygate/plugins").string());  // installed
  }
  return out;
}

std::vector<std::shared_ptr<PluginLibrary>> PluginCatalog::all() {
  std::vector<std::shared_ptr<PluginLibrary>> out;
  std::vector<std::string> names;
  for (const auto& dir : default_path_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string file = entry.path().filename().string();
      if (file.rfind("waygate-", 0) != 0 || entry.path().extension() != ".so") continue;
      try {
        auto lib = find(entry.path().string(), {});
        if (std::find(names.begin(), names.end(), lib->info().name) != names.end()) continue;
        names.emplace_back(lib->info().name);
        out.push_back(std::move(lib));
      } catch (const LoadError&) {
        // Not ours to report here: `waygate check` names broken plugins when a config uses them.
      }
    }
  }
  return out;
}

std::shared_ptr<PluginLibrary> PluginCatalog::find(const std::string& plugin,
                                                   const std::vector<std::string>& path) {
  std::string resolved;
  if (plugin.find('/') != std::string::npos) {
    resolved = plugin;
  } else {
    std::vector<std::string> searched;
    const std::vector<std::string>* lists[] = {&path, &default_path_};
    for (const auto* list : lists) {
      for (const auto& dir : *list) {
        fs::path candidate = fs::path(dir) / fmt::format("waygate-{}.so", plugin);
        searched.push_back(dir);
        std::error_code ec;
        if (fs::exists(candidate, ec)) {
          resolved = candidate.string();
          break;
        }
      }
      if (!resolved.empty()) break;
    }
    if (resolved.empty())
      throw LoadError(fmt::format("unknown plugin '{}': no waygate-{}.so in {}", plugin, plugin,
                                  searched.empty() ? "an empty plugin path" : fmt::format("{}", fmt::join(searched, ", "))));
  }
  std::lock_guard lock(mutex_);
  auto& slot = loaded_[resolved];
  if (!slot) slot = PluginLibrary::open(resolved);
  return slot;
}

}  // namespace waygate
