// HTTP endpoints a plugin serves through the host, on one of two listeners: `admin` (operators;
// loopback unless configured otherwise) or `tunnel` (clients, on the connector's overlay address:
// a request's source address names the peer, since only the tunnel reaches that address). The host
// owns the sockets and HTTP; a plugin registers a path and a handler with Context::serve().
//
// Handlers run on the plugin's own worker thread between bursts, like everything else it does, so
// they read and change its state without locks. They must answer at once: no blocking, no disk.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "waygate/net/headers.hpp"

namespace waygate {

enum class Listener : std::uint8_t { admin, tunnel };

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/v1/exit-nodes", without the query
  std::string query;   // "a=1&b=2", without the '?'
  std::string body;
  net::Address peer;   // the client's address as the listener saw it
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;
// With more than one worker ([host] workers), each runs its own instance of the stage, holding its
// share of the state. A request goes to the first worker's instance, unless its endpoint gathers:
// then every worker's instance answers and `Gather` makes one answer of theirs (in worker order).
// It runs on the host's control thread: it may read its argument and nothing else.
using Gather = std::function<Response(std::vector<Response>)>;

}  // namespace waygate
