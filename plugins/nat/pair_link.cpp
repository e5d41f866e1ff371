#include "pair_link.hpp"

#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <system_error>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/metric_names.hpp"
#include "waygate/net/bind.hpp"
#include "waygate/secret.hpp"

namespace waygate::nat {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kSliceRecords = 2048;  // of a snapshot, every 10 ms: a million sessions in 5 s

Endpoint endpoint(const Config& c, std::string_view key, std::string& text) {
  text = c.string(key);
  Endpoint e;
  if (!parse_endpoint(text, e)) c.fail(key, "'" + text + "' is not address:port (an IP literal and a port)");
  return e;
}

}  // namespace

PairSettings read_pair(const Config& c) {
  PairSettings s;
  s.listen = endpoint(c, "listen", s.listen_text);
  s.peer = endpoint(c, "peer", s.peer_text);
  const std::string file = c.string("key_file");
  std::string text;
  try {
    text = read_secret_file(file, "key file");
  } catch (const std::exception& e) {
    c.fail("key_file", e.what());
  }
  std::size_t n = 0;
  if (sodium_base642bin(s.key.data(), s.key.size(), text.data(), text.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      n != s.key.size())
    c.fail("key_file", file + " does not hold 32 bytes in base64 (make one with `waygate genpsk`, the same on both)");
  wipe(text);
  const std::string role = c.string("role", "standby");
  if (role != "active" && role != "standby") c.fail("role", "expected \"active\" or \"standby\"");
  s.active = role == "active";
  c.complete();
  return s;
}

PairLink::PairLink(Context& ctx, Engine& engine, PairSettings settings)
    : ctx_(ctx),
      engine_(engine),
      settings_(std::move(settings)),
      sent_(ctx.counter("pair_datagrams_total", "Datagrams of the pair's replication link", {{"direction", "sent"}})),
      received_(ctx.counter("pair_datagrams_total", "Datagrams of the pair's replication link", {{"direction", "received"}})),
      refused_(ctx.counter("pair_refused_total", "Datagrams on the pair's port that did not open with its key, or came from elsewhere")),
      lost_(ctx.counter("pair_lost_total", "Datagrams the active could not send (no buffer)")),
      snapshots_(ctx.counter("pair_snapshots_total", "Whole tables sent (active) or asked for (standby)")),
      split_brain_(ctx.counter("pair_split_brain_total", "Datagrams of an active peer heard while active: both active")),
      standby_(ctx.gauge(metric::kPairStandby, "1 while this connector is the pair's standby")) {
  batch_.reserve(kRecordsPerDatagram);
  header_.set_sender(ctx.connector());
  peer_connector_ = settings_.peer_text;
}

PairLink::~PairLink() { stop(); }

void PairLink::start() {
  fd_ = ::socket(settings_.listen.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "pair: socket");
  const int buffer = 4 << 20;  // a snapshot's slice and a burst's changes, between two turns
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (const int err = net::bind_port(fd_, &settings_.listen.addr.sa, settings_.listen.len); err != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::system_error(err, std::generic_category(), "pair: listen " + settings_.listen_text);
  }
  ctx_.io().receive_many(fd_, kTag);
  second_ = ctx_.timer([this] { tick(); });
  slice_ = ctx_.timer([this] { send_slice(); });
  second_.arm_in(1s);
  set_role(settings_.active);
  ctx_.serve(Listener::admin, "/v1/nat/pair", [this](const Request& r) { return answer(r); });
}

void PairLink::stop() {
  if (fd_ < 0) return;
  second_.cancel();
  slice_.cancel();
  ctx_.io().cancel(fd_);
  ::close(fd_);
  fd_ = -1;
}

void PairLink::set_role(bool active) {
  if (active && !active_) {
    // A new epoch: the standby (the old active, when it comes back) takes nothing of an earlier
    // one for this one's, and asks for the whole table.
    randombytes_buf(&epoch_, sizeof epoch_);
    sequence_ = 0;
    engine_.set_standby(false);
    engine_.record_changes(true);
    ctx_.log().warn("pair: active ({} sessions taken over), replicating to {}", engine_.session_count(), settings_.peer_text);
  } else if (!active && active_) {
    engine_.record_changes(false);
    engine_.set_standby(true);
    snapshot_cursor_ = Engine::kNone;
    replica_ = Replica{};
    split_ = false;
    ctx_.log().warn("pair: standby, following {}", settings_.peer_text);
  } else if (!active) {
    engine_.set_standby(true);
  }
  active_ = active;
  standby_.set(active ? 0 : 1);
}

void PairLink::send(Kind kind, const SessionChange* records, std::size_t count) {
  Packet* p = ctx_.pool().alloc();
  if (p == nullptr) {  // the standby sees the gap and asks for everything
    lost_.add();
    ++sequence_;
    return;
  }
  header_.kind = kind;
  header_.epoch = epoch_;
  header_.sequence = ++sequence_;
  const std::size_t n = seal(settings_.key, header_, {records, count}, p->writable());
  p->resize(n);
  p->meta.endpoint = settings_.peer;
  ctx_.io().send(fd_, p, kTag | 1);
  sent_.add();
}

void PairLink::send_changes() {
  if (engine_.changes_lost()) {  // the ring overflowed: the standby needs everything again
    snapshots_.add();
    snapshot_cursor_ = 0;
    send(Kind::snapshot_begin, nullptr, 0);
    slice_.arm_in(0ns);
  }
  engine_.drain_changes([this](const SessionChange& c) {
    batch_.push_back(c);
    if (batch_.size() == kRecordsPerDatagram) {
      send(Kind::changes, batch_.data(), batch_.size());
      batch_.clear();
    }
  });
  if (!batch_.empty()) send(Kind::changes, batch_.data(), batch_.size());
  batch_.clear();
}

void PairLink::flush() {
  if (active_ && fd_ >= 0) send_changes();
}

void PairLink::tick() {
  if (active_) {
    send_changes();
    send(Kind::heartbeat, nullptr, 0);  // the standby learns the sequence, and that the active lives
  } else if (replica_.behind()) {
    send(Kind::ask_snapshot, nullptr, 0);
  }
  second_.arm_in(1s);
}

void PairLink::send_slice() {
  if (!active_ || snapshot_cursor_ == Engine::kNone) return;
  std::vector<SessionChange>& part = batch_;
  snapshot_cursor_ = engine_.each_session_from(snapshot_cursor_, kSliceRecords, [&](const SessionState& s) {
    part.push_back({true, s});
    if (part.size() == kRecordsPerDatagram) {
      send(Kind::snapshot_part, part.data(), part.size());
      part.clear();
    }
  });
  if (!part.empty()) send(Kind::snapshot_part, part.data(), part.size());
  part.clear();
  if (snapshot_cursor_ == Engine::kNone) send(Kind::snapshot_end, nullptr, 0);
  else slice_.arm_in(10ms);
}

void PairLink::done(const Completion& c) {
  if ((c.tag & 0xff) == 0 && c.result > 0 && c.packet != nullptr) receive(*c.packet);
  if (c.packet != nullptr) ctx_.pool().free(c.packet);
}

void PairLink::receive(const Packet& p) {
  const auto d = p.meta.endpoint == settings_.peer ? open(settings_.key, p.bytes()) : std::nullopt;
  if (!d) {
    refused_.add();
    return;
  }
  received_.add();
  last_heard_ = ctx_.now();
  heard_ = true;
  if (active_) {
    if (d->kind == Kind::ask_snapshot) {  // a standby's word: the split, if there was one, is over
      split_ = false;
      if (snapshot_cursor_ == Engine::kNone) {
        snapshots_.add();
        snapshot_cursor_ = 0;
        send(Kind::snapshot_begin, nullptr, 0);
        slice_.arm_in(0ns);
      }
    } else {  // only an active sends anything else: both are active
      split_brain_.add();
      if (!split_brain())
        ctx_.log().error("pair: {} at {} says it is active too (split brain: VRRP does not reach between the two); "
                         "taking nothing of its table",
                         d->sender(), settings_.peer_text);
      last_split_ = ctx_.now();
      split_ = true;
    }
    return;
  }
  if (d->kind != Kind::ask_snapshot) peer_connector_.assign(d->sender());
  switch (replica_.receive(*d)) {
    case Replica::Step::begin:
      engine_.begin_snapshot();
      snapshot_whole_ = true;
      [[fallthrough]];
    case Replica::Step::apply:
      for (const SessionChange& c : d->records) {
        if (!c.up) {
          engine_.forget(c.state);
        } else if (!engine_.adopt(c.state)) {
          refused_.add();
          snapshot_whole_ = false;
        }
      }
      break;
    case Replica::Step::end:
      engine_.end_snapshot();
      if (!snapshot_whole_) {  // what stood in the way went with the end: take it again
        ctx_.log().warn("pair: the table of {} did not fit beside what was held; asking for it again", peer_connector_);
        replica_.ask_again();
        snapshots_.add();
        send(Kind::ask_snapshot, nullptr, 0);
        break;
      }
      ctx_.log().info("pair: level with {} ({} sessions)", peer_connector_, engine_.session_count());
      break;
    case Replica::Step::ask:
      snapshots_.add();
      send(Kind::ask_snapshot, nullptr, 0);
      break;
    case Replica::Step::ignore:
      break;
  }
}

bool PairLink::split_brain() const {
  using namespace std::chrono_literals;
  return active_ && split_ && ctx_.now() - last_split_ < 3s;  // the peer's heartbeat comes each second
}

Response PairLink::answer(const Request& r) {
  namespace json = boost::json;
  auto error = [](unsigned status, const std::string& why) {
    return Response{status, "application/json", json::serialize(json::object{{"error", why}}) + "\n"};
  };
  if (r.method == "PUT") {
    // keepalived's notify script: {"role": "active"|"standby"}, and what keepalived said:
    // "vrrp": {"instance": "pair", "state": "MASTER", "priority": 150}.
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    const json::value* role = !ec && v.is_object() ? v.as_object().if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string() || (role->as_string() != "active" && role->as_string() != "standby"))
      return error(400, "the body must be {\"role\": \"active\"} or {\"role\": \"standby\"}");
    const json::value* vrrp = v.as_object().if_contains("vrrp");
    if (vrrp != nullptr) {
      const json::object* o = vrrp->if_object();
      const json::value* instance = o ? o->if_contains("instance") : nullptr;
      const json::value* state = o ? o->if_contains("state") : nullptr;
      const json::value* priority = o ? o->if_contains("priority") : nullptr;
      if (!instance || !instance->is_string() || !state || !state->is_string() || (priority && !priority->is_int64()))
        return error(400, "vrrp must be {\"instance\": NAME, \"state\": STATE, \"priority\": N}, as keepalived's notify says them");
      vrrp_instance_ = instance->as_string();
      vrrp_state_ = state->as_string();
      vrrp_priority_ = priority ? priority->as_int64() : -1;
      vrrp_told_ = ctx_.now();
    }
    set_role(role->as_string() == "active");
  } else if (r.method != "GET") {
    return error(405, "GET reads the pair's state, PUT sets the role");
  }
  json::object o{{"role", active_ ? "active" : "standby"},
                 {"peer", settings_.peer_text},
                 {"sessions", engine_.session_count()},
                 {"epoch", active_ ? epoch_ : replica_.epoch()},
                 {"sequence", active_ ? sequence_ : replica_.sequence()},
                 {"behind", !active_ && replica_.behind()},
                 {"sending_snapshot", snapshot_cursor_ != Engine::kNone},
                 {"split_brain", split_brain()},
                 {"connector", ctx_.connector()},
                 {"peer_connector", peer_connector_},
                 // Sessions digested (Engine::digest), in hex: a level standby's is the active's.
                 {"digest", fmt::format("{:016x}", engine_.digest())}};
  if (heard_) o["heard_seconds_ago"] = std::chrono::duration<double>(ctx_.now() - last_heard_).count();
  if (!vrrp_state_.empty())
    o["vrrp"] = {{"instance", vrrp_instance_},
                 {"state", vrrp_state_},
                 {"priority", vrrp_priority_},
                 {"told_seconds_ago", std::chrono::duration<double>(ctx_.now() - vrrp_told_).count()}};
  return {200, "application/json", json::serialize(o) + "\n"};
}

}  // namespace waygate::nat
