// The nat stage's checks for `waygate doctor` (waygate/doctor.hpp), on one of a connector pair
// ([stage.pair]): its role and, on the standby, whether it is level with the active's table and
// hears from it; on the active, whether the standby is active too (split brain); what keepalived
// last said of the VRRP instance (its notify script's word), and whether the egress addresses
// are where the role says (on the active, not on the standby).
#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"
#include "waygate/net/interfaces.hpp"

namespace waygate::nat {

namespace {

// The pair's state as GET /v1/nat/pair says it.
Check pair(const boost::json::object& o) {
  const bool active = o.at("role").as_string() == "active";
  const std::string peer(o.at("peer").as_string());
  const auto sessions = o.at("sessions").to_number<std::int64_t>();
  const double heard = o.contains("heard_seconds_ago") ? o.at("heard_seconds_ago").to_number<double>() : -1;
  if (active) {
    if (o.at("split_brain").as_bool())
      return {"pair", false,
              fmt::format("active, and {} at {} says it is active too (split brain): {} NAT session(s) here",
                          std::string(o.at("peer_connector").as_string()), peer, sessions),
              "VRRP's adverts do not reach between the two (a firewall on protocol 112, a cut link, another "
              "virtual_router_id): each holds the floating addresses and some clients. Mend the link: the one of lower "
              "priority becomes standby and takes the other's table whole"};
    return {"pair", true,
            fmt::format("active: {} NAT session(s), replicated to {} (datagram {}){}", sessions, peer,
                        o.at("sequence").to_number<std::int64_t>(),
                        heard < 0 ? "; the standby has not asked for anything yet" : ""),
            ""};
  }
  const bool behind = o.at("behind").as_bool();
  const bool silent = heard < 0 || heard > 3;  // the active's heartbeat comes each second
  return {"pair", !behind && !silent,
          fmt::format("standby of {} at {}: {} NAT session(s) held, {}{}", std::string(o.at("peer_connector").as_string()),
                      peer, sessions, behind ? "behind (a snapshot is asked for)" : "level with the active",
                      heard < 0 ? ", nothing heard from it yet" : fmt::format(", heard {:.1f} s ago", heard)),
          silent ? fmt::format("the active at {} does not reach this one: is it running, the pair's port open "
                               "between the two, the key_file the same on both?",
                               peer)
                 : "it catches up by itself once the link carries; `waygate stats` counts pair_refused_total"};
}

// What keepalived said last, through its notify script.
Check vrrp(const boost::json::object& o) {
  const bool active = o.at("role").as_string() == "active";
  const auto* v = o.if_contains("vrrp");
  if (v == nullptr)
    return {"VRRP", true, "keepalived has said nothing to this connector: the role was set by hand or by the file",
            "keepalived's notify script tells the pair's role: see examples/pair", true};
  const auto& vo = v->as_object();
  const std::string state(vo.at("state").as_string());
  const bool agrees = (state == "MASTER") == active;
  return {"VRRP", agrees,
          fmt::format("keepalived's instance {} is {} (priority {}), said {:.0f} s ago; this connector is {}",
                      std::string(vo.at("instance").as_string()), state, vo.at("priority").to_number<std::int64_t>(),
                      vo.at("told_seconds_ago").to_number<double>(), active ? "active" : "standby"),
          "the role follows keepalived's notify script: is it the one of examples/pair, and does it reach the admin API?"};
}

// The sockets' egress addresses float with VRRP: on the active, not on the standby.
Check floating(const boost::json::object& o, const Directory& d) {
  const bool active = o.at("role").as_string() == "active";
  const auto here = net::interface_addresses();
  std::vector<std::string> present, absent;
  for (const auto& socket : d.sockets)
    for (const auto& a : socket.egress)
      (std::any_of(here.begin(), here.end(), [&](auto& i) { return i.address == a; }) ? present : absent)
          .push_back(a.to_string());
  if (present.empty() && absent.empty()) return {"floating addresses", true, "no socket has an egress address", ""};
  if (active)
    return {"floating addresses", absent.empty(),
            absent.empty() ? fmt::format("{} here, as the active's", fmt::join(present, ", "))
                           : fmt::format("{} not here, though this connector is active", fmt::join(absent, ", ")),
            "keepalived adds them to the instance that is MASTER: is this one MASTER (`ip addr`), are they in its "
            "virtual_ipaddress?"};
  return {"floating addresses", present.empty(),
          present.empty() ? fmt::format("{} not here: the active holds them", fmt::join(absent, ", "))
                          : fmt::format("{} here, though this connector is standby", fmt::join(present, ", ")),
          "both connectors would answer for them: keepalived should have taken them away (is this one MASTER while its "
          "nat stage was told standby?)"};
}

std::vector<Check> checks(const Patient& p) {
  if (!p.stage.has("pair") || !p.running) return {};
  try {
    const boost::json::value v = boost::json::parse(admin_get(p.admin, "/v1/nat/pair", p.token));
    const auto& o = v.as_object();
    return {pair(o), vrrp(o), floating(o, p.directory)};
  } catch (const std::exception& e) {
    return {{"pair", false, e.what(), "the admin API stopped answering"}};
  }
}

}  // namespace

}  // namespace waygate::nat

WAYGATE_DOCTOR(waygate::nat::checks)
