#include "waygate/testing/rig.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "loader.hpp"
#include "scratch.hpp"
#include "segments.hpp"
#include "drop_ledger.hpp"
#include "handover.hpp"
#include "stage_context.hpp"

namespace waygate::testing {

namespace {

class RigLogger final : public Logger {
 public:
  bool enabled(Level) const override { return true; }
  void write(Level level, std::string_view message) override {
    static constexpr const char* names[] = {"trace", "debug", "info", "warn", "error"};
    lines.push_back(std::string(names[static_cast<int>(level)]) + ": " + std::string(message));
  }
  std::vector<std::string> lines;
};

// Real I/O without a ring: the rig performs each queued operation with a plain syscall when the
// test calls poll(), so a plugin's edge code runs unchanged on socketpairs and pipes.
class RigIo final : public Io {
 public:
  struct Op {
    int fd;
    Packet* packet;
    std::uint64_t tag;
    bool with_source;
    bool segments = false;  // receive_segments: a read may hold several datagrams
  };
  void read(int fd, Packet* p, std::uint64_t tag) override { reads.push_back({fd, p, tag, false}); }
  void receive(int fd, Packet* p, std::uint64_t tag) override { reads.push_back({fd, p, tag, true}); }
  void write(int fd, Packet* p, std::uint64_t tag) override {
    ssize_t n = ::write(fd, p->data(), p->size());
    done.push_back({tag, n < 0 ? -errno : static_cast<std::int32_t>(n), p});
  }
  void send(int fd, Packet* p, std::uint64_t tag) override {
    ssize_t n = ::sendto(fd, p->data(), p->size(), 0, &p->meta.endpoint.addr.sa, p->meta.endpoint.len);
    done.push_back({tag, n < 0 ? -errno : static_cast<std::int32_t>(n), p});
  }
  // One by one, to the first packet's endpoint: what the kernel's segmenting amounts to.
  void send_segments(int fd, std::span<Packet* const> packets, std::uint64_t tag) override {
    for (Packet* p : packets) {
      p->meta.endpoint = packets.front()->meta.endpoint;
      send(fd, p, tag);
    }
  }
  void receive_segments(int fd, std::uint64_t tag) override { streams.push_back({fd, nullptr, tag, true, true}); }
  explicit RigIo(Pool& p) : pool(p) {}
  void read_many(int fd, std::uint64_t tag) override { streams.push_back({fd, nullptr, tag, false}); }
  void receive_many(int fd, std::uint64_t tag) override { streams.push_back({fd, nullptr, tag, true}); }
  void cancel(int fd) override {
    std::erase_if(streams, [&](const Op& s) { return s.fd == fd; });
    for (auto it = reads.begin(); it != reads.end();) {
      if (it->fd == fd) {
        pool.free(it->packet);
        it = reads.erase(it);
      } else {
        ++it;
      }
    }
  }
  // One datagram from fd into p, completed as the host would. `nothing`: fd had nothing and p is
  // unused; `ended`: a read (not a datagram socket) returned 0, the other end is gone.
  enum class Took { nothing, one, ended };
  Took take(int fd, Packet* p, std::uint64_t tag, bool with_source) {
    auto room = p->writable();
    Endpoint& from = p->meta.endpoint;
    from.len = sizeof from.addr;
    ssize_t n = ::recvfrom(fd, room.data(), room.size(), MSG_DONTWAIT, with_source ? &from.addr.sa : nullptr,
                           with_source ? &from.len : nullptr);
    if (!with_source) from.len = 0;
    if (n < 0 && errno == ENOTSOCK) n = ::read(fd, room.data(), room.size());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Took::nothing;
    if (n >= 0) p->resize(static_cast<std::size_t>(n));
    done.push_back({tag, n < 0 ? -errno : static_cast<std::int32_t>(n), p});
    return n == 0 && !with_source ? Took::ended : Took::one;
  }
  // One read of a UDP_GRO socket, cut into its datagrams, each in a fresh pool packet.
  Took take_segments(int fd, std::uint64_t tag) {
    alignas(cmsghdr) std::uint8_t control[kGroControlSize];
    Endpoint from;
    iovec iov{large.data(), large.size()};
    msghdr msg{};
    msg.msg_name = &from.addr;
    msg.msg_namelen = sizeof from.addr;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) return Took::nothing;
    from.len = msg.msg_namelen;
    auto length = static_cast<std::size_t>(n);
    for_each_segment(length, gro_segment_size(control, msg.msg_controllen, length), [&](std::size_t at, std::size_t size) {
      Packet* p = pool.alloc();
      if (p == nullptr) return;
      std::memcpy(p->data(), large.data() + at, std::min(size, p->writable().size()));
      p->resize(std::min(size, p->writable().size()));
      p->meta.endpoint = from;
      done.push_back({tag, static_cast<std::int32_t>(p->size()), p});
    });
    return Took::one;
  }
  // Completes what the readable descriptors hold: queued single reads oldest first, then
  // everything for the streams (each datagram in a fresh pool packet).
  void perform_reads(int wait_ms) {
    std::vector<pollfd> fds;
    auto add = [&](int fd) {
      if (std::none_of(fds.begin(), fds.end(), [&](const pollfd& f) { return f.fd == fd; })) fds.push_back({fd, POLLIN, 0});
    };
    for (auto& op : reads) add(op.fd);
    for (auto& op : streams) add(op.fd);
    if (fds.empty() || ::poll(fds.data(), fds.size(), wait_ms) <= 0) return;
    for (auto& f : fds) {
      if ((f.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      for (auto it = reads.begin(); it != reads.end();) {
        if (it->fd != f.fd) {
          ++it;
          continue;
        }
        Took took = take(f.fd, it->packet, it->tag, it->with_source);
        if (took == Took::nothing) break;  // the read stays queued
        it = reads.erase(it);
        if (took == Took::ended) break;
      }
      for (auto it = streams.begin(); it != streams.end(); ++it) {
        if (it->fd != f.fd) continue;
        while (it->segments && take_segments(f.fd, it->tag) == Took::one) {
        }
        for (; !it->segments;) {
          Packet* p = pool.alloc();
          if (p == nullptr) break;
          Took took = take(f.fd, p, it->tag, it->with_source);
          if (took == Took::nothing) pool.free(p);
          if (took == Took::ended) it->fd = -1;  // this stream is over
          if (took != Took::one) break;
        }
      }
      std::erase_if(streams, [](const Op& s) { return s.fd < 0; });
    }
  }
  Pool& pool;
  std::vector<std::uint8_t> large = std::vector<std::uint8_t>(65536);
  std::deque<Op> reads;
  std::vector<Op> streams;  // read_many/receive_many: fd, tag, with_source
  std::deque<Completion> done;
};

}  // namespace

struct Rig::Impl final : BurstSink {
  Impl(RigOptions o, std::shared_ptr<Handover> h, std::shared_ptr<CounterRegistry> r, unsigned w)
      : options(std::move(o)),
        handover(std::move(h)),
        worker(w),
        shared_registry(r ? std::move(r) : std::make_shared<CounterRegistry>()),
        registry(*shared_registry),
        pool(options.buffers, options.buffer_size, options.headroom),
        io(pool),
        crew(options.crew_threads),
        context(options.name, MetricNaming{"", "drops_total", false}, registry, worker, timers, pool,
                io, crew, logger) {
    context.set_handover(handover.get());
    crew.start();
    context.fake_wall_clock(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1});
    context.set_endpoints(&endpoints);
    context.set_directory(load_directory(options.directory));
    context.set_connector(options.connector);
  }

