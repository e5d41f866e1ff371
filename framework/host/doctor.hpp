// `waygate doctor -c FILE`: the troubleshooting list of a connector or a client, each check
// passing, warning or failing with what to do. The host checks what is everyone's (the file reads,
// the directory's warnings, the admin API answers) and then runs each stage's plugin's checks
// (waygate/doctor.hpp) in the pipeline's order.
#pragma once

#include "host.hpp"
#include "plugin_catalog.hpp"

namespace waygate {

// Prints the checks; 0 when none fails. `wait`: seconds a check may watch counters move.
int doctor(const HostOptions& options, double wait, PluginCatalog& catalog);

}  // namespace waygate
