// What a capture or a trace asks for (the body of POST /v1/capture or /v1/trace): whose packets,
// which ones (a tcpdump expression), how many and for how long, within what the connector's
// [host] capture_seconds and capture_packets allow. Also the JSON answers both give.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "capture_filter.hpp"
#include "waygate/api.hpp"
#include "waygate/directory.hpp"

namespace boost::json {
class object;
}

namespace waygate {

// A stage of the running pipeline: what a capture's link is named after.
struct StageName {
  std::string name, plugin;
};

// What the connector allows one capture or trace: at most this long and this many packets.
struct WatchLimits {
  std::chrono::seconds seconds{300};
  std::uint64_t packets = 100000;
};

struct WatchRequest {
  std::string at;                         // captures: the stage whose link is watched
  std::uint32_t identity = kNoId;         // kNoId: anyone's
  std::uint32_t socket = kNoId;           // kNoId: any socket's
  std::string identity_name, socket_name, expression;  // as asked, for the log and the answer
  std::unique_ptr<CaptureFilter> filter;  // compiled from `expression`
  std::uint64_t count = 0;
  std::chrono::seconds seconds{0};
};

// A request refused: the HTTP status and why, for the answer.
struct Refused : std::runtime_error {
  Refused(unsigned s, const std::string& why) : std::runtime_error(why), status(s) {}
  unsigned status;
};

// Throws Refused (400 for a bad body, an unknown identity or socket, a filter libpcap does not
// compile, a count or time beyond the limits; 403 when the limits turn watching off).
WatchRequest read_watch_request(std::string_view body, const Directory& directory, WatchLimits limits);

// The watch's answers: a JSON object, or {"error": why}.
Response json_answer(unsigned status, const boost::json::object& body);
Response json_error(unsigned status, const std::string& why);

}  // namespace waygate
