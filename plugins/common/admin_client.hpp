// The commands' side of the admin API: one GET to a running connector ([host] admin), for
// `waygate stats` and `waygate doctor`.
#pragma once

#include <string>

namespace waygate {

// The body of a 200 answer; throws std::runtime_error naming the address for anything else
// (nothing listening, another status).
// `token`: the admin token, when the connector requires one.
std::string admin_get(const std::string& address, const std::string& target, const std::string& token = "");

}  // namespace waygate
