// `waygate client doctor -c CLIENT.toml` (and `waygate doctor` on a client's file): the exit node's
// troubleshooting list, from the client's side, each check passing or failing with what to do:
// the client host running, the tunnel to each
// connector up with a fresh handshake, the connector's API answering through it, an exit node
// selected and the permission to use it granted by a policy linked to it, the routes present and
// pointing at the TUN device (and the bypass not), the resolver pointed at the exit node's DNS
// servers, those reached through the tunnel and answering (no leak), lockdown in place.
#pragma once

#include <string>
#include <vector>

#include "waygate/doctor.hpp"

namespace waygate::client {

// The checks, in order; `alone`: with the file's and the admin API's own (which `waygate doctor`
// makes itself before it asks the stage).
std::vector<Check> client_checks(const std::string& config_file, double wait, bool alone);

// Prints each check; 0 when all pass, 1 otherwise. `wait`: seconds to wait for a DNS answer.
int client_doctor(const std::string& config_file, double wait);

}  // namespace waygate::client
