// The control thread: signals (SIGINT/SIGTERM stop, SIGHUP reload) and the admin HTTP listener
// (/healthz, /metrics), on one Boost.Asio io_context driven by io_uring. Asio and Beast stay
// inside control_plane.cpp; nothing else pays for their headers.
#pragma once

#include <functional>
#include <string>

namespace waygate {

struct ControlHooks {
  std::function<void()> reload;        // on SIGHUP
  std::function<std::string()> metrics;  // the body of /metrics
};

// Runs on the calling thread until SIGINT or SIGTERM. `admin` is "host:port" ("[v6]:port" for
// IPv6) or "" for no listener; a listener that cannot bind throws before anything runs.
void run_control_plane(const std::string& admin, const ControlHooks& hooks);

}  // namespace waygate
