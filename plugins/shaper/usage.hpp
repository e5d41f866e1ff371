// What each identity has used of its quotas, by names (positions change with the directory), in
// the period that began at `start`. Kept across reloads in the stage and across restarts in a file
// of one JSON line per quota:
//   {"identity":"bob","socket":"corporate-exit","start":"2026-12-01T00:00:00Z","bytes":123456}
// ("socket" is "" for a quota over all of the identity's sockets), and a header line with the
// format's version, "# waygate quota-usage 1" (waygate/state_version.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace waygate::shaper {

struct Usage {
  std::chrono::sys_seconds start{};  // of the period counted
  std::chrono::sys_seconds end{};    // the next one's start
  std::uint64_t bytes = 0;
  bool told = false;  // that it ran out, this period (the audit line is written once)
};

class UsageBook {
 public:
  // The entry for an identity's quota; std::map keeps references stable as entries are added.
  Usage& at(const std::string& identity, const std::string& socket) { return entries_[{identity, socket}]; }
  const std::map<std::pair<std::string, std::string>, Usage>& entries() const { return entries_; }

  // Reads a file written by header() and line(), or by a version before headers; a missing file
  // is an empty book. Throws std::runtime_error naming the file (and line): a newer format is
  // refused whole.
  void load(const std::string& path);
  static std::string header();
  static std::string line(const std::string& identity, const std::string& socket, const Usage& u);

 private:
  std::map<std::pair<std::string, std::string>, Usage> entries_;
};

}  // namespace waygate::shaper
