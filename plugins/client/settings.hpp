// The client stage's configuration, which the `waygate client` commands read from the same file.
#pragma once

#include <string>
#include <vector>

#include "waygate/config.hpp"

namespace waygate::client {

// A connector this client reaches through its tunnel. `name` is also the tunnel stage's peer for
// it (its endpoint and handshakes come from there); `api` is its overlay address and port, where
// it serves the clients' API inside the tunnel.
struct Connector {
  std::string name;
  std::string api;  // "10.64.0.1:80", "[fd64::1]:80"
};

struct Settings {
  std::string stage;                              // its name: names the lockdown table
  std::string device;                             // the client's TUN device: where routes go
  std::string state = "/var/lib/waygate-client/selection.json";  // waygate-client@.service's StateDirectory
  std::string resolv_conf = "/etc/resolv.conf";
  bool dns = true;                                // point the resolver at the exit node's DNS
  std::vector<Connector> connectors;

  static Settings read(const Config& table, std::string stage);
};

}  // namespace waygate::client
