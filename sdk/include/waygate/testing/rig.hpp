// waygate::testing::Rig runs one plugin alone: no host, no root, no TUN. Configure it from a TOML
// string, push bursts in either direction, read what came out on each side and what was dropped
// under which reason, advance a fake clock to fire timers, and read counters. An edge's real I/O
// (on a socketpair, say) runs through poll(). Stock plugins are tested this way; so should yours.
//
//   auto rig = waygate::testing::Rig::load(WAYGATE_PLUGIN_PATH, R"(ports = [53])");
//   rig->push(waygate::Direction::outbound, packet_bytes);
//   EXPECT_EQ(rig->take(waygate::Direction::outbound).size(), 0u);
//   EXPECT_EQ(rig->drops("port_blocked"), 1u);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "waygate/plugin.hpp"

namespace waygate {
class Handover;
class CounterRegistry;
}

namespace waygate::testing {

struct Captured {
  std::vector<std::uint8_t> bytes;
  Meta meta;
};

struct RigOptions {
  std::string name = "rig";       // the stage name the plugin sees
  std::string connector = "rig";  // the connector name it sees (Context::connector)
  std::size_t buffers = 1024;
  std::size_t buffer_size = 2048;
  std::size_t headroom = 128;
  // Which way packets an edge receives from its I/O travel: outbound for an edge at the inside
  // end of a pipeline (the usual place for a TUN or tunnel edge), inbound at the outside end.
  Direction received = Direction::outbound;
  // The directory the plugin sees: TOML with [overlay], [[identity]], [[socket]], [[policy]], as
  // in a connector's file (see waygate/directory.hpp). Empty: an empty directory.
  std::string directory = {};
  // Threads beside the caller in the plugin's Context::crew(); 0 runs its work on the caller.
  unsigned crew_threads = 0;
};

class Rig {
 public:
  using Factory = std::function<std::unique_ptr<Plugin>(Context&)>;

  // Construct and configure; a bad config throws ConfigError with the line and key.
  Rig(Factory factory, std::string_view toml, RigOptions options = {});
  // Load a plugin shared object by path (with the host's ABI check), then as above.
  static std::unique_ptr<Rig> load(const std::string& path, std::string_view toml,
                                   RigOptions options = {});
  // The workers of one pipeline ([host] workers = count), a rig each: `count` instances of the
  // plugin, worker 0 first, each with Context::worker() its own, that hand each other packets
  // (Context::hand_over); a rig's poll() gives its instance what was handed to it
  // (Plugin::on_handed). Start them in order, as the host does. They count into one registry, as
  // the host's workers do: a rig's counter() and drops() say what its own instance counted,
  // metrics() the sums over the workers that Context::metrics() lists.
  static std::vector<std::unique_ptr<Rig>> workers(unsigned count, const Factory& factory, std::string_view toml,
                                                   RigOptions options = {});
  static std::vector<std::unique_ptr<Rig>> load_workers(unsigned count, const std::string& path,
                                                        std::string_view toml, RigOptions options = {});
  ~Rig();
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  Plugin& plugin();
  void start();
  void stop();
  // Configure again, as a reload does; throws ConfigError and leaves the old config on failure.
  void reconfigure(std::string_view toml);
  // The same with a new directory, as a reload of a file whose directory changed does.
  void reconfigure(std::string_view toml, std::string_view directory);
  // An HTTP request to an endpoint the plugin serves (Context::serve); 404 if it serves none.
  Response request(Listener listener, std::string_view method, std::string_view target,
                   const net::Address& peer = {}, std::string_view body = {});

  // One packet, or several as one burst, processed in direction d; `endpoint` (or meta.endpoint)
  // is what a datagram edge would have recorded as the packets' underlay source.
  void push(Direction d, std::span<const std::uint8_t> bytes, Meta meta = {}, const Endpoint& endpoint = {});
  void push(Direction d, const std::vector<std::vector<std::uint8_t>>& packets, Meta meta = {},
            const Endpoint& endpoint = {});
  // Everything that came out travelling in direction d since the last take(d).
  std::vector<Captured> take(Direction d);

  std::uint64_t drops(std::string_view reason) const;
  std::int64_t counter(std::string_view name, const Labels& labels = {}) const;
  // Every metric, as the plugin's Context::metrics() lists them.
  std::vector<MetricSample> metrics() const;
  // Sets a metric as another stage would count it (a stage that reports what others count, as
  // stats does, is tested with it). `name` in full, as /metrics shows it.
  void set_metric(std::string_view name, MetricKind kind, const Labels& labels, std::uint64_t value);

  // Fake clock: moves time forward and fires the timers due. The plugin's wall() starts at
  // 2026-01-01 00:00 UTC and moves with it.
  void advance(Duration d);
  Time now() const;

  // Performs the I/O the plugin queued: writes at once, reads when their descriptor is readable
  // (waiting up to `wait`), and hands completions to on_io(), then what other workers handed
  // over to on_handed(). Returns how many there were.
  std::size_t poll(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  const std::vector<std::string>& log() const;
  Pool& pool();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  // Worker `worker` of those sharing `handover` and `registry` (null: one worker).
  Rig(Factory factory, std::string_view toml, RigOptions options, std::shared_ptr<Handover> handover,
      std::shared_ptr<CounterRegistry> registry, unsigned worker);
};

}  // namespace waygate::testing
