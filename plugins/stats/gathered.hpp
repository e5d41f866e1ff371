// /v1/stats with more than one worker ([host] workers): each worker's instance answers for the
// traffic it carried, and gather_totals() makes one answer of theirs. Bytes, packets and each
// socket's handshakes add up (a worker counts the handshakes of the identities it saw); an identity
// is active if it is on any worker, its socket is the one of its latest packet, and a socket's
// clients are counted again from the identities so gathered. Drops and NAT sessions are read from
// the process's metrics, the same in every answer: the first worker's stand.
#pragma once

#include <vector>

#include "waygate/api.hpp"

namespace waygate::stats {

Response gather_totals(std::vector<Response> answers);

}  // namespace waygate::stats
