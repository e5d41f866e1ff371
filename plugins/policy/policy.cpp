// The policy stage: an identity's packets pass only to sockets a policy lets it use, and through an
// exit node only to what it reaches (the internet by default, reach.hpp), with the socket written
// into their metadata for nat and stats; everything else is dropped with the reason. Verdicts are cached per identity and socket (access.hpp) and re-evaluated when the
// directory changes, when an identity's endpoint changes and when a time window turns, so the
// packet path evaluates no policy. A revoked identity loses its forwarding at once, both ways,
// established flows included. It also serves the clients' API (client_api.hpp), the access graph
// and the directory (/v1/sockets, /v1/policies) on the admin API, and writes the audit log.
// With more than one worker ([host] workers) every worker's instance holds the same verdicts: an
// endpoint one of them sees is handed to the others, a client's choice of exit node is made on
// all. Each change is audited once: by the worker that saw the endpoint that caused it, or by the
// first worker when the directory or the clock did.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include <boost/json.hpp>
#include <boost/url/params_view.hpp>
#include <fmt/format.h>

#include "access.hpp"
#include "address_watch.hpp"
#include "client_api.hpp"
#include "geoip.hpp"
#include "directory_json.hpp"
#include "graph.hpp"
#include "reach.hpp"
#include "waygate/journal.hpp"
#include "waygate/net/headers.hpp"
#include "waygate/net/ip.hpp"
#include "waygate/net/interfaces.hpp"
#include "waygate/plugin.hpp"
#include "waygate/utc.hpp"

