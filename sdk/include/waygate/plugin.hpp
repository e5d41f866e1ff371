// The plugin contract. A plugin is one class derived from Plugin, registered once with
// WAYGATE_PLUGIN(Class, "name", "version"). Its life: constructed with its Context -> configure()
// with its TOML table -> start() (open descriptors, arm timers) -> process() bursts, and on_io()
// completions each turn of the loop followed by flush() -> stop() -> destroyed. configure() may be called again while running (reload): it
// must take the new config whole or throw ConfigError and keep the old one, and it must have no
// side effect outside the object until it succeeds (the host also calls it on a throw-away
// instance just to validate a file). Nothing here may block: no DNS, no disk, no sleeping.
#pragma once

#include <cstddef>
#include <cstdint>

#include <boost/dll/alias.hpp>

#include "waygate/abi.hpp"
#include "waygate/burst.hpp"
#include "waygate/config.hpp"
#include "waygate/context.hpp"
#include "waygate/io.hpp"

namespace waygate {

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual void configure(const Config& config) = 0;
  virtual void start() {}
  // The burst's direction says which way it travels; see burst.hpp for what to do with each packet.
  virtual void process(Burst& burst, Output& out) = 0;
  // A completed read or write queued through Context::io(). The packet is the plugin's again:
  // pass it into the pipeline (away from this edge), drop it, or return it to the pool.
  virtual void on_io(const Completion& completion, Output& out) {
    (void)completion;
    (void)out;
  }
  // After a turn of the loop has delivered its completions to on_io(), before what they passed
  // travels on: a stage that gathers a turn's completions into one batch finishes it here.
  virtual void flush(Output& out) { (void)out; }
  // A packet this stage's instance on another worker handed over (Context::hand_over()), with its
  // tag; it is the plugin's, as on_io()'s are. Only instances that hand packets over get any.
  virtual void on_handed(Packet* packet, std::uint32_t tag, Output& out) {
    (void)packet;
    (void)tag;
    (void)out;
  }
  virtual void stop() {}
};

// A plugin whose instances run side by side, one per worker ([host] workers > 1), says so in its
// class with
//   static constexpr bool kPerWorker = true;
// and keeps in each instance only what its worker owns (Context::worker()), handing the rest over.
// The host refuses more than one worker while any stage's plugin does not say it.
template <typename P>
constexpr bool runs_per_worker() {
  if constexpr (requires { P::kPerWorker; }) return P::kPerWorker;
  else return false;
}

// What a plugin shared object exports under the symbol "waygate_plugin". The ABI version comes
// first so that any host can read it before trusting the rest of the layout.
struct PluginInfo {
  std::uint32_t abi;
  const char* name;
  const char* version;
  Plugin* (*create)(Context& context);
  bool per_worker;  // runs_per_worker<Class>()
};

// A command a plugin adds to the waygate binary: `waygate <name> [args...]` runs it, with
// argv[0] being the command's name. Commands run on their own: no host, no pipeline.
struct Command {
  const char* name;
  const char* summary;  // one line, for `waygate --help`
  int (*run)(int argc, char** argv);
};

// What a plugin exports under "waygate_commands" when it has commands.
struct CommandTable {
  std::uint32_t abi;
  const Command* commands;
  std::size_t count;
};

}  // namespace waygate

// WAYGATE_COMMANDS({"genkey", "Print a new private key", &genkey}, ...): once per plugin.
#define WAYGATE_COMMANDS(...)                                                                   \
  namespace {                                                                                   \
  const ::waygate::Command waygate_command_list[] = {__VA_ARGS__};                              \
  }                                                                                             \
  extern "C" const ::waygate::CommandTable waygate_command_table{                                \
      ::waygate::kAbiVersion, waygate_command_list,                                             \
      sizeof waygate_command_list / sizeof waygate_command_list[0]};                            \
  BOOST_DLL_ALIAS(waygate_command_table, waygate_commands)

#define WAYGATE_PLUGIN(Class, Name, Version)                                                  \
  namespace {                                                                                 \
  ::waygate::Plugin* waygate_create_plugin(::waygate::Context& context) {                     \
    return new Class(context);                                                                \
  }                                                                                           \
  }                                                                                           \
  extern "C" const ::waygate::PluginInfo waygate_plugin_info{                                  \
      ::waygate::kAbiVersion, Name, Version, &waygate_create_plugin,                          \
      ::waygate::runs_per_worker<Class>()};                                                   \
  BOOST_DLL_ALIAS(waygate_plugin_info, waygate_plugin)
