// `waygate doctor -c CONNECTOR.toml`: the exit node's troubleshooting list checked by a command
// on the connector, each check passing or failing with what to do about it: the config, the
// admin API, a policy with the network permission linked to each exit node, the egress edge's
// nftables table, egress address and ephemeral ports (or forwarding, in kernel mode), whether TCP
// can leave in trains (offload), a firewall
// that would drop the clients' UDP, and packets arriving (counters moving).
#pragma once

#include <string>
#include <vector>

namespace waygate::egress {

struct Check {
  std::string name;
  bool ok = false;
  std::string detail;  // what was found
  std::string hint;    // what to do, when it fails (or warns)
  bool warning = false;  // passes, but deserves a look: printed "warn", with its hint
};

// `wait`: how long to watch the counters move, in seconds.
std::vector<Check> connector_checks(const std::string& config_file, double wait);

int doctor_command(int argc, char** argv);

}  // namespace waygate::egress
