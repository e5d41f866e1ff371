// A connector's registration in etcd, PREFIX connectors/NAME, put under a lease it renews every
// few seconds (connector_lease.hpp): while the key is there, the connector is alive. It says what
// a client needs to reach it and what an operator wants to see of it (`waygate connectors`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waygate {

struct Registration {
  std::string name;
  std::string endpoint;    // its tunnel, as clients dial it ("" if its tunnel says none)
  std::string public_key;  // its tunnel's
  std::string admin;       // its admin API, "10.0.0.1:9190" ("" when off)
  std::string version;
  std::int64_t revision = 0;  // the directory's revision it runs
  std::int64_t clients = 0;   // identities that sent through its sockets lately
  std::int64_t sessions = 0;  // its NAT sessions: its load
  std::string since;          // when it started, UTC
};

std::string registration_json(const Registration& r);
// nullopt for a value that is not one (it came from etcd: anybody may have written it).
std::optional<Registration> read_registration(std::string_view json);

// Where the registrations are, below a connector's [directory] prefix.
inline std::string connectors_prefix(const std::string& prefix) { return prefix + "connectors/"; }

}  // namespace waygate
