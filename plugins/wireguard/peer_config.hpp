// `waygate peer config NAME --exit-node SOCKET -c CONNECTOR.toml`: the wg-quick configuration with
// which a stock WireGuard client (wg-quick, the phone apps) uses an exit node as identity NAME —
// AllowedIPs 0.0.0.0/0, ::/0 — and a QR code of it for the phone apps. Refused, with the reason,
// for an identity no policy lets use that exit node.
#pragma once

#include <string>
#include <vector>

namespace waygate::wg {

struct PeerConfig {
  std::string comment;                  // a first line saying what this is
  std::string private_key;              // base64, or "" for a placeholder the user fills in
  std::vector<std::string> addresses;   // "10.64.0.2/32", "fd64::2/128"
  std::vector<std::string> dns;
  std::string connector_public_key;
  std::string endpoint;                 // "vpn.example.com:51820"
};

std::string wg_quick_text(const PeerConfig& p);

int peer_command(int argc, char** argv);

}  // namespace waygate::wg
