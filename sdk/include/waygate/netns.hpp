// Entering a named network namespace (one made by `ip netns add NAME`) for a scope, so an edge
// can create its device or socket there: only the calling thread moves, and what it creates
// meanwhile stays in that namespace after the guard returns the thread home. "" means stay.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace waygate {

class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& name) {
    if (name.empty()) return;
    back_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (back_ < 0) throw std::system_error(errno, std::generic_category(), "open own network namespace");
    int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    if (target >= 0 && ::setns(target, CLONE_NEWNET) == 0) {
      ::close(target);
      return;
    }
    if (target >= 0) err = errno, ::close(target);
    ::close(back_);
    throw std::system_error(err, std::generic_category(), "network namespace '" + name + "'");
  }
  ~NetnsGuard() {
    if (back_ < 0) return;
    ::setns(back_, CLONE_NEWNET);
    ::close(back_);
  }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  int back_ = -1;
};

}  // namespace waygate
