// The nat stage's checks for `waygate doctor` (waygate/doctor.hpp), on one of a connector pair
// ([stage.pair]): its role and, on the standby, whether it is level with the active's table and
// hears from it. What keepalived makes of the pair (the VRRP state) is keepalived's to say.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"

namespace waygate::nat {

namespace {

std::vector<Check> checks(const Patient& p) {
  std::vector<Check> out;
  if (!p.stage.has("pair") || !p.running) return out;
  try {
    const boost::json::value v = boost::json::parse(admin_get(p.admin, "/v1/nat/pair", p.token));
    const auto& o = v.as_object();
    const bool active = o.at("role").as_string() == "active";
    const std::string peer(o.at("peer").as_string());
    const auto sessions = o.at("sessions").to_number<std::int64_t>();
    const double heard = o.contains("heard_seconds_ago") ? o.at("heard_seconds_ago").to_number<double>() : -1;
    if (active) {
      out.push_back({"pair", true,
                     fmt::format("active: {} NAT session(s), replicated to {} (datagram {}){}", sessions, peer,
                                 o.at("sequence").to_number<std::int64_t>(),
                                 heard < 0 ? "; the standby has not asked for anything yet" : ""),
                     ""});
      return out;
    }
    const bool behind = o.at("behind").as_bool();
    const bool silent = heard < 0 || heard > 3;  // the active's heartbeat comes each second
    out.push_back({"pair", !behind && !silent,
                   fmt::format("standby of {}: {} NAT session(s) held, {}{}", peer, sessions,
                               behind ? "behind (a snapshot is asked for)" : "level with the active",
                               heard < 0 ? ", nothing heard from it yet" : fmt::format(", heard {:.1f} s ago", heard)),
                   silent ? fmt::format("the active at {} does not reach this one: is it running, the pair's port open "
                                        "between the two, the key_file the same on both?",
                                        peer)
                          : "it catches up by itself once the link carries; `waygate stats` counts pair_refused_total"});
  } catch (const std::exception& e) {
    out.push_back({"pair", false, e.what(), "the admin API stopped answering"});
  }
  return out;
}

}  // namespace

}  // namespace waygate::nat

WAYGATE_DOCTOR(waygate::nat::checks)
