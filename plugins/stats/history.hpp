// The time series on disk, so a restart loses no history: saved on a clean stop, loaded on start.
// JSON by socket name: {"version":1,"interval":10,"sockets":{"corporate-exit":[[time, bytes out,
// bytes in, packets out, packets in, clients], ...]}}, written whole to a temporary file, synced and
// renamed. "version" is the format's (waygate/state_version.hpp): a newer one is refused.
#pragma once

#include <map>
#include <string>

#include "series.hpp"

namespace waygate::stats {

using History = std::map<std::string, Series>;

std::string history_json(const History& h, int interval_seconds);
// Samples of the series named; others (sockets that are gone) are dropped. Throws
// std::runtime_error naming the file when it is not a history, is from a newer format, or is
// there but cannot be read.
void load_history(const std::string& path, History& into);
void save_history(const std::string& path, const History& h, int interval_seconds);

// One series as the API serves it: [[time, bytes out, bytes in, packets out, packets in, clients]]
// since `since` (Unix seconds).
std::string series_json(const Series& s, std::int64_t since);

}  // namespace waygate::stats
