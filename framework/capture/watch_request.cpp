#include "watch_request.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace waygate {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

std::int64_t number(const json::object& o, std::string_view key, std::int64_t fallback) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : fallback;
}

}  // namespace

WatchRequest read_watch_request(std::string_view body, const Directory& directory, WatchLimits limits) {
  if (limits.seconds.count() == 0 || limits.packets == 0)
    throw Refused(403, "captures and traces are off on this connector ([host] capture_seconds or capture_packets is 0)");
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) throw Refused(400, "the body must be a JSON object");
  const json::object& o = parsed.as_object();
  WatchRequest w;
  w.at = text(o, "at");
  if (w.identity_name = text(o, "identity"); !w.identity_name.empty()) {
    w.identity = directory.identity_by_name(w.identity_name);
    if (w.identity == kNoId) throw Refused(400, "no identity '" + w.identity_name + "' in the directory");
  }
  if (w.socket_name = text(o, "socket"); !w.socket_name.empty()) {
    w.socket = directory.socket_by_name(w.socket_name);
    if (w.socket == kNoId) throw Refused(400, "no socket '" + w.socket_name + "' in the directory");
  }
  w.expression = text(o, "filter");
  try {
    w.filter = std::make_unique<CaptureFilter>(w.expression);
  } catch (const std::exception& e) {
    throw Refused(400, e.what());
  }
  const std::int64_t count = number(o, "count", static_cast<std::int64_t>(limits.packets));
  const std::int64_t seconds = number(o, "seconds", limits.seconds.count());
  if (count < 1 || static_cast<std::uint64_t>(count) > limits.packets || seconds < 1 || seconds > limits.seconds.count())
    throw Refused(400, fmt::format("count must be 1 to {} and seconds 1 to {} ([host] capture_packets, capture_seconds)",
                                   limits.packets, limits.seconds.count()));
  w.count = static_cast<std::uint64_t>(count);
  w.seconds = std::chrono::seconds(seconds);
  return w;
}

Response json_answer(unsigned status, const json::object& body) {
  return {status, "application/json", json::serialize(body) + "\n"};
}

Response json_error(unsigned status, const std::string& why) { return json_answer(status, {{"error", why}}); }

}  // namespace waygate