  static std::shared_ptr<const Directory> load_directory(std::string_view toml) {
    Config root = Config::parse(toml, "<rig directory>");
    auto d = Directory::load(root);
    root.complete();
    return d;
  }

  void flush(Burst& burst) override {
    auto& into = burst.direction() == Direction::outbound ? outbound : inbound;
    for (Packet* p : burst) {
      into.push_back({{p->data(), p->data() + p->size()}, p->meta});
      pool.free(p);
    }
    burst.clear();
  }
  void dropped(const Packet& p, Drop why) override { registry.drop_ledger(worker).count(p, why); }
  void collect(Output& out) {
    flush(out.passed());
    flush(out.replies());
  }
  // As the host does on reload: a throw-away instance must accept the config whole (unknown keys
  // included) before the live one sees it.
  void configure(std::string_view toml) {
    {
      Scratch scratch;
      StageContext throwaway = scratch.context(options.name);
      throwaway.set_directory(context.directory());
      throwaway.set_handover(handover.get());  // as the first of the workers, however many
      throwaway.set_connector(options.connector);
      Config config = Config::parse(toml, "<rig>");
      factory(throwaway)->configure(config);
      config.complete();
    }
    plugin.plugin->configure(Config::parse(toml, "<rig>"));
  }

  RigOptions options;
  std::shared_ptr<Handover> handover;
  unsigned worker;
  Rig::Factory factory;
  std::shared_ptr<CounterRegistry> shared_registry;  // the pipeline's workers'
  CounterRegistry& registry;
  TimerQueue timers;
  Pool pool;
  RigIo io;
  ThreadCrew crew;
  RigLogger logger;
  Endpoints endpoints;
  StageContext context;
  PluginInstance plugin;
  bool started = false;
  std::vector<Captured> outbound;
  std::vector<Captured> inbound;
};

Rig::Rig(Factory factory, std::string_view toml, RigOptions options)
    : Rig(std::move(factory), toml, std::move(options), nullptr, nullptr, 0) {}

Rig::Rig(Factory factory, std::string_view toml, RigOptions options, std::shared_ptr<Handover> handover,
         std::shared_ptr<CounterRegistry> registry, unsigned worker)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handover), std::move(registry), worker)) {
  impl_->factory = factory;
  impl_->plugin.plugin = factory(impl_->context);
  impl_->configure(toml);
}

