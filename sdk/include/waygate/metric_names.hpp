// Metrics a stage publishes for other stages and commands to read: the one place their names are
// written. The publisher declares each with its name here (Context::counter/gauge add the
// "waygate_<plugin>_" prefix), and a reader (the stats stage, the doctor) finds it by the name's
// ending in Context::metrics(), whichever plugin publishes it, with the labels said here.
#pragma once

#include <string_view>

namespace waygate::metric {

// The host's, for every stage: drops of packets whose metadata names a socket or an identity
// (labels socket or identity, stage, reason).
inline constexpr std::string_view kSocketDrops = "socket_drops_total";
inline constexpr std::string_view kIdentityDrops = "identity_drops_total";

// A stage that keeps sessions for sockets (the NAT): how many are open now, per socket (label socket).
inline constexpr std::string_view kSocketSessions = "socket_sessions";

// A tunnel: handshakes completed in all, and per peer (label peer: the identity's name when the
// peer is one), and datagrams received.
inline constexpr std::string_view kHandshakes = "handshakes_total";
inline constexpr std::string_view kPeerHandshakes = "peer_handshakes_total";
inline constexpr std::string_view kRxPackets = "rx_packets_total";

// A tunnel clients dial: 1, labels public_key (base64) and endpoint (as clients dial it, "" if
// not configured). The host says them in the connector's registration in etcd.
inline constexpr std::string_view kTunnelInfo = "tunnel_info";

// A stage of a connector pair (the NAT's [stage.pair]): 1 while this connector is the pair's
// standby, whose floating addresses (the egress address) the active holds.
inline constexpr std::string_view kPairStandby = "pair_standby";

// Identities that sent through a socket lately (label socket).
inline constexpr std::string_view kSocketClients = "socket_clients";

// Whether `full` (as /metrics shows it: "waygate_nat_socket_sessions"; the rig's, without a
// prefix: "socket_sessions") is the metric `name`.
constexpr bool is(std::string_view full, std::string_view name) {
  return full.ends_with(name) && (full.size() == name.size() || full[full.size() - name.size() - 1] == '_');
}

}  // namespace waygate::metric
