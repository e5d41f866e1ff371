// What a worker shows the operator of its packets: its captures (/v1/capture) and traces
// (/v1/trace). The pipeline asks any() once per burst and stage; only while one runs does it
// offer them packets.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "taps.hpp"
#include "tracer.hpp"

namespace waygate {

struct Watch {
  Taps taps;
  Tracer tracer;

  bool any() const { return taps.any() || tracer.any(); }

  // POST, GET and DELETE of /v1/capture... and /v1/trace...; nullopt for other paths.
  std::optional<Response> handle(const Request& request, const Directory& directory,
                                 const std::vector<StageName>& stages, WatchLimits limits) {
    if (request.path.starts_with("/v1/capture")) return taps.handle(request, directory, stages, limits);
    if (request.path.starts_with("/v1/trace")) return tracer.handle(request, directory, stages, limits);
    return std::nullopt;
  }
  // A reload: ids and stages may have moved, so each ends, saying why at its next read.
  void end_all(const std::string& why) {
    taps.end_all(why);
    tracer.end_all(why);
  }
};

}  // namespace waygate
