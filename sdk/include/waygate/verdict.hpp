// Whether an identity may use a socket, and if not, why: the one place policy conditions are
// read, for the policy stage's verdicts, the clients' API, the access graph and any command that
// asks (a stock client's configuration, say) alike. The verdict is the
// union of the policies that apply to the socket (linked to it, or organization-wide) and whose
// conditions all hold; no such policy granting `network` means no access.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "waygate/directory.hpp"

namespace waygate {

// What the conditions are checked against besides the identity.
struct Situation {
  net::Address source;   // the client's underlay address; none when not known yet
  std::string country;   // of the source, "" when unknown (or no GeoIP database)
  std::chrono::sys_seconds at{};
  bool who_only = false;  // check who and the permission, not where and when (the access graph)
};

// One applying policy's answer.
struct Finding {
  std::uint32_t policy = 0;
  std::string failed;  // "" when it grants; else the first condition that failed, in words
};

struct Verdict {
  bool granted = false;
  std::vector<Finding> findings;  // for every policy applying to the socket, in file order
  // "granted by staff-exit" or "denied: staff-exit: ...; everyone: ..." or "denied: no policy
  // is linked to socket 'x'".
  std::string explain(const Directory& d, std::uint32_t socket) const;
};

Verdict evaluate(const Directory& d, std::uint32_t identity, std::uint32_t socket, const Situation& s);
// Whether evaluate() would grant, without putting into words what every other policy lacks: for a
// cache of every identity's verdicts (10,000 identities and 1,000 policies kept their findings
// in 900 MiB).
bool grants(const Directory& d, std::uint32_t identity, std::uint32_t socket, const Situation& s);

// Whether the policy's time conditions (not before, not after, daily window) hold at `at`; the
// stage re-evaluates when this changes for any policy.
bool in_time(const Policy& p, std::chrono::sys_seconds at);
bool has_time_conditions(const Policy& p);
// The where and when conditions in words ("from 192.0.2.0/24; 08:00-18:00 Europe/Berlin"), "" if none.
std::string situational(const Policy& p);

}  // namespace waygate
