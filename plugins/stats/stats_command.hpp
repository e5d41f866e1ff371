// `waygate stats [-a ADDRESS] [--watch [SECONDS]] [--all]`: a table per exit node and per client,
// read from a running connector's admin API (/v1/stats); with --all, from every connector alive in
// its directory in etcd (its /v1/connectors names their admin APIs), each, then all together.
#pragma once

#include <string>
#include <vector>

namespace waygate::stats {

// The tables for one /v1/stats answer (the command prints this; tests compare it).
std::string stats_table(const std::string& json_body);
// Each identity's use of its quotas, from the shaper stage's /v1/shaper; "" when it has none.
std::string quota_table(const std::string& json_body);

// Several connectors' /v1/stats answers as one: the same sockets and identities, by name, their
// counts summed (an identity that moved between connectors has traffic on both).
std::string merged_stats(const std::vector<std::string>& json_bodies);

int stats_command(int argc, char** argv);

}  // namespace waygate::stats
