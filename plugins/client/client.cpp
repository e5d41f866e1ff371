// The client stage: the client host's owner of its exit-node selection. `waygate client use`
// installs a selection while the host runs (routes on the TUN device, the bypass, the resolver,
// lockdown) and records it in `state`; this stage removes what the record says when the host stops
// cleanly, and puts the selection back when it starts again — after a crash too, replacing what
// the crashed run left. Packets pass through untouched: the kernel's routes choose what enters
// the tunnel, the tunnel stage's allowed IPs which connector carries it.
//
// Also gives the waygate binary `waygate client exit-nodes|use|off|status|doctor`.
#include <optional>

#include "client_command.hpp"
#include "selection.hpp"
#include "waygate/plugin.hpp"

namespace waygate::client {

namespace {

class ClientStage final : public Plugin {
 public:
  explicit ClientStage(Context& ctx) : ctx_(ctx) {}

  void configure(const Config& c) override {
    Settings next = Settings::read(c, std::string(ctx_.name()));
    if (running_ && (next.device != settings_.device || next.state != settings_.state))
      c.fail(next.device != settings_.device ? "device" : "state", "changing it on a running client needs a restart");
    settings_ = std::move(next);
  }

  void start() override {
    running_ = true;
    std::optional<Selection> s = load();
    if (!s) return;
    for (auto& problem : uninstall(*s)) ctx_.log().warn("left by the last run: {}", problem);
    try {
      install(*s, settings_);
      ctx_.log().info("exit node {} ({}) in use again: `waygate client off` clears it", s->exit_node, s->connector);
    } catch (const std::exception& e) {
      ctx_.log().error("exit node {} selected, but not installed: {}", s->exit_node, e.what());
    }
    save(*s);
  }

  void stop() override {
    running_ = false;
    std::optional<Selection> s = load();
    if (!s || !s->installed) return;
    for (auto& problem : uninstall(*s)) ctx_.log().warn("removing exit node {}: {}", s->exit_node, problem);
    save(*s);  // the selection itself stays: the next start puts it back
  }

  void process(Burst& burst, Output& out) override { out.passed() = burst; }

 private:
  // nullopt when there is none, or (said in the log) when the file does not read.
  std::optional<Selection> load() {
    try {
      return load_selection(settings_.state);
    } catch (const std::exception& e) {
      ctx_.log().error("{}", e.what());
      return std::nullopt;
    }
  }

  void save(const Selection& s) {
    try {
      save_selection(settings_.state, s);
    } catch (const std::exception& e) {
      ctx_.log().error("{}", e.what());
    }
  }

  Context& ctx_;
  Settings settings_;
  bool running_ = false;
};

}  // namespace

}  // namespace waygate::client

WAYGATE_PLUGIN(waygate::client::ClientStage, "client", "0.1.0")
WAYGATE_COMMANDS({"client", "client exit-nodes|use NAME [--lockdown]|off|status|doctor -c CLIENT.toml: the exit node in use",
                  &waygate::client::client_command})