std::vector<std::unique_ptr<Rig>> Rig::workers(unsigned count, const Factory& factory, std::string_view toml,
                                               RigOptions options) {
  auto handover = std::make_shared<Handover>(count);
  auto registry = std::make_shared<CounterRegistry>(count);
  std::vector<std::unique_ptr<Rig>> rigs;
  for (unsigned w = 0; w < count; ++w)
    rigs.push_back(std::unique_ptr<Rig>(new Rig(factory, toml, options, handover, registry, w)));
  return rigs;
}

namespace {
// Makes rigs of a plugin loaded from `path` (with the host's ABI check), each holding the library.
template <typename Make>
auto with_library(const std::string& path, Make make) {
  auto library = PluginLibrary::open(path);
  auto create = library->info().create;
  try {
    auto made = make([create](Context& c) { return std::unique_ptr<Plugin>(create(c)); });
    return std::make_pair(std::move(made), library);
  } catch (const ConfigError& e) {
    // The error was made by the plugin's own copy of the SDK: copy it out before the library
    // (and the code behind its what()) is unloaded.
    throw ConfigError(e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what());
  }
}
}  // namespace

std::unique_ptr<Rig> Rig::load(const std::string& path, std::string_view toml, RigOptions options) {
  auto [rig, library] = with_library(path, [&](const Factory& f) { return std::make_unique<Rig>(f, toml, options); });
  rig->impl_->plugin.library = library;
  return std::move(rig);
}

std::vector<std::unique_ptr<Rig>> Rig::load_workers(unsigned count, const std::string& path, std::string_view toml,
                                                    RigOptions options) {
  auto [rigs, library] = with_library(path, [&](const Factory& f) { return workers(count, f, toml, options); });
  for (auto& rig : rigs) rig->impl_->plugin.library = library;
  return std::move(rigs);
}

Rig::~Rig() { stop(); }

Plugin& Rig::plugin() { return *impl_->plugin.plugin; }

void Rig::start() {
  if (impl_->started) return;
  impl_->plugin.plugin->start();
  impl_->started = true;
}

void Rig::stop() {
  if (!impl_->started) return;
  impl_->plugin.plugin->stop();
  impl_->started = false;
  impl_->endpoints.remove_stage(impl_->options.name);
  poll();  // hand back whatever stop() cancelled
}

void Rig::reconfigure(std::string_view toml) { impl_->configure(toml); }

