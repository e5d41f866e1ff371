// What the host gives a plugin instance: its name, counters, timers, the clock, a logger, packet
// buffers, asynchronous I/O, threads to spread a burst's work over, the directory (identities, sockets, policies) and HTTP endpoints. Everything a plugin touches outside its own memory goes through
// here, which is why the test rig can run a plugin with no host: it is another Context.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "waygate/api.hpp"
#include "waygate/counters.hpp"
#include "waygate/crew.hpp"
#include "waygate/directory.hpp"
#include "waygate/io.hpp"
#include "waygate/log.hpp"
#include "waygate/pool.hpp"
#include "waygate/timer.hpp"

namespace waygate {

class Context {
 public:
  virtual ~Context() = default;

  // The stage's name from the config (e.g. "inside"); labels its metrics and log lines.
  virtual std::string_view name() const = 0;
  // This connector's name ([host] connector, [directory] connector with etcd, else the machine's
  // host name): for records that say which connector did what.
  virtual std::string_view connector() const = 0;

  // Metrics are exported as waygate_<plugin>_<name>{stage="<stage>",<labels>}.
  virtual Counter counter(std::string_view name, std::string_view help, const Labels& labels = {}) = 0;
  virtual Gauge gauge(std::string_view name, std::string_view help, const Labels& labels = {}) = 0;
  // A reason for dropping packets: counted as drops_total{reason="<reason>"}, and drops of packets
  // whose metadata names a socket or an identity as socket_drops_total{socket,reason} and
  // identity_drops_total{identity,reason} too.
  virtual Drop drop_reason(std::string_view reason) = 0;
  // Every metric of the process as /metrics shows it (full names, summed over workers): for a
  // stage that reports what others count (stats). It allocates and takes locks: call it from a
  // timer or a request, never per packet.
  virtual std::vector<MetricSample> metrics() const = 0;

  virtual Timer timer(std::function<void()> fire) = 0;
  virtual Time now() const = 0;  // monotonic: for durations and timers
  // Calendar time, for timestamps a peer compares or a person reads. The rig's moves with its
  // fake clock.
  virtual std::chrono::system_clock::time_point wall() const = 0;

  virtual Logger& log() = 0;
  virtual Pool& pool() = 0;
  virtual Io& io() = 0;
  // The worker's threads for spreading a burst's crypto (see crew.hpp); size() 1 when it has none.
  virtual Crew& crew() = 0;
  // The current directory; never null (empty when the file has none). configure() is called
  // again when a reload replaces it.
  virtual std::shared_ptr<const Directory> directory() const = 0;
  // Answers requests for `path` on a listener (see api.hpp). Call it from start(); the endpoint
  // goes away with the plugin instance. A path already taken by another stage is refused.
  // With `gather`, every worker's instance answers a request and gather() makes one answer of
  // theirs (api.hpp); without, the first worker's answers alone.
  virtual void serve(Listener listener, std::string_view path, Handler handler, Gather gather) = 0;
  void serve(Listener listener, std::string_view path, Handler handler) {
    serve(listener, path, std::move(handler), Gather{});
  }

  // [host] workers: how many workers run the pipeline side by side, each with an instance of
  // every stage of its own (a plugin says it can run so: plugin.hpp), and which of them runs this
  // instance, from 0. Each instance keeps only its worker's share of the state.
  virtual unsigned workers() const = 0;
  virtual unsigned worker() const = 0;
  // Hands a copy of `p` (bytes and metadata) to this stage's instance on worker `to`, whose
  // Plugin::on_handed() gets it with `tag` between two of its bursts: for a packet whose state
  // another worker owns (a tunnel peer's sessions, say). On true `p` went back to the pool; on
  // false (`to` is this worker or out of range, or it has too many waiting) it is still the
  // caller's, to drop under a reason of its own.
  virtual bool hand_over(unsigned to, Packet* p, std::uint32_t tag) = 0;
};

}  // namespace waygate
