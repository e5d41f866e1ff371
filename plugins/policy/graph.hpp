// The access graph: which identities reach which sockets through which policies. An edge exists
// where a policy applies to the socket, grants `network` and its *who* holds for the identity;
// its *where* and *when* conditions ride on the edge as words, since they depend on the moment.
// As text for a terminal, DOT for a picture, JSON for the admin API; and for one identity and
// socket, the full verdict with the reason it is denied; for a socket and a destination, whether
// the socket reaches it (reach.hpp) and why (not).
#pragma once

#include <string>

#include "waygate/verdict.hpp"

namespace waygate::policy {

std::string graph_text(const Directory& d);
std::string graph_dot(const Directory& d);
std::string graph_json(const Directory& d);
// "alice -> corporate-exit: granted by staff-exit" or "...: denied: staff-exit: where: ...".
std::string why(const Directory& d, std::uint32_t identity, std::uint32_t socket, const Situation& s);

// `waygate access-graph --config FILE [--dot | --json] [--identity NAME --socket NAME
// [--from ADDRESS] [--at TIME]] [--socket NAME --to ADDRESS]`
int access_graph_command(int argc, char** argv);

}  // namespace waygate::policy
