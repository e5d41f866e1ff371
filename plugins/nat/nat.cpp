// The nat stage: NAPT between the inside (clients) and the outside (an egress edge). Outbound
// packets leave from their socket's egress address and a port of the identity's port block;
// inbound packets for a session go back to the inside endpoint with their socket, identity and peer
// restored. The tables and the translation live in engine.cpp; this file reads the config, binds
// the counters, runs the expiry timer and turns verdicts into pass/reply/drop. Its keys and
// behaviour are described in configs/README.md.
// With more than one worker ([host] workers) each worker's instance translates its clients'
// packets to ports of its own share of each socket's range (PortRange::share): a reply, or a
// hairpinned packet, that reaches the wrong worker is handed to the one whose share holds its
// port. The first worker writes the NAT log; the others hand it their sessions' starts and ends.
#include <arpa/inet.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <cstring>
#include <random>
#include <type_traits>

#include "engine.hpp"
#include "nat_log.hpp"
#include "pair_link.hpp"
#include "waygate/journal.hpp"
#include "waygate/net/prefix.hpp"
#include "waygate/metric_names.hpp"
#include "waygate/net/prohibited.hpp"
#include "waygate/plugin.hpp"

namespace waygate::nat {

namespace {

using namespace std::chrono_literals;

constexpr Duration kTick = 1s;  // the expiry sweep runs once a second over 1/16 of the table
// What the workers hand each other: a packet to process inbound, a batch of session events.
constexpr std::uint32_t kInbound = 1, kEvents = 2;
static_assert(std::is_trivially_copyable_v<SessionEvent>);

Duration timeout(const Config& c, std::string_view key, Duration fallback) {
  const Duration d = c.duration(key, fallback);
  if (d < 1s || d > std::chrono::hours(24 * 30)) c.fail(key, "expected a duration from 1s to 30 days");
  return d;
}

std::optional<net::Address> address(const Config& c, std::string_view key, int family) {
  if (!c.has(key)) {
    c.accept(key);
    return std::nullopt;
  }
  const std::string text = c.string(key);
  auto a = net::parse_address(text);
  if (!a || (family == 4) != a->is_v4())
    c.fail(key, "'" + text + "' is not an IPv" + std::to_string(family) + " address");
  return a;
}

Settings read_settings(const Config& c, const Directory& directory, unsigned worker, unsigned workers) {
  Settings s;
  s.workers = workers;
  // The egress edge keeps the kernel off the same ports, so they are the directory's, read by both.
  if (c.has("port_range"))
    c.fail("port_range", "port_range moved to [[socket]] egress_ports, beside the socket's egress addresses");
  s.block_size = static_cast<std::uint32_t>(c.integer("block_size", 512, 1, 65535));
  s.max_sessions = static_cast<std::uint32_t>(c.integer("max_sessions", 1000000, 1, 1 << 28));
  s.default_socket = static_cast<std::uint32_t>(c.integer("default_socket", 0, 0, 0xfffffffe));
  const std::string filtering = c.string("filtering", "address-and-port-dependent");
  if (filtering == "address-and-port-dependent") {
    s.filtering = Filtering::address_and_port_dependent;
  } else if (filtering == "endpoint-independent") {
    s.filtering = Filtering::endpoint_independent;
  } else {
    c.fail("filtering", "expected \"address-and-port-dependent\" or \"endpoint-independent\", got '" +
                            filtering + "'");
  }
  s.tcp_established = timeout(c, "tcp_established", std::chrono::minutes(124));
  s.tcp_transitory = timeout(c, "tcp_transitory", std::chrono::minutes(4));
  s.udp = timeout(c, "udp", std::chrono::minutes(2));
  s.icmp = timeout(c, "icmp", std::chrono::seconds(60));

  for (const Config& t : c.tables("socket")) {
    SocketSettings so;
    so.id = static_cast<std::uint32_t>(t.integer("id", 0, 0xfffffffe));
    so.egress4 = address(t, "egress4", 4);
    so.egress6 = address(t, "egress6", 6);
    if (!so.egress4 && !so.egress6) t.fail("", "a socket needs egress4, egress6 or both");
    // Its ports are those of the directory's socket with its id (the one policy sends it), where
    // there is one.
    if (so.id < directory.sockets.size()) {
      so.ports = directory.sockets[so.id].egress_ports;
      so.name = directory.sockets[so.id].name;
    }
    for (const auto& other : s.sockets) {
      if (other.id == so.id) t.fail("id", "socket " + std::to_string(so.id) + " is listed twice");
      if (so.egress4 && other.egress4 == so.egress4)
        t.fail("egress4", "address " + so.egress4->to_string() + " belongs to socket " + std::to_string(other.id));
      if (so.egress6 && other.egress6 == so.egress6)
        t.fail("egress6", "address " + so.egress6->to_string() + " belongs to socket " + std::to_string(other.id));
    }
    t.complete();
    s.sockets.push_back(std::move(so));
  }
  // Without tables of its own, the directory's sockets with an egress address: the socket's
  // position is its id (what policy writes into meta.socket).
  if (c.tables("socket").empty()) {
    for (std::size_t i = 0; i < directory.sockets.size(); ++i) {
      SocketSettings so;
      so.id = static_cast<std::uint32_t>(i);
      so.ports = directory.sockets[i].egress_ports;
      so.name = directory.sockets[i].name;
      for (const auto& a : directory.sockets[i].egress) {
        auto& slot = a.is_v4() ? so.egress4 : so.egress6;
        if (!slot) slot = a;
      }
      if (so.egress4 || so.egress6) s.sockets.push_back(so);
    }
  }
  if (s.sockets.empty())
    c.fail("socket", "no socket to translate for: list [[stage.socket]] tables (id, egress4, egress6), "
                     "or give the directory's [[socket]] an egress address");
  for (auto& so : s.sockets) {
    so.whole = so.ports;
    so.ports = so.ports.share(worker, workers);
  }
  if (std::none_of(s.sockets.begin(), s.sockets.end(), [&](auto& so) { return so.id == s.default_socket; }))
    c.fail("default_socket", "no socket has id " + std::to_string(s.default_socket));
  for (const auto& so : s.sockets)
    if (so.ports.last < so.ports.first || s.block_size > so.ports.size())
      c.fail("block_size", workers == 1 ? "is larger than the " + std::to_string(so.ports.size()) + " ports of " +
                                              label(so) + " (egress_ports " + to_string(so.ports) + ")"
                                        : "is larger than a worker's share of the ports of " + label(so) + " (egress_ports " +
                                              to_string(so.whole) + " shared by [host] workers = " +
                                              std::to_string(workers) + ": " + to_string(so.ports) + " here)");
  return s;
}

Metrics bind(Context& ctx) {
  Metrics m;
  static constexpr const char* protocols[] = {"tcp", "udp", "icmp"};
  for (int i = 0; i < 3; ++i)
    m.sessions[static_cast<std::size_t>(i)] =
        ctx.gauge("sessions", "Live NAT sessions", {{"protocol", protocols[i]}});
  m.translations[0] = ctx.counter("translations_total", "Packets translated", {{"direction", "outbound"}});
  m.translations[1] = ctx.counter("translations_total", "Packets translated", {{"direction", "inbound"}});
  m.created = ctx.counter("sessions_created_total", "NAT sessions created");
  m.expired = ctx.counter("sessions_expired_total", "NAT sessions expired by their idle timeout");
  m.blocks = ctx.gauge("blocks_in_use", "Port blocks held by identities");
  return m;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

class NatStage final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit NatStage(Context& ctx)
      : ctx_(ctx),
        engine_(bind(ctx), random_seed()),
        log_(ctx, "log"),
        standby_(ctx.drop_reason("standby")),
        handover_full_(ctx.drop_reason("handover_full")),
        handed_(ctx.counter("handed_over_total", "Packets handed to the worker whose share of the ports they are for")),
        events_lost_(ctx.counter("log_events_lost_total", "Session starts and ends not handed to the worker writing the log")) {
    for (std::size_t r = 1; r < drops_.size(); ++r) drops_[r] = ctx.drop_reason(reason_name(static_cast<Reason>(r)));
  }

  void configure(const Config& c) override {
    Settings next = read_settings(c, *ctx_.directory(), ctx_.worker(), ctx_.workers());
    LogSettings log{c.string("log", ""),
                    static_cast<std::uint64_t>(c.integer("log_max_size", 100 << 20, 4096, std::int64_t{1} << 40)),
                    static_cast<unsigned>(c.integer("log_keep", 5, 1, 20))};
    if (running_ && log.path != log_settings_.path) c.fail("log", "changing the NAT log needs a restart");
    std::optional<PairSettings> pair;
    if (c.has("pair")) {
      if (ctx_.workers() > 1)
        c.fail("pair", "a connector pair's NAT runs on one worker, and [host] workers = " + std::to_string(ctx_.workers()));
      pair = read_pair(c.table("pair"));
    }
    if (running_ && (pair.has_value() != (pair_ != nullptr) ||
                     (pair && (pair->listen_text != pair_->settings().listen_text || pair->peer_text != pair_->settings().peer_text ||
                               pair->key != pair_->settings().key))))
      c.fail("pair", "changing [stage.pair] needs a restart (its role follows keepalived, through the admin API)");
    std::vector<std::pair<std::uint32_t, Gauge>> per_socket;
    for (auto& so : next.sockets) {
      std::string name = so.name.empty() ? std::to_string(so.id) : so.name;
      per_socket.emplace_back(so.id, ctx_.gauge(metric::kSocketSessions, "Live NAT sessions of a socket", {{"socket", name}}));
    }
    if (auto error = engine_.configure(std::move(next))) c.fail(error->key, error->message);
    if (pair && !running_) pair_ = std::make_unique<PairLink>(ctx_, engine_, std::move(*pair));
    log_settings_ = log;
    directory_ = ctx_.directory();
    for (auto& [id, gauge] : socket_sessions_) gauge.set(0);  // a socket gone has none
    socket_sessions_ = std::move(per_socket);
    count_sockets();
  }

  void start() override {
    if (writes_log()) log_.open(log_settings_.path, log_settings_.max_size, log_settings_.keep);
    running_ = true;
    if (!timer_armed_) {
      timer_ = ctx_.timer([this] { tick(); });
      timer_armed_ = true;
    }
    timer_.arm_in(kTick);
    if (pair_) pair_->start();
  }

  void stop() override {
    if (pair_) pair_->stop();
    timer_.cancel();
    drain_log();
    log_.close();
    running_ = false;
  }

  void on_io(const Completion& c, Output&) override {
    if (log_.owns(c)) {
      log_.done(c);
    } else if (pair_ && pair_->owns(c)) {
      engine_.set_clock(ctx_.now(), ctx_.wall());  // the sessions it brings start (and are logged) now
      pair_->done(c);
      drain_log();  // what the standby took from the datagram
    } else {
      ctx_.pool().free(c.packet);
    }
  }

  void process(Burst& burst, Output& out) override {
    engine_.set_clock(ctx_.now(), ctx_.wall());
    if (pair_ && !pair_->active()) {  // a standby holds the table and forwards nothing
      for (Packet* p : burst) out.drop(p, standby_);
      return;
    }
    const Direction d = burst.direction();
    for (Packet* p : burst) {
      const Result r = engine_.process(*p, d);
      switch (r.verdict) {
        case Verdict::pass: out.pass(p); break;
        case Verdict::hairpin: out.reply(p); break;
        case Verdict::drop: out.drop(p, drops_[static_cast<std::size_t>(r.reason)]); break;
        case Verdict::prohibit:
          drops_[static_cast<std::size_t>(r.reason)].add();
          if (prohibit(*p)) out.reply(p);
          else ctx_.pool().free(p);
          break;
        case Verdict::elsewhere: hand_over(p, r.worker, out); break;
      }
    }
    drain_log();
    if (pair_) pair_->flush();
  }

  // From another worker: a packet for a port of this worker's share, or its session events.
  void on_handed(Packet* p, std::uint32_t tag, Output& out) override {
    engine_.set_clock(ctx_.now(), ctx_.wall());
    if (tag == kEvents) {
      write_events(*p);
      ctx_.pool().free(p);
      return;
    }
    const Result r = engine_.process(*p, Direction::inbound);
    if (r.verdict == Verdict::pass) out.pass(p, Direction::inbound);
    else out.drop(p, drops_[static_cast<std::size_t>(r.verdict == Verdict::elsewhere ? Reason::no_session : r.reason)]);
    drain_log();
  }

 private:
  void tick() {
    engine_.set_clock(ctx_.now(), ctx_.wall());
    engine_.sweep();
    drain_log();
    count_sockets();
    timer_.arm_in(kTick);
  }

  // The sessions per socket, as of this tick: a level the stats stage and /metrics read.
  void count_sockets() {
    for (auto& [id, gauge] : socket_sessions_) gauge.set(static_cast<std::int64_t>(engine_.socket_sessions(id)));
  }

  bool writes_log() const { return ctx_.worker() == 0; }

  void hand_over(Packet* p, unsigned worker, Output& out) {
    if (ctx_.hand_over(worker, p, kInbound)) handed_.add();
    else out.drop(p, handover_full_);
  }

  // Session starts and ends since the last burst or tick, to the log (or nowhere without one); on
  // any worker but the first, handed to it in packets of as many as fit.
  void drain_log() {
    if (writes_log()) {
      engine_.drain_events([this](const SessionEvent& e) { write_event(e); });
      return;
    }
    Packet* batch = nullptr;
    auto send = [&] {
      if (batch != nullptr && !ctx_.hand_over(0, batch, kEvents)) {
        events_lost_.add(batch->size() / sizeof(SessionEvent));
        ctx_.pool().free(batch);
      }
      batch = nullptr;
    };
    engine_.drain_events([&](const SessionEvent& e) {
      if (log_settings_.path.empty()) return;
      if (batch != nullptr && batch->tailroom() < sizeof e) send();
      if (batch == nullptr && (batch = ctx_.pool().alloc()) != nullptr) batch->reset(0);
      if (batch == nullptr) return events_lost_.add();
      const std::size_t at = batch->size();
      batch->resize(at + sizeof e);
      std::memcpy(batch->data() + at, &e, sizeof e);
    });
    send();
  }

  void write_events(const Packet& batch) {
    for (std::size_t at = 0; at + sizeof(SessionEvent) <= batch.size(); at += sizeof(SessionEvent)) {
      SessionEvent e;
      std::memcpy(&e, batch.data() + at, sizeof e);
      write_event(e);
    }
  }

  void write_event(const SessionEvent& e) {
    if (!log_.is_open()) return;
    format_session(line_, e, *directory_, e.replicated && pair_ ? pair_->peer_connector() : ctx_.connector());
    log_.write(line_);
  }

  // Rewrites the refused packet, in its own buffer, into the ICMP error that answers it from the
  // socket's egress address.
  bool prohibit(Packet& p) {
    if (p.empty()) return false;
    const net::Address* from = engine_.answer_from(p.meta, static_cast<std::uint8_t>(p.data()[0] >> 4));
    return from != nullptr && net::prohibit(p, *from);
  }

  Context& ctx_;
  Engine engine_;
  std::array<Drop, static_cast<std::size_t>(Reason::count)> drops_{};
  Timer timer_;
  bool timer_armed_ = false;
  struct LogSettings {
    std::string path;
    std::uint64_t max_size = 0;
    unsigned keep = 5;
  };
  LogSettings log_settings_;
  Journal log_;
  std::string line_;  // reused: formatting a session allocates nothing once it has grown
  std::shared_ptr<const Directory> directory_;
  std::vector<std::pair<std::uint32_t, Gauge>> socket_sessions_;  // by socket id
  Drop standby_, handover_full_;
  Counter handed_, events_lost_;
  std::unique_ptr<PairLink> pair_;  // with [stage.pair]: one of a connector pair
  bool running_ = false;
};

}  // namespace

}  // namespace waygate::nat

WAYGATE_PLUGIN(waygate::nat::NatStage, "nat", "0.1.0")
WAYGATE_COMMANDS({"nat-lookup", "Who had this public address and port at that time? (from the NAT log)",
                  &waygate::nat::nat_lookup_command})
