// `waygate client doctor -c CLIENT.toml`: the exit node's troubleshooting list, from the client's
// side, each check passing or failing with what to do: the client host running, the tunnel to each
// connector up with a fresh handshake, the connector's API answering through it, an exit node
// selected and the permission to use it granted by a policy linked to it, the routes present and
// pointing at the TUN device (and the bypass not), the resolver pointed at the exit node's DNS
// servers, those reached through the tunnel and answering (no leak), lockdown in place.
#pragma once

#include <string>

namespace waygate::client {

// Prints each check; 0 when all pass, 1 otherwise. `wait`: seconds to wait for a DNS answer.
int client_doctor(const std::string& config_file, double wait);

}  // namespace waygate::client