namespace waygate::policy {

namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kAddressWatch = 1;  // the netlink socket's reads (the journal's tags are its own)
constexpr std::uint32_t kEndpointSeen = 1;  // handed over: meta.identity was seen at meta.endpoint

// Every address of the connector, in the namespace the host runs in.
std::vector<net::Address> own_addresses() {
  std::vector<net::Address> out;
  for (auto& a : net::interface_addresses()) out.push_back(a.address);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The destination (outbound) or source (inbound) of an IP packet; none if it is not one.
net::Address far_end(const Packet& p, Direction d) {
  return d == Direction::outbound ? net::ip::destination(p.bytes()) : net::ip::source(p.bytes());
}

net::Address near_end(const Packet& p, Direction d) { return far_end(p, opposite(d)); }

class PolicyStage final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit PolicyStage(Context& ctx)
      : ctx_(ctx),
        audit_(ctx, "audit"),
        malformed_(ctx.drop_reason("malformed")),
        no_identity_(ctx.drop_reason("no_identity")),
        no_exit_node_(ctx.drop_reason("no_exit_node")),
        denied_(ctx.drop_reason("denied")),
        not_internet_(ctx.drop_reason("not_internet")),
        decisions_granted_(ctx.counter("decisions_total", "Access decisions that changed", {{"verdict", "granted"}})),
        decisions_denied_(ctx.counter("decisions_total", "Access decisions that changed", {{"verdict", "denied"}})),
        tick_(ctx.timer([this] { on_tick(); })) {
    access_.on_change = [this](const Change& c) { audit(c); };
    access_.country_of = [this](const net::Address& a) { return geoip_ ? geoip_->country(a) : std::string(); };
  }

  void configure(const Config& c) override {
    std::string audit_log = c.string("audit_log", "");
    std::string geoip_file = c.string("geoip", "");
    std::optional<GeoIp> geoip;
    if (!geoip_file.empty()) {
      try {
        geoip.emplace(geoip_file);
      } catch (const std::exception& e) {
        c.fail("geoip", e.what());
      }
    }
    auto& policies = ctx_.directory()->policies;
    for (auto& p : policies)
      if (!p.conditions.countries.empty() && !geoip)
        c.fail("geoip", fmt::format("policy '{}' has a country condition: name a GeoIP database "
                                    "(a MaxMind DB file) here", p.name));
    if (running_ && audit_log != audit_log_) c.fail("audit_log", "changing the audit log needs a restart");
    audit_log_ = audit_log;
    if (geoip) geoip_.emplace(std::move(*geoip));
    else geoip_.reset();
    if (running_) apply();
  }

  void start() override {
    audit_.open(audit_log_);
    // Without the watch the connector's addresses are read again at each reload only: said once.
    watch_ = open_address_watch();
    if (watch_ >= 0) ctx_.io().read_many(watch_, kAddressWatch);
    else ctx_.log().warn("cannot follow the connector's address changes (netlink: {}): they are read at each reload",
                         std::strerror(errno));
    running_ = true;
    apply();
    ctx_.serve(Listener::tunnel, "/v1/routes", [this](const Request& r) { return answer_client(access_, r); });
    // Every worker makes the client's choice, each answering alike.
    ctx_.serve(Listener::tunnel, "/v1/exit-node", [this](const Request& r) { return answer_client(access_, r); },
               [](std::vector<Response> answers) { return std::move(answers.front()); });
    ctx_.serve(Listener::admin, "/v1/access-graph", [this](const Request& r) { return graph(r); });
    ctx_.serve(Listener::admin, "/v1/sockets",
               [this](const Request&) { return Response{200, "application/json", sockets_json(access_.directory(), reach_)}; });
    ctx_.serve(Listener::admin, "/v1/policies",
               [this](const Request&) { return Response{200, "application/json", policies_json(access_.directory())}; });
  }

  void stop() override {
    running_ = false;
    tick_.cancel();
    audit_.close();
    if (watch_ >= 0) {
      ctx_.io().cancel(watch_);
      ::close(watch_);
      watch_ = -1;
    }
  }

  void process(Burst& burst, Output& out) override {
    const Direction d = burst.direction();
    for (Packet* p : burst) {
      net::Address far = far_end(*p, d);
      if (far.family() == net::Family::none) {
        out.drop(p, malformed_);
        continue;
      }
      std::uint32_t identity = p->meta.identity;
      if (identity == kNoId && d == Direction::inbound) identity = access_.identity_at(near_end(*p, d));
      if (identity == kNoId || identity >= access_.directory().identities.size()) {
        out.drop(p, no_identity_);
        continue;
      }
      if (d == Direction::outbound && !p->meta.endpoint.empty() && !access_.endpoint_is(identity, p->meta.endpoint))
        seen_at(identity, p->meta.endpoint);
      std::uint32_t socket = d == Direction::inbound && p->meta.socket != kNoId
                                 ? p->meta.socket
                                 : access_.socket_for(identity, far);
      if (socket == kNoId) {
        out.drop(p, no_exit_node_);
        continue;
      }
      if (socket >= access_.directory().sockets.size() || !access_.granted(identity, socket)) {
        out.drop(p, denied_);
        continue;
      }
      p->meta.identity = identity;
      p->meta.socket = socket;
      if (d == Direction::outbound && !reach_.reaches(socket, far)) {
        out.drop(p, not_internet_);
        continue;
      }
      out.pass(p);
    }
  }

  // Another worker's instance saw an identity at a new endpoint (and audited what it changed).
  void on_handed(Packet* p, std::uint32_t tag, Output&) override {
    if (tag == kEndpointSeen && p->meta.identity < access_.directory().identities.size()) {
      speaks_ = false;
      access_.set_endpoint(p->meta.identity, p->meta.endpoint, now());
      speaks_ = true;
    }
    ctx_.pool().free(p);
  }

  void on_io(const Completion& c, Output&) override {
    if (audit_.owns(c)) return audit_.done(c);
    if (c.packet != nullptr) ctx_.pool().free(c.packet);
    addresses_changed_ |= c.tag == kAddressWatch;
  }

  // A turn's address messages, however many, are one new look at the list.
  void flush(Output&) override {
    if (!addresses_changed_) return;
    addresses_changed_ = false;
    auto own = own_addresses();
    if (own == reach_.own()) return;
    reach_.build(access_.directory(), own);
    if (ctx_.worker() == 0)
      ctx_.log().info("the connector's addresses changed: {} now, kept out of every exit node", own.size());
  }

 private:
  std::chrono::sys_seconds now() const { return std::chrono::floor<std::chrono::seconds>(ctx_.wall()); }

  // The graph, or with ?identity=NAME&socket=NAME the verdict for that pair as things stand now
  // (its current endpoint and country, this moment) and why; with &to=ADDRESS (identity optional)
  // also whether the socket reaches that destination, and why (not).
  Response graph(const Request& r) const {
    std::string identity, socket, to;
    for (auto param : boost::urls::params_view(r.query)) {
      if (param.key == "identity") identity = param.value;
      if (param.key == "socket") socket = param.value;
      if (param.key == "to") to = param.value;
    }
    const Directory& d = access_.directory();
    if (identity.empty() && socket.empty() && to.empty()) return {200, "application/json", graph_json(d)};
    std::uint32_t i = d.identity_by_name(identity), s = d.socket_by_name(socket);
    if ((!identity.empty() || to.empty()) && i == kNoId) return not_found("no such identity");
    if (s == kNoId) return not_found("no such socket");
    boost::json::object answer{{"socket", socket}};
    if (i != kNoId) {
      Verdict v = evaluate(d, i, s, access_.situation(i, now()));
      answer["identity"] = identity;
      answer["granted"] = v.granted;
      answer["reason"] = v.explain(d, s);
    }
    if (!to.empty()) {
      auto destination = net::parse_address(to);
      if (!destination) return {400, "application/json", R"({"error":"to: not an IP address"})" "\n"};
      net::Reachability reach = reach_.explain(s, *destination);
      answer["to"] = destination->to_string();
      answer["reached"] = reach.reached;
      answer["reach"] = reach.why;
    }
    return {200, "application/json", boost::json::serialize(answer) + "\n"};
  }

  static Response not_found(std::string_view what) {
    return {404, "application/json", boost::json::serialize(boost::json::object{{"error", what}}) + "\n"};
  }

  // An identity's packets came from a new endpoint: its verdicts again, here and on the other workers.
  void seen_at(std::uint32_t identity, const Endpoint& endpoint) {
    access_.set_endpoint(identity, endpoint, now());
    for (unsigned w = 0; w < ctx_.workers(); ++w) {
      if (w == ctx_.worker()) continue;
      Packet* note = ctx_.pool().alloc();
      if (note == nullptr) continue;  // that worker keeps the old endpoint until the next change
      note->reset(0);
      note->meta.identity = identity;
      note->meta.endpoint = endpoint;
      if (!ctx_.hand_over(w, note, kEndpointSeen)) ctx_.pool().free(note);
    }
  }

  // What the directory or the clock changes, every worker's instance changes alike: the first says so.
  void apply() {
    speaks_ = ctx_.worker() == 0;
    access_.reset(ctx_.directory(), now());
    reach_.build(access_.directory(), own_addresses());
    signature_ = access_.time_signature(now());
    speaks_ = true;
    tick_.cancel();
    if (access_.has_time_conditions()) arm_tick();
  }

  // Windows are written to the minute: looking at each minute's turn sees every one open and close.
  void arm_tick() {
    auto wall = ctx_.wall();
    auto next = std::chrono::ceil<std::chrono::minutes>(wall + 1ms);
    tick_.arm_in(std::chrono::duration_cast<Duration>(next - wall));
  }

  void on_tick() {
    auto signature = access_.time_signature(now());
    if (signature != signature_) {
      signature_ = std::move(signature);
      speaks_ = ctx_.worker() == 0;
      access_.reevaluate(now());
      speaks_ = true;
    }
    arm_tick();
  }

  void audit(const Change& c) {
    if (!speaks_) return;
    const Directory& d = access_.directory();
    bool granted = c.verdict->granted;
    (granted ? decisions_granted_ : decisions_denied_).add();
    boost::json::object line{
        {"time", format_utc(now())},
        {"event", granted ? "granted" : "denied"},
        {"identity", d.identities[c.identity].name},
        {"endpoint", to_string(*c.endpoint)},
        {"socket", d.sockets[c.socket].name},
        {"reason", c.verdict->explain(d, c.socket)}};
    std::string text = boost::json::serialize(line);
    ctx_.log().event(Level::info, {{"identity", d.identities[c.identity].name}, {"socket", d.sockets[c.socket].name}},
                     "access {}", text);
    audit_.write(text);
  }

  Context& ctx_;
  Access access_;
  Reach reach_;
  int watch_ = -1;  // the address watch's netlink socket
  bool addresses_changed_ = false;
  Journal audit_;
  std::optional<GeoIp> geoip_;
  std::string audit_log_;
  bool running_ = false;
  bool speaks_ = true;  // whether a change now is this instance's to audit (see the top)
  std::vector<bool> signature_;
  Drop malformed_, no_identity_, no_exit_node_, denied_, not_internet_;
  Counter decisions_granted_, decisions_denied_;
  Timer tick_;
};

}  // namespace

}  // namespace waygate::policy

WAYGATE_PLUGIN(waygate::policy::PolicyStage, "policy", "0.1.0")
WAYGATE_COMMANDS({"access-graph", "Show who reaches which socket through which policy, and why not",
                  &waygate::policy::access_graph_command})
