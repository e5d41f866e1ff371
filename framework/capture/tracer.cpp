#include "tracer.hpp"

#include <algorithm>
#include <cstring>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace waygate {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

bool in(const Burst& burst, const Packet* p) { return std::find(burst.begin(), burst.end(), p) != burst.end(); }

}  // namespace

void Tracer::received(std::uint32_t stage, const Burst& burst) {
  const auto now = Clock::now();
  if (followed_.capacity() < kFollowed) followed_.reserve(kFollowed);  // once, at the first trace's first packet
  for (auto& t : book_.running()) {
    if (now >= t->until) {
      book_.end(*t, "its time is up");
      continue;
    }
    for (const Packet* p : burst) {
      if (t->asked.identity != kNoId && p->meta.identity != kNoId && p->meta.identity != t->asked.identity) continue;
      if (followed_.size() == kFollowed) {
        if (t->asked.filter->matches(p->bytes())) ++t->lost;  // more at once than the tracer follows
        continue;
      }
      Followed& f = followed_.emplace_back();
      f.packet = p;
      f.trace = t.get();
      f.began = now;
      f.matched = false;
      f.record.micros = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
      f.record.length = static_cast<std::uint32_t>(p->size());
      f.record.steps = 0;
      f.record.last.reset();
      step(f, stage, *p, Verdict::received, now);
    }
  }
  book_.retire();
}

void Tracer::step(Followed& f, std::uint32_t stage, const Packet& p, Verdict v, Clock::time_point now) {
  Packet_& r = f.record;
  if (r.steps == kSteps) return;  // a packet bouncing longer than a trace records: its first stages
  Step& s = r.step[r.steps++];
  s.stage = stage;
  s.verdict = v;
  s.direction = p.meta.direction;
  s.nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now - f.began).count();
  s.reason[0] = '\0';
  const net::ParseResult parsed = net::parse_packet(p.bytes());
  s.look = {parsed ? net::flow_of(parsed.info) : net::Flow{}, p.meta.identity, p.meta.socket};
  const WatchRequest& asked = f.trace->asked;
  if ((asked.identity == kNoId || p.meta.identity == asked.identity) &&
      (asked.socket == kNoId || p.meta.socket == asked.socket) && asked.filter->matches(p.bytes()))
    f.matched = true;
}

void Tracer::entering(std::uint32_t stage, const Burst& burst) {
  const auto now = Clock::now();
  const Direction d = burst.direction();
  for (Followed& f : followed_) {
    if (!in(burst, f.packet)) continue;
    Step& last = f.record.step[f.record.steps - 1];
    if (last.verdict == Verdict::open) last.verdict = last.direction == d ? Verdict::pass : Verdict::reply;
    step(f, stage, *f.packet, Verdict::open, now);
  }
}

void Tracer::left(std::uint32_t stage, const Burst& burst, const Burst& passed, const Burst& replies) {
  for (std::size_t i = followed_.size(); i-- > 0;) {
    Followed& f = followed_[i];
    const Step& last = f.record.step[f.record.steps - 1];
    if (last.stage != stage || last.verdict != Verdict::open || !in(burst, f.packet)) continue;
    if (in(passed, f.packet) || in(replies, f.packet)) continue;  // its next stage says which
    finish(i, Verdict::taken, "", nullptr);  // sent, or queued: its buffer is the stage's now
  }
}

void Tracer::dropped(const Packet& p, std::string_view reason) {
  for (std::size_t i = followed_.size(); i-- > 0;)
    if (followed_[i].packet == &p) finish(i, Verdict::drop, reason, &p);
}

void Tracer::finish(std::size_t i, Verdict v, std::string_view reason, const Packet* p) {
  Followed& f = followed_[i];
  Packet_& r = f.record;
  Step& last = r.step[r.steps - 1];
  if (last.verdict == Verdict::open || last.verdict == Verdict::received) {
    if (last.verdict == Verdict::open || v == Verdict::drop) last.verdict = v;
    const std::size_t n = std::min(reason.size(), sizeof last.reason - 1);
    std::memcpy(last.reason, reason.data(), n);
    last.reason[n] = '\0';
  }
  r.end_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - f.began).count();
  if (p != nullptr) {
    const net::ParseResult parsed = net::parse_packet(p->bytes());
    r.last = Look{parsed ? net::flow_of(parsed.info) : net::Flow{}, p->meta.identity, p->meta.socket};
    const WatchRequest& asked = f.trace->asked;
    if ((asked.identity == kNoId || p->meta.identity == asked.identity) &&
        (asked.socket == kNoId || p->meta.socket == asked.socket) && asked.filter->matches(p->bytes()))
      f.matched = true;
  }
  Trace& t = *f.trace;
  if (f.matched && t.ended.empty()) {
    if (Packet_* slot = t.slot()) {  // else a reader too slow
      *slot = r;
      if (++t.taken == t.asked.count) book_.end(t, "it has its packets");
    }
  }
  if (i + 1 != followed_.size()) std::swap(followed_[i], followed_.back());
  followed_.pop_back();
}

