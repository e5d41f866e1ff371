// The clients' API, served on the tunnel listener: a request's source is an overlay address, so
// it names the identity asking. It tells the identity which exit nodes and subnet routes it may
// use — never a socket it may not — and keeps its exit-node selection.
//   GET    /v1/routes     the routing information (below)
//   PUT    /v1/exit-node  {"name": "corporate-exit"}: use this exit node
//   DELETE /v1/exit-node  use none
// Routing information: {"identity", "address", "connector", "exit_nodes": [{"name",
// "description", "connectors": the socket's live ones [{"name", "endpoint", "public_key"}],
// "selected"}], "exit_node": name or null, "routes": [{"prefix",
// "socket"}], "dns": [...]}. With an exit node in use, its default route comes as the four halves
// 0.0.0.0/1, 128.0.0.0/1, ::/1 and 8000::/1, so it never clashes with the client's own.
#pragma once

#include "access.hpp"
#include "waygate/api.hpp"

namespace waygate::policy {

Response answer_client(Access& access, const Request& request);

}  // namespace waygate::policy
