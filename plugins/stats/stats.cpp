// The stats stage: per socket (exit node) and per identity, bytes and packets each way, the
// clients active on each socket, and a time series per socket at 10-second resolution for 24
// hours, kept across restarts in `history`. It sits after policy, which writes Meta::socket and
// Meta::identity; the packet path adds to per-worker counters and touches nothing shared. What
// other stages count about the same sockets and identities it reads from the process's metrics
// (attributed.hpp): drops by reason, NAT sessions, WireGuard handshakes. What it knows is on the
// admin API (/v1/stats, /v1/stats/series) for `waygate stats` and the portal, and in /metrics.
// With more than one worker each instance counts the traffic of its own worker and /v1/stats
// gathers them (gathered.hpp); the first worker keeps the series, sampled from the sums in the
// process's metrics, and the history file.
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>
#include <boost/url/params_view.hpp>

#include "attributed.hpp"
#include "gathered.hpp"
#include "history.hpp"
#include "stats_command.hpp"
#include "waygate/metric_names.hpp"
#include "waygate/plugin.hpp"

namespace waygate::stats {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr int kInterval = 10;  // seconds per sample
constexpr std::string_view kSocketBytes = "socket_bytes_total", kSocketPackets = "socket_packets_total";

std::string label(const MetricSample& m, std::string_view name) {
  for (auto& [k, v] : m.labels)
    if (k == name) return v;
  return "";
}

struct Flow {  // [0] outbound (from clients), [1] inbound (to clients)
  Counter bytes[2], packets[2];
};

Flow flow(Context& ctx, std::string_view prefix, const Labels& who) {
  Flow f;
  for (int d = 0; d < 2; ++d) {
    Labels l = who;
    l.emplace_back("direction", d == 0 ? "outbound" : "inbound");
    f.bytes[d] = ctx.counter(std::string(prefix) + "_bytes_total", "Bytes through the stage", l);
    f.packets[d] = ctx.counter(std::string(prefix) + "_packets_total", "Packets through the stage", l);
  }
  return f;
}

json::object moved(const Flow& f) {
  return json::object{{"bytes", json::object{{"outbound", f.bytes[0].value()}, {"inbound", f.bytes[1].value()}}},
                      {"packets", json::object{{"outbound", f.packets[0].value()}, {"inbound", f.packets[1].value()}}}};
}

json::object reasons(const std::map<std::string, std::uint64_t>& by_reason) {
  json::object o;
  for (auto& [reason, n] : by_reason) o[reason] = n;
  return o;
}

class StatsStage final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit StatsStage(Context& ctx) : ctx_(ctx), tick_(ctx.timer([this] { sample(); })) {}

  void configure(const Config& c) override {
    std::string history = c.string("history", "");
    Duration active = c.duration("active", 3min);
    if (running_ && history != history_path_) c.fail("history", "changing the history file needs a restart");
    // Everything by the new directory's positions; series and last-seen times follow names.
    auto d = ctx_.directory();
    std::vector<Socket> sockets;
    std::optional<std::map<std::string, Moved>> sums;  // read once, for the sockets new here
    History series;
    for (auto& s : d->sockets) {
      auto it = series_.find(s.name);
      series.emplace(s.name, it != series_.end() ? std::move(it->second) : Series{});
      sockets.push_back({flow(ctx_, "socket", {{"socket", s.name}}),
                         ctx_.gauge(metric::kSocketClients, "Identities that sent through the socket lately", {{"socket", s.name}}),
                         ctx_.gauge("socket_handshakes", "WireGuard handshakes of the identities now on the socket",
                                    {{"socket", s.name}}),
                         {}});
      // The next sample counts from the last one: what moved before a reload is not lost. A socket
      // new to this instance counts from now.
      Socket& next = sockets.back();
      next.last = Moved{};
      for (std::size_t old = 0; old < directory_->sockets.size() && old < sockets_.size(); ++old)
        if (directory_->sockets[old].name == s.name) next.last = sockets_[old].last;
      if (!next.last) {
        if (!sums) sums = moved_by_socket(ctx_.metrics());
        next.last = (*sums)[s.name];
      }
    }
    std::unordered_map<std::string_view, std::size_t> was;  // by name: 10,000 identities, searched 10,000 times
    for (std::size_t old = 0; old < directory_->identities.size() && old < identities_.size(); ++old)
      was.emplace(directory_->identities[old].name, old);
    std::vector<Identity> identities;
    identities.reserve(d->identities.size());
    for (auto& id : d->identities) {
      Identity next{flow(ctx_, "identity", {{"identity", id.name}}), Time::min(), kNoId};
      if (auto it = was.find(id.name); it != was.end()) {
        const Identity& old = identities_[it->second];
        next.last_seen = old.last_seen;
        next.socket = old.socket == kNoId ? kNoId : d->socket_by_name(directory_->sockets[old.socket].name);
      }
      identities.push_back(next);
    }
    if (!running_ && !history.empty() && keeps_series()) {
      try {
        load_history(history, series);
      } catch (const std::exception& e) {
        c.fail("history", std::string("cannot read the traffic history: ") + e.what());
      }
    }
    history_path_ = history;
    active_ = active;
    directory_ = std::move(d);
    sockets_ = std::move(sockets);
    identities_ = std::move(identities);
    series_ = std::move(series);
  }

