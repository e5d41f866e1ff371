// What other stages count about the directory's sockets and identities, read from the process's
// metrics by name and labels (Context::metrics()), so the stats stage shows them beside its own
// traffic counts without any stage calling another:
//   socket_drops_total{socket,stage,reason}, identity_drops_total{identity,stage,reason}
//     (every stage's drops of packets whose metadata names them; summed over stages by reason),
//   socket_sessions{socket} (the nat stage's live sessions per socket),
//   peer_handshakes_total{peer} (the wireguard edge's, whose peers are named after identities).
// A metric name matches by its ending, whatever plugin prefix it carries.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "waygate/counters.hpp"
#include "waygate/directory.hpp"

namespace waygate::stats {

struct Attributed {
  std::vector<std::map<std::string, std::uint64_t>> socket_drops, identity_drops;  // by reason
  std::vector<std::uint64_t> socket_sessions, socket_handshakes, identity_handshakes;
};

// `socket_of[i]`: the socket identity i last sent to (kNoId: none), for its handshakes.
Attributed attribute(const std::vector<MetricSample>& metrics, const Directory& d,
                     const std::vector<std::uint32_t>& socket_of);

}  // namespace waygate::stats
