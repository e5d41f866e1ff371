// The connectors alive in a directory kept in etcd: `waygate connectors`, and GET /v1/connectors on
// a connector's admin API (what `waygate stats --all` asks to find every connector's).
#pragma once

#include <string>

#include "etcd.hpp"

namespace waygate {

// Every registered connector (registration.hpp) with what its status key says of the directory it
// runs, and each connector that has a status key but no registration as not alive, as JSON:
// {"connectors": [{"name", "alive", "endpoint", "public_key", "admin", "version", "clients",
// "sessions", "since", "revision", "error"}], "revision"}.
std::string connectors_json(const Etcd& etcd, const std::string& prefix);

// waygate connectors -c CONNECTOR.toml | --etcd URL [--prefix P] [--json]
int connectors_command(int argc, char** argv);

}  // namespace waygate
