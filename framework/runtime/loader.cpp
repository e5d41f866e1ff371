#include "loader.hpp"

#include <dlfcn.h>

#include <filesystem>

#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>

namespace waygate {

namespace {
// Boost.DLL clears dlerror() and reports a generic error code; the loader's reason (an undefined
// symbol, a wrong ELF class) is what an operator needs, so ask the loader once more for it.
std::string loader_reason(const std::string& path) {
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h != nullptr) {
    ::dlclose(h);
    return "unknown loader error";
  }
  const char* why = ::dlerror();
  return why != nullptr ? why : "unknown loader error";
}
}  // namespace

struct PluginLibrary::Handle {
  boost::dll::shared_library library;
};

PluginLibrary::~PluginLibrary() = default;

std::shared_ptr<PluginLibrary> PluginLibrary::open(const std::string& path) {
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error))
    throw LoadError(fmt::format("plugin {}: no such file", path));

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = path;
  lib->handle_ = std::make_unique<Handle>();
  boost::dll::fs::error_code ec;
  // Resolve every symbol now, so a plugin linked against something missing fails here, named.
  lib->handle_->library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) throw LoadError(fmt::format("plugin {}: cannot load: {}", path, loader_reason(path)));
  if (!lib->handle_->library.has("waygate_plugin"))
    throw LoadError(fmt::format(
        "plugin {}: no symbol 'waygate_plugin': not a Waygate plugin (register it with WAYGATE_PLUGIN)",
        path));

  const auto& info = lib->handle_->library.get_alias<const PluginInfo>("waygate_plugin");
  if (info.abi != kAbiVersion)
    throw LoadError(fmt::format(
        "plugin {}: built for Waygate SDK ABI {}, but this host uses ABI {}; rebuild it against this SDK",
        path, abi_text(info.abi), abi_text(kAbiVersion)));
  if (info.name == nullptr || info.create == nullptr)
    throw LoadError(fmt::format("plugin {}: incomplete registration (no name or factory)", path));
  lib->info_ = &info;
  return lib;
}

std::span<const Command> PluginLibrary::commands() const {
  if (!handle_->library.has("waygate_commands")) return {};
  const auto& table = handle_->library.get_alias<const CommandTable>("waygate_commands");
  if (table.abi != kAbiVersion) return {};  // cannot happen: info() passed the same check
  return {table.commands, table.count};
}

Checkup PluginLibrary::checkup() const {
  if (!handle_->library.has("waygate_doctor")) return nullptr;
  const auto& table = handle_->library.get_alias<const DoctorTable>("waygate_doctor");
  return table.abi == kAbiVersion ? table.checks : nullptr;
}

}  // namespace waygate
