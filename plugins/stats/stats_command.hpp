// `waygate stats [-a ADDRESS] [--watch [SECONDS]]`: a table per exit node and per client, read from
// a running connector's admin API (/v1/stats).
#pragma once

#include <string>

namespace waygate::stats {

// The tables for one /v1/stats answer (the command prints this; tests compare it).
std::string stats_table(const std::string& json_body);
// Each identity's use of its quotas, from the shaper stage's /v1/shaper; "" when it has none.
std::string quota_table(const std::string& json_body);

int stats_command(int argc, char** argv);

}  // namespace waygate::stats
