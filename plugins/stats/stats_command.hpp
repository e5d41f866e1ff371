// `waygate stats [-a ADDRESS] [--watch [SECONDS]]`: a table per exit node and per client, read from
// a running connector's admin API (/v1/stats).
#pragma once

#include <string>

namespace waygate::stats {

// The tables for one /v1/stats answer (the command prints this; tests compare it).
std::string stats_table(const std::string& json_body);

int stats_command(int argc, char** argv);

}  // namespace waygate::stats
