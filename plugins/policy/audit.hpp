// The audit log: one JSON line per access decision that changes, appended to a file through the
// host's asynchronous I/O (a line is a pool buffer written by io_uring), so the data plane never
// waits on the disk. A line that finds no free buffer is counted as lost, never blocks.
#pragma once

#include <string>

#include "waygate/context.hpp"

namespace waygate::policy {

class AuditLog {
 public:
  explicit AuditLog(Context& ctx);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void open(const std::string& path);  // "" for none; throws std::system_error
  void close();
  void write(const std::string& line);  // a newline is added
  // A write completed: returns its buffer to the pool.
  void done(const Completion& c);
  static constexpr std::uint64_t kTag = 0xa0d17;

 private:
  Context& ctx_;
  int fd_ = -1;
  Counter lines_, lost_;
};

}  // namespace waygate::policy
