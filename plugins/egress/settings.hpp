// The egress edge's settings, read from its stage table. Kept apart from the plugin so the rig
// tests and the nft script and filter builders share one definition.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace waygate::egress {

enum class Mode : std::uint8_t { shared, kernel };

using waygate::PortRange;

using Address4 = std::array<std::uint8_t, 4>;
using Address6 = std::array<std::uint8_t, 16>;

// At most this many egress addresses of each family: every one costs the receive filter a compare,
// and classic BPF's conditional jumps reach only 255 instructions ahead.
inline constexpr std::size_t kMaxAddresses = 16;

struct Settings {
  Mode mode = Mode::shared;
  std::string interface;  // the outside interface: shared mode reads from it, kernel mode masquerades on it
  std::string netns;      // a named namespace (ip netns add NAME) for sockets, device and rules; "" = ours
  // Shared mode.
  std::vector<Address4> egress4;
  std::vector<Address6> egress6;
  PortRange ports;  // the NAT's, from the directory's sockets (nat_ports in settings.cpp)
  bool offload = true;  // IPv4 TCP trains glued and handed to the kernel through `device`
  // Kernel mode's device; shared mode's for trains.
  std::string device = "waygate%d";
  int mtu = 1420;
  std::vector<std::string> routes;  // client prefixes routed back to the device
};

// Reads and checks the stage's keys; throws ConfigError naming the key.
// In shared mode without egress4/egress6, the egress addresses of the directory's sockets.
Settings read_settings(const Config& c, const Directory& directory);

std::string to_string(const Address4& a);
std::string to_string(const Address6& a);

}  // namespace waygate::egress