  void start() override {
    running_ = true;
    tick_.arm_in(std::chrono::seconds(kInterval));
    ctx_.serve(Listener::admin, "/v1/stats", [this](const Request&) { return totals(); }, gather_totals);
    ctx_.serve(Listener::admin, "/v1/stats/series", [this](const Request& r) { return series(r); });
  }

  void stop() override {
    running_ = false;
    tick_.cancel();
    if (history_path_.empty() || !keeps_series()) return;
    try {
      save_history(history_path_, series_, kInterval);
    } catch (const std::exception& e) {
      ctx_.log().error("saving the traffic history: {}", e.what());
    }
  }

  void process(Burst& burst, Output& out) override {
    const int d = burst.direction() == Direction::outbound ? 0 : 1;
    const Time now = ctx_.now();
    for (Packet* p : burst) {
      const std::uint32_t s = p->meta.socket, i = p->meta.identity;
      if (s < sockets_.size()) {
        sockets_[s].flow.bytes[d].add(p->size());
        sockets_[s].flow.packets[d].add();
      }
      if (i < identities_.size()) {
        Identity& id = identities_[i];
        id.flow.bytes[d].add(p->size());
        id.flow.packets[d].add();
        if (d == 0) {
          id.last_seen = now;
          id.socket = s;
        }
      }
      out.pass(p);
    }
  }

 private:
  // What moved through a socket, summed over the workers (each way, as in Flow), or nothing yet.
  struct Moved {
    bool known = false;
    std::uint64_t bytes[2] = {0, 0}, packets[2] = {0, 0};
    explicit operator bool() const { return known; }
  };
  struct Socket {
    Flow flow;
    Gauge clients;
    Gauge handshakes;
    Moved last;  // at the last sample
  };

  // The first worker's instance keeps the series (and its file); every instance counts.
  bool keeps_series() const { return ctx_.worker() == 0; }

  // Every socket's traffic by name, summed over the workers, from the process's metrics.
  static std::map<std::string, Moved> moved_by_socket(const std::vector<MetricSample>& metrics) {
    std::map<std::string, Moved> by_name;
    for (auto& m : metrics) {
      const bool bytes = metric::is(m.name, kSocketBytes);
      if (!bytes && !metric::is(m.name, kSocketPackets)) continue;
      Moved& x = by_name[label(m, "socket")];
      x.known = true;
      const int d = label(m, "direction") == "outbound" ? 0 : 1;
      (bytes ? x.bytes : x.packets)[d] += static_cast<std::uint64_t>(m.value);
    }
    return by_name;
  }
  struct Identity {
    Flow flow;
    Time last_seen;
    std::uint32_t socket;  // the one its last outbound packet went to
  };

  bool active(const Identity& id) const { return id.last_seen != Time::min() && ctx_.now() - id.last_seen <= active_; }

  // Per socket, the identities that sent through it within `active`.
  std::vector<std::uint32_t> clients() const {
    std::vector<std::uint32_t> n(sockets_.size(), 0);
    for (auto& id : identities_)
      if (active(id) && id.socket < n.size()) ++n[id.socket];
    return n;
  }

