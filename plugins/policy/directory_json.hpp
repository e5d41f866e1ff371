// The directory as the admin API shows it: /v1/sockets (what each socket is, what it reaches,
// where its traffic leaves, which policies apply to it) and /v1/policies (each policy's who, where and when). The
// portal draws them; a script may read them too.
#pragma once

#include <string>

#include "reach.hpp"
#include "waygate/directory.hpp"

namespace waygate::policy {

std::string sockets_json(const Directory& d, const Reach& reach);
std::string policies_json(const Directory& d);

}  // namespace waygate::policy
