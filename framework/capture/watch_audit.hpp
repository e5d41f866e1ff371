// Who looked at decrypted traffic. Every capture or trace a connector starts is logged and, with
// [host] audit_log, appended to that file as a JSON line: when, who asked (the address, and
// whether with the admin token), what (stage, identity, socket, filter, count, seconds). The file
// may be the one the policy stage writes its decisions to: each line is one write with O_APPEND.
#pragma once

#include <string>

#include "waygate/api.hpp"

namespace waygate {

class WatchAudit {
 public:
  // Opens the file now, before the host gives up root; "" logs only. Throws std::system_error
  // naming the file.
  WatchAudit(const std::string& path, bool token);
  ~WatchAudit();
  WatchAudit(const WatchAudit&) = delete;
  WatchAudit& operator=(const WatchAudit&) = delete;

  // True for what would start one: a POST of /v1/capture or /v1/trace.
  static bool starts(const Request& request);
  // The request that started one (answered 201), and that answer.
  void record(const Request& request, const Response& answer);

 private:
  std::string path_;
  bool token_;
  int fd_ = -1;
};

}  // namespace waygate
