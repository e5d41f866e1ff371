// The policy stage's checks for `waygate doctor` (waygate/doctor.hpp): a policy with the network
// permission linked to each socket (or nobody may use it), and what each exit node reaches, as the
// running stage has it.
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "waygate/admin_client.hpp"
#include "waygate/doctor.hpp"

namespace waygate::policy {

namespace {

std::vector<Check> checks(const Patient& p) {
  std::vector<Check> out;
  const Directory& d = p.directory;
  for (std::size_t s = 0; s < d.sockets.size(); ++s) {
    std::vector<std::string> names;
    for (auto& policy : d.policies)
      if (policy.applies_to(static_cast<std::uint32_t>(s)) && policy.grants("network")) names.push_back(policy.name);
    out.push_back({fmt::format("policy linked to {}", d.sockets[s].name), !names.empty(),
                   names.empty() ? "no policy with the network permission applies to it: nobody may use it"
                                 : fmt::format("network permission from {}", fmt::join(names, ", ")),
                   "link a policy with permissions = [\"network\"] to it (sockets = [\"" + d.sockets[s].name +
                       "\"] or organization_wide = true); `waygate access-graph -c " + p.file + "` shows who reaches what"});
  }
  if (!p.running) return out;
  // What each exit node reaches: the internet, what its socket allows, minus the overlay and the
  // connector's own addresses as the kernel has them now.
  try {
    auto answer = boost::json::parse(admin_get(p.admin, "/v1/sockets", p.token));
    for (auto& sock : answer.at("sockets").as_array())
      if (sock.at("type") == "exit_node" && sock.as_object().contains("reaches"))
        out.push_back({fmt::format("{} reaches", std::string_view(sock.at("name").as_string())), true,
                       std::string(sock.at("reaches").as_string()), ""});
  } catch (const std::exception& e) {
    out.push_back({"exit nodes reach", false, e.what(), "the admin API stopped answering"});
  }
  return out;
}

}  // namespace

}  // namespace waygate::policy

WAYGATE_DOCTOR(waygate::policy::checks)