std::optional<Response> Tracer::handle(const Request& request, const Directory& directory,
                                       const std::vector<StageName>& stages, WatchLimits limits) {
  // Between turns nothing is followed; should a packet have been left (a stage that kept a
  // packet it also passed), it ends here, before a trace it points into can go.
  while (!followed_.empty()) finish(followed_.size() - 1, Verdict::taken, "", nullptr);
  try {
    if (request.path == "/v1/trace") {
      if (request.method != "POST") return json_error(405, "POST starts a trace");
      return start(request, directory, stages, limits);
    }
    return book_.answer(request, "/v1/trace/", [this](Trace& t) { return read(t); });
  } catch (const Refused& r) {
    return json_error(r.status, r.what());
  }
}

Response Tracer::start(const Request& request, const Directory& directory, const std::vector<StageName>& stages,
                       WatchLimits limits) {
  auto t = book_.open("traces", request.body, directory, limits, kRing);
  if (!t->asked.at.empty()) throw Refused(400, "a trace follows packets through every stage: it takes no \"at\"");
  for (auto& s : stages) t->stages.push_back(s.name);
  json::object started{{"count", t->asked.count}, {"seconds", t->asked.seconds.count()}, {"filter", t->asked.expression}};
  started["id"] = book_.add(std::move(t));
  return json_answer(201, started);
}

Response Tracer::read(Trace& t) {
  auto name = [&t](const std::vector<std::string>& names, std::uint32_t id) { return t.name(names, id); };
  // As tcpdump writes it: "UDP 10.64.0.2:5353 > 198.51.100.7:53", "ICMP 10.64.0.2 > 10.52.0.2".
  auto flow = [](const net::Flow& f) {
    if (f.src.family() == net::Family::none) return std::string("not IP");
    const bool ports = f.protocol == 6 || f.protocol == 17;
    auto end = [&](const net::Address& a, std::uint16_t port) {
      const std::string address = a.to_string();
      return !ports ? address : a.is_v6() ? fmt::format("[{}]:{}", address, port) : fmt::format("{}:{}", address, port);
    };
    const char* protocol = f.protocol == 1 || f.protocol == 58 ? "ICMP" : f.protocol == 6 ? "TCP" : f.protocol == 17 ? "UDP" : "IP";
    return fmt::format("{} {} > {}", protocol, end(f.src, f.src_port), end(f.dst, f.dst_port));
  };
  // What a stage changed: its packet as it entered, against how it entered the next (or left).
  auto changes = [&](const Look& before, const Look& after) {
    std::vector<std::string> out;
    if (before.flow != after.flow) out.push_back(flow(before.flow) + " -> " + flow(after.flow));
    if (before.identity != after.identity) out.push_back("identity " + name(t.identities, after.identity));
    if (before.socket != after.socket) out.push_back("socket " + name(t.sockets, after.socket));
    return fmt::format("{}", fmt::join(out, ", "));
  };
  static constexpr const char* kVerdicts[] = {"open", "received", "pass", "reply", "drop", "taken"};
  json::array packets;
  t.drain([&](const Packet_& r) {
    json::array steps;
    for (std::uint32_t i = 0; i < r.steps; ++i) {
      const Step& s = r.step[i];
      const bool last = i + 1 == r.steps;
      const std::int64_t until = last ? r.end_nanos : r.step[i + 1].nanos;
      std::string changed = !last ? changes(s.look, r.step[i + 1].look) : r.last ? changes(s.look, *r.last) : "";
      steps.push_back(json::object{{"stage", name(t.stages, s.stage)},
                                   {"verdict", kVerdicts[static_cast<int>(s.verdict)]},
                                   {"reason", s.reason},
                                   {"changed", changed},
                                   {"micros", static_cast<double>(until - s.nanos) / 1000.0}});
    }
    const Look& first = r.step[0].look;
    std::uint32_t who = r.last ? r.last->identity : kNoId;  // the tunnel or the NAT says whose it is
    for (std::uint32_t i = 0; i < r.steps && who == kNoId; ++i) who = r.step[i].look.identity;
    packets.push_back(json::object{{"time", r.micros},
                                   {"length", r.length},
                                   {"packet", flow(first.flow)},
                                   {"identity", name(t.identities, who)},
                                   {"steps", std::move(steps)}});
  });
  return json_answer(200, {{"id", t.id},
                           {"state", t.ended.empty() ? "running" : "done"},
                           {"why", t.ended},
                           {"traced", t.taken},
                           {"lost", t.lost},
                           {"packets", std::move(packets)}});
}

}  // namespace waygate