void Rig::reconfigure(std::string_view toml, std::string_view directory) {
  auto previous = impl_->context.directory();
  impl_->context.set_directory(Impl::load_directory(directory));
  try {
    impl_->configure(toml);
  } catch (...) {
    impl_->context.set_directory(previous);
    throw;
  }
}

Response Rig::request(Listener listener, std::string_view method, std::string_view target,
                      const net::Address& peer, std::string_view body) {
  Request r;
  r.method = std::string(method);
  auto question = target.find('?');
  r.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) r.query = std::string(target.substr(question + 1));
  r.body = std::string(body);
  r.peer = peer;
  auto answer = impl_->endpoints.handle(listener, r);
  return answer ? *answer : Response{404, "text/plain", "not found\n"};
}

void Rig::push(Direction d, std::span<const std::uint8_t> bytes, Meta meta, const Endpoint& endpoint) {
  push(d, std::vector<std::vector<std::uint8_t>>{{bytes.begin(), bytes.end()}}, meta, endpoint);
}

void Rig::push(Direction d, const std::vector<std::vector<std::uint8_t>>& packets, Meta meta,
               const Endpoint& endpoint) {
  Burst burst(d);
  Output out(d, impl_->pool, *impl_);
  auto run = [&] {
    impl_->plugin.plugin->process(burst, out);
    burst.clear();
  };
  for (auto& bytes : packets) {
    Packet* p = impl_->pool.alloc();
    if (p == nullptr || !p->resize(bytes.size()))
      throw std::length_error("rig: packet does not fit a pool buffer");
    std::memcpy(p->data(), bytes.data(), bytes.size());
    p->meta = meta;
    p->meta.direction = d;
    if (!endpoint.empty()) p->meta.endpoint = endpoint;  // else the meta's own, if any
    burst.push(p);
    if (burst.full()) run();
  }
  if (!burst.empty()) run();
  impl_->collect(out);
}

std::vector<Captured> Rig::take(Direction d) {
  auto& from = d == Direction::outbound ? impl_->outbound : impl_->inbound;
  return std::exchange(from, {});
}

std::uint64_t Rig::drops(std::string_view reason) const {
  return static_cast<std::uint64_t>(impl_->registry.value(impl_->worker, "drops_total", {{"reason", std::string(reason)}}));
}

std::int64_t Rig::counter(std::string_view name, const Labels& labels) const {
  return impl_->registry.value(impl_->worker, name, labels);
}

std::vector<MetricSample> Rig::metrics() const { return impl_->registry.snapshot(); }

void Rig::set_metric(std::string_view name, MetricKind kind, const Labels& labels, std::uint64_t value) {
  impl_->registry.slot(name, "", kind, labels, impl_->worker)->store(value, std::memory_order_relaxed);
}

void Rig::advance(Duration d) { impl_->timers.advance(impl_->timers.now() + d); }
Time Rig::now() const { return impl_->timers.now(); }

std::size_t Rig::poll(std::chrono::milliseconds wait) {
  impl_->io.perform_reads(static_cast<int>(wait.count()));
  std::size_t n = 0;
  Output out(impl_->options.received, impl_->pool, *impl_);
  while (!impl_->io.done.empty()) {
    Completion c = impl_->io.done.front();
    impl_->io.done.pop_front();
    c.packet->meta.direction = impl_->options.received;
    impl_->plugin.plugin->on_io(c, out);
    ++n;
  }
  if (impl_->handover)
    impl_->handover->take(impl_->worker, [&](const Handover::Item& item) {
      Packet* p = impl_->pool.alloc();
      if (p == nullptr || !p->resize(item.bytes.size())) throw std::length_error("rig: a handed packet does not fit a pool buffer");
      std::copy(item.bytes.begin(), item.bytes.end(), p->data());  // empty, it may hold no data() to copy
      p->meta = item.meta;
      impl_->plugin.plugin->on_handed(p, item.tag, out);
      ++n;
    });
  if (n > 0) impl_->plugin.plugin->flush(out);
  impl_->collect(out);
  return n;
}

const std::vector<std::string>& Rig::log() const { return impl_->logger.lines; }
Pool& Rig::pool() { return impl_->pool; }

}  // namespace waygate::testing
