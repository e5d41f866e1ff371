// Captures and traces with more than one worker ([host] workers): every worker watches its own
// packets, so the admin API asks each of them (they number their captures alike, each taking every
// request) and gather_watches() makes one answer of theirs. A read merges what each held: the
// packets of all, the counts summed, running while any runs. The reader (waygate capture, waygate
// trace) stops at its --count itself, since each worker counts only its own.
#pragma once

#include <vector>

#include "waygate/api.hpp"

namespace waygate {

Response gather_watches(std::vector<Response> answers);

}  // namespace waygate
