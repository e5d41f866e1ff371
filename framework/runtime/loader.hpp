// Opening plugin shared objects: the one place that knows about dlopen (through Boost.DLL) and
// checks a plugin's ABI version before trusting anything else it exports. Used by the host and
// by the test rig, so a plugin is loaded the same way under test as in production.
#pragma once

#include <memory>
#include <stdexcept>
#include <span>
#include <string>

#include "waygate/doctor.hpp"
#include "waygate/plugin.hpp"

namespace waygate {

class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PluginLibrary {
 public:
  // Throws LoadError: the file is missing or not loadable, it exports no "waygate_plugin", or it
  // was built for another SDK ABI version (the message names the file and both versions).
  static std::shared_ptr<PluginLibrary> open(const std::string& path);
  ~PluginLibrary();

  const PluginInfo& info() const { return *info_; }
  // The commands the plugin adds to the waygate binary (none if it exports no table).
  std::span<const Command> commands() const;
  // The checks it adds to `waygate doctor` (nullptr if it exports none).
  Checkup checkup() const;
  const std::string& path() const { return path_; }

 private:
  PluginLibrary() = default;
  struct Handle;
  std::unique_ptr<Handle> handle_;
  const PluginInfo* info_ = nullptr;
  std::string path_;
};

// A plugin object together with the library its code lives in; the object goes first.
struct PluginInstance {
  std::shared_ptr<PluginLibrary> library;
  std::unique_ptr<Plugin> plugin;

  PluginInstance() = default;
  PluginInstance(PluginInstance&&) = default;
  PluginInstance& operator=(PluginInstance&& o) {
    plugin = std::move(o.plugin);
    library = std::move(o.library);
    return *this;
  }
  ~PluginInstance() { plugin.reset(); }
};

}  // namespace waygate
