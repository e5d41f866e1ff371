#include "taps.hpp"

#include <algorithm>
#include <cstring>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base64.hpp"

namespace waygate {

namespace {

namespace json = boost::json;

Response answer(unsigned status, const json::object& body) {
  return {status, "application/json", json::serialize(body) + "\n"};
}

Response error(unsigned status, const std::string& why) { return answer(status, {{"error", why}}); }


std::string text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

std::int64_t number(const json::object& o, std::string_view key, std::int64_t fallback) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : fallback;
}

}  // namespace

void Taps::offer(std::string_view link, const Burst& burst) {
  const auto now = std::chrono::steady_clock::now();
  for (auto& c : running_) {
    if (c->link != link) continue;
    if (now >= c->until) {
      end(*c, "its time is up");
      continue;
    }
    for (const Packet* p : burst) {
      if (c->identity != kNoId && p->meta.identity != c->identity) continue;
      if (c->socket != kNoId && p->meta.socket != c->socket) continue;
      if (!c->filter->matches(p->bytes())) continue;
      if (c->held == c->ring.size()) {
        ++c->lost;  // a reader too slow: the packet goes on, uncopied
        continue;
      }
      Record& r = c->ring[(c->head + c->held) % c->ring.size()];
      r.micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
      r.length = static_cast<std::uint32_t>(p->size());
      r.captured = std::min<std::uint32_t>(r.length, pcapng::kSnapLength);
      std::memcpy(r.bytes, p->data(), r.captured);
      r.direction = burst.direction();
      r.identity = p->meta.identity;
      r.socket = p->meta.socket;
      ++c->held;
      if (++c->captured == c->wanted) {
        end(*c, "it has its packets");
        break;
      }
    }
  }
  // Ended ones wait, with what they hold, for their reader.
  for (auto it = running_.begin(); it != running_.end();)
    if (!(*it)->ended.empty()) {
      ended_.push_back(std::move(*it));
      it = running_.erase(it);
    } else {
      ++it;
    }
}

void Taps::end(Capture& c, const std::string& why) {
  if (c.ended.empty()) c.ended = why;
}

void Taps::end_all(const std::string& why) {
  for (auto& c : running_) {
    end(*c, why);
    ended_.push_back(std::move(c));
  }
  running_.clear();
}

std::optional<Response> Taps::handle(const Request& request, const Directory& directory,
                                     const std::vector<std::string>& stages, Limits limits) {
  if (request.path == "/v1/capture") {
    if (request.method != "POST") return error(405, "POST starts a capture");
    return start(request, directory, stages, limits);
  }
  if (!request.path.starts_with("/v1/capture/")) return std::nullopt;
  const std::string id = request.path.substr(12);
  for (auto* list : {&running_, &ended_})
    for (auto it = list->begin(); it != list->end(); ++it) {
      if (std::to_string((*it)->id) != id) continue;
      if (request.method != "GET" && request.method != "DELETE") return error(405, "GET reads a capture, DELETE ends it");
      const bool stop = request.method == "DELETE";
      if (stop) end(**it, "its reader ended it");
      if (std::chrono::steady_clock::now() >= (*it)->until) end(**it, "its time is up");  // no packet said so
      Response r = read(**it, stop);
      if (!(*it)->ended.empty() && (*it)->held == 0) list->erase(it);  // all of it read
      return r;
    }
  return error(404, "no capture " + id + " (ended and read, or never started)");
}

Response Taps::start(const Request& request, const Directory& directory, const std::vector<std::string>& stages,
                     Limits limits) {
  if (limits.seconds.count() == 0 || limits.packets == 0)
    return error(403, "captures are off on this connector ([host] capture_seconds or capture_packets is 0)");
  // Each holds its ring: an ended one nobody read makes room, running ones do not.
  if (running_.size() + ended_.size() >= kMost && !ended_.empty()) ended_.erase(ended_.begin());
  if (running_.size() >= kMost) return error(429, fmt::format("{} captures run already: end one first", kMost));
  boost::system::error_code ec;
  const json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return error(400, "the body must be a JSON object");
  const json::object& o = body.as_object();
  auto c = std::make_unique<Capture>();
  c->link = text(o, "at");
  if (std::find(stages.begin(), stages.end(), c->link) == stages.end())
    return error(400, fmt::format("no stage '{}' in this pipeline (its stages: {})", c->link, fmt::join(stages, ", ")));
  if (const std::string who = text(o, "identity"); !who.empty()) {
    c->identity = directory.identity_by_name(who);
    if (c->identity == kNoId) return error(400, "no identity '" + who + "' in the directory");
  }
  if (const std::string s = text(o, "socket"); !s.empty()) {
    c->socket = directory.socket_by_name(s);
    if (c->socket == kNoId) return error(400, "no socket '" + s + "' in the directory");
  }
  const std::string expression = text(o, "filter");
  try {
    c->filter = std::make_unique<CaptureFilter>(expression);
  } catch (const std::exception& e) {
    return error(400, e.what());
  }
  const std::int64_t count = number(o, "count", static_cast<std::int64_t>(limits.packets));
  const std::int64_t seconds = number(o, "seconds", limits.seconds.count());
  if (count < 1 || static_cast<std::uint64_t>(count) > limits.packets || seconds < 1 || seconds > limits.seconds.count())
    return error(400, fmt::format("count must be 1 to {} and seconds 1 to {} ([host] capture_packets, capture_seconds)",
                                  limits.packets, limits.seconds.count()));
  c->wanted = static_cast<std::uint64_t>(count);
  c->until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  c->ring.resize(kRing);
  for (auto& id : directory.identities) c->identities.push_back(id.name);
  for (auto& s : directory.sockets) c->sockets.push_back(s.name);
  c->id = next_id_++;
  // Decrypted traffic leaves the pipeline: who asked, and for what, goes to the log.
  spdlog::warn("capture {} started by {} at the link after stage {}: identity {}, socket {}, filter '{}', {} packet(s), {} s",
               c->id, request.peer.to_string(), c->link, text(o, "identity").empty() ? "any" : text(o, "identity"),
               text(o, "socket").empty() ? "any" : text(o, "socket"), expression, count, seconds);
  json::object started{{"id", c->id}, {"at", c->link}, {"count", count}, {"seconds", seconds}, {"filter", expression}};
  running_.push_back(std::move(c));
  return answer(201, started);
}

Response Taps::read(Capture& c, bool stop) {
  std::string blocks;
  for (; c.held > 0; --c.held, c.head = (c.head + 1) % c.ring.size()) {
    const Record& r = c.ring[c.head];
    auto name = [](const std::vector<std::string>& names, std::uint32_t id) {
      return id < names.size() ? names[id] : std::string("-");
    };
    blocks += pcapng::packet(r.micros, {r.bytes, r.captured}, r.length,
                             fmt::format("{} at {} identity {} socket {}",
                                         r.direction == Direction::outbound ? "outbound" : "inbound", c.link,
                                         name(c.identities, r.identity), name(c.sockets, r.socket)));
  }
  if (stop && c.ended.empty()) c.ended = "its reader ended it";
  json::object o{{"id", c.id},
                 {"state", c.ended.empty() ? "running" : "done"},
                 {"why", c.ended},
                 {"captured", c.captured},
                 {"lost", c.lost},
                 {"packets", to_base64(blocks)}};
  return answer(200, o);
}

}  // namespace waygate
