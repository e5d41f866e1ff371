#include "taps.hpp"

#include <algorithm>
#include <cstring>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base64.hpp"

namespace waygate {

void Taps::offer(std::string_view link, const Burst& burst) {
  const auto now = std::chrono::steady_clock::now();
  for (auto& c : book_.running()) {
    if (c->asked.at != link) continue;
    if (now >= c->until) {
      book_.end(*c, "its time is up");
      continue;
    }
    for (const Packet* p : burst) {
      if (c->asked.identity != kNoId && p->meta.identity != c->asked.identity) continue;
      if (c->asked.socket != kNoId && p->meta.socket != c->asked.socket) continue;
      if (!c->asked.filter->matches(p->bytes())) continue;
      Record* slot = c->slot();
      if (slot == nullptr) continue;  // a reader too slow: the packet goes on, uncopied
      Record& r = *slot;
      r.micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
      r.length = static_cast<std::uint32_t>(p->size());
      r.captured = std::min<std::uint32_t>(r.length, pcapng::kSnapLength);
      std::memcpy(r.bytes, p->data(), r.captured);
      r.direction = burst.direction();
      r.identity = p->meta.identity;
      r.socket = p->meta.socket;
      if (++c->taken == c->asked.count) {
        book_.end(*c, "it has its packets");
        break;
      }
    }
  }
  book_.retire();
}

std::optional<Response> Taps::handle(const Request& request, const Directory& directory,
                                     const std::vector<StageName>& stages, WatchLimits limits) {
  try {
    if (request.path == "/v1/capture") {
      if (request.method == "GET") {
        boost::json::array list;
        for (auto& s : stages) list.push_back(boost::json::object{{"name", s.name}, {"plugin", s.plugin}});
        return json_answer(200, {{"stages", std::move(list)}});
      }
      if (request.method != "POST") return json_error(405, "POST starts a capture, GET lists the stages");
      return start(request, directory, stages, limits);
    }
    return book_.answer(request, "/v1/capture/", [this](Capture& c) { return read(c); });
  } catch (const Refused& r) {
    return json_error(r.status, r.what());
  }
}

Response Taps::start(const Request& request, const Directory& directory, const std::vector<StageName>& stages,
                     WatchLimits limits) {
  auto c = book_.open("captures", request.body, directory, limits, kRing);
  if (c->asked.at.empty() && !stages.empty()) c->asked.at = stages.front().name;
  if (std::none_of(stages.begin(), stages.end(), [&](const StageName& s) { return s.name == c->asked.at; })) {
    std::vector<std::string> names;
    for (auto& s : stages) names.push_back(s.name);
    throw Refused(400, fmt::format("no stage '{}' in this pipeline (its stages: {})", c->asked.at, fmt::join(names, ", ")));
  }
  boost::json::object started{{"at", c->asked.at},
                              {"header", to_base64(pcapng::header(c->asked.at))},
                              {"count", c->asked.count},
                              {"seconds", c->asked.seconds.count()},
                              {"filter", c->asked.expression}};
  started["id"] = book_.add(std::move(c));
  return json_answer(201, started);
}

Response Taps::read(Capture& c) {
  std::string blocks;
  c.drain([&](const Record& r) {
    blocks += pcapng::packet(r.micros, {r.bytes, r.captured}, r.length,
                             fmt::format("{} at {} identity {} socket {}",
                                         r.direction == Direction::outbound ? "outbound" : "inbound", c.asked.at,
                                         c.name(c.identities, r.identity), c.name(c.sockets, r.socket)));
  });
  return json_answer(200, {{"id", c.id},
                           {"state", c.ended.empty() ? "running" : "done"},
                           {"why", c.ended},
                           {"captured", c.taken},
                           {"lost", c.lost},
                           {"packets", to_base64(blocks)}});
}

}  // namespace waygate