  // Every worker sets its share of the clients and handshakes gauges (those of the identities it
  // saw, which /metrics sums); the first then samples the sums into the series.
  void sample() {
    tick_.arm_in(std::chrono::seconds(kInterval));
    const std::vector<std::uint32_t> clients = this->clients();
    for (std::size_t s = 0; s < sockets_.size(); ++s) sockets_[s].clients.set(clients[s]);
    const std::vector<MetricSample> metrics = ctx_.metrics();
    const Attributed others = attributed(metrics);
    for (std::size_t s = 0; s < sockets_.size(); ++s)
      sockets_[s].handshakes.set(static_cast<std::int64_t>(others.socket_handshakes[s]));
    if (!keeps_series()) return;
    const auto time = std::chrono::duration_cast<std::chrono::seconds>(ctx_.wall().time_since_epoch()).count();
    std::map<std::string, Moved> sums = moved_by_socket(metrics);
    std::map<std::string, std::uint32_t> everyone;  // clients, as every worker's gauge said last
    for (auto& m : metrics)
      if (metric::is(m.name, metric::kSocketClients)) everyone[label(m, "socket")] += static_cast<std::uint32_t>(m.value);
    for (std::size_t s = 0; s < sockets_.size(); ++s) {
      Socket& sock = sockets_[s];
      const std::string& name = directory_->sockets[s].name;
      const Moved& now = sums[name];
      Sample x;
      x.time = time;
      for (int d = 0; d < 2; ++d) {
        x.bytes[d] = now.bytes[d] - sock.last.bytes[d];
        x.packets[d] = now.packets[d] - sock.last.packets[d];
      }
      sock.last = now;
      x.clients = everyone[name];
      series_[name].push(x);
    }
  }

  // What other stages counted, attributed to the sockets and identities of this directory; an
  // identity's handshakes count for the socket it last sent to.
  Attributed attributed(const std::vector<MetricSample>& metrics) const {
    std::vector<std::uint32_t> socket_of;
    for (auto& id : identities_) socket_of.push_back(id.socket);
    return attribute(metrics, *directory_, socket_of);
  }

  Response totals() const {
    json::array sockets, identities;
    const std::vector<std::uint32_t> active_now = clients();
    const Attributed others = attributed(ctx_.metrics());
    for (std::size_t s = 0; s < sockets_.size(); ++s) {
      const ::waygate::Socket& sock = directory_->sockets[s];
      json::object o = moved(sockets_[s].flow);
      o["name"] = sock.name;
      o["type"] = to_string(sock.type);
      o["description"] = sock.description;
      o["connectors"] = json::array(sock.connectors.begin(), sock.connectors.end());
      o["clients"] = active_now[s];
      o["drops"] = reasons(others.socket_drops[s]);
      o["nat_sessions"] = others.socket_sessions[s];
      o["handshakes"] = others.socket_handshakes[s];
      sockets.push_back(std::move(o));
    }
    for (std::size_t i = 0; i < identities_.size(); ++i) {
      const Identity& id = identities_[i];
      json::object o = moved(id.flow);
      o["name"] = directory_->identities[i].name;
      o["socket"] = id.socket < directory_->sockets.size() ? json::value(directory_->sockets[id.socket].name) : nullptr;
      o["active"] = active(id);
      o["drops"] = reasons(others.identity_drops[i]);
      o["handshakes"] = others.identity_handshakes[i];
      o["idle_seconds"] = id.last_seen == Time::min()
                              ? json::value(nullptr)
                              : json::value(std::chrono::duration_cast<std::chrono::seconds>(ctx_.now() - id.last_seen).count());
      identities.push_back(std::move(o));
    }
    json::object body{{"interval", kInterval}, {"sockets", sockets}, {"identities", identities}};
    return {200, "application/json", json::serialize(body) + "\n"};
  }

  Response series(const Request& r) const {
    std::string socket;
    std::int64_t since = 0;
    for (auto param : boost::urls::params_view(r.query)) {
      if (param.key == "socket") socket = param.value;
      if (param.key == "since") {
        const std::string v = param.value;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), since);
        if (ec != std::errc{} || end != v.data() + v.size())
          return {400, "application/json", R"({"error":"since: expected unix seconds"})" "\n"};
      }
    }
    auto it = series_.find(socket);
    if (it == series_.end()) return {404, "application/json", R"({"error":"no such socket"})" "\n"};
    return {200, "application/json",
            R"({"socket":")" + socket + R"(","interval":)" + std::to_string(kInterval) +
                R"(,"columns":["time","bytes_out","bytes_in","packets_out","packets_in","clients"],"samples":)" +
                series_json(it->second, since) + "}\n"};
  }

  Context& ctx_;
  Timer tick_;
  std::shared_ptr<const Directory> directory_ = std::make_shared<const Directory>();
  std::vector<Socket> sockets_;
  std::vector<Identity> identities_;
  History series_;
  std::string history_path_;
  Duration active_ = 3min;
  bool running_ = false;
};

}  // namespace

}  // namespace waygate::stats

WAYGATE_PLUGIN(waygate::stats::StatsStage, "stats", "0.1.0")
WAYGATE_COMMANDS({"stats", "Traffic per exit node and per client, from a running connector (--watch to follow)",
                  &waygate::stats::stats_command})
