// The control thread: signals (SIGINT/SIGTERM stop, SIGHUP reload), the admin HTTP listener
// (/healthz, /metrics, the web portal at / and /assets/, POST /v1/sockets, and what the stages
// serve there) and the tunnel listeners (what the stages
// serve to clients), on one Boost.Asio io_context driven by io_uring. Asio and Beast stay
// inside control_plane.cpp; nothing else pays for their headers.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "waygate/api.hpp"

namespace waygate {

struct ControlHooks {
  std::function<void()> reload;        // on SIGHUP
  std::function<std::string()> metrics;  // the body of /metrics
  // A request for a stage's endpoint; nullopt if no stage serves its path.
  std::function<std::optional<Response>(Listener, Request)> request;
  // POST /v1/sockets on the admin listener: the request's body, the answer (see socket_file.hpp).
  std::function<Response(const std::string& body)> create_socket;
  // GET /v1/connectors on the admin listener, when set: the connectors alive in etcd (JSON).
  std::function<std::string()> connectors;
  // When not empty, every admin request must carry "Authorization: Bearer <token>" (else 401).
  std::string admin_token;
  // Called once the io_context and its listeners exist, before anything is served: where the host
  // gives up its privileges. Its ring was made with CAP_IPC_LOCK still held, so the kernel does
  // not charge its pinned pages to the user's RLIMIT_MEMLOCK, which all of root's processes share
  // (parallel hosts ran out of it and failed with ENOMEM).
  std::function<void()> ready;
  // Called on the control thread every `tick_every`, when that is not zero: the watchdog, which
  // so also proves this thread's loop turns.
  std::chrono::microseconds tick_every{0};
  std::function<void()> tick;
};

// Runs on the calling thread until SIGINT or SIGTERM. `admin` is "host:port" ("[v6]:port" for
// IPv6) or "" for no listener; `tunnel` lists the tunnel listeners, bound even before their
// address exists (the stage that owns it may bring it up later). A listener that cannot bind
// throws before anything runs.
void run_control_plane(const std::string& admin, const std::vector<std::string>& tunnel,
                       const ControlHooks& hooks);

}  // namespace waygate
