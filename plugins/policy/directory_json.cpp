#include "directory_json.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/verdict.hpp"
#include "waygate/utc.hpp"

namespace waygate::policy {

namespace json = boost::json;

namespace {

template <typename T>
json::array texts(const std::vector<T>& items) {
  json::array out;
  for (auto& x : items) {
    if constexpr (std::is_same_v<T, std::string>) out.emplace_back(x);
    else out.emplace_back(x.to_string());
  }
  return out;
}

json::value utc_or_null(const std::optional<std::chrono::sys_seconds>& t) {
  if (!t) return nullptr;
  return json::value(format_utc(*t));
}

std::string minutes(std::chrono::minutes m) { return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60); }

}  // namespace

std::string sockets_json(const Directory& d, const Reach& reach) {
  json::array sockets;
  for (std::uint32_t s = 0; s < d.sockets.size(); ++s) {
    const Socket& sock = d.sockets[s];
    json::array policies;
    for (auto& p : d.policies)
      if (p.applies_to(s)) policies.emplace_back(p.name);
    sockets.push_back(json::object{{"name", sock.name},
                                   {"type", to_string(sock.type)},
                                   {"description", sock.description},
                                   {"connectors", json::array(sock.connectors.begin(), sock.connectors.end())},
                                   {"egress", texts(sock.egress)},
                                   {"dns", texts(sock.dns)},
                                   {"routes", texts(sock.routes)},
                                   {"allow", texts(sock.allow)},
                                   {"deny", texts(sock.deny)},
                                   {"reaches", reach.summary(s)},
                                   {"policies", policies}});
  }
  return json::serialize(json::object{{"sockets", sockets}}) + "\n";
}

std::string policies_json(const Directory& d) {
  json::array policies;
  for (auto& p : d.policies) {
    const Conditions& c = p.conditions;
    json::array sockets, identities;
    for (auto s : p.sockets) sockets.emplace_back(d.sockets[s].name);
    for (auto i : c.identities) identities.emplace_back(d.identities[i].name);
    json::object when{{"not_before", utc_or_null(c.not_before)}, {"not_after", utc_or_null(c.not_after)},
                      {"hours", nullptr}, {"timezone", nullptr}};
    if (c.daily) {
      when["hours"] = minutes(c.daily->begin) + "-" + minutes(c.daily->end);
      when["timezone"] = c.daily->zone;
    }
    policies.push_back(json::object{
        {"name", p.name},
        {"organization_wide", p.organization_wide},
        {"sockets", sockets},
        {"permissions", texts(p.permissions)},
        {"who", json::object{{"identities", identities}, {"groups", texts(c.groups)}, {"email_domains", texts(c.email_domains)}}},
        {"where", json::object{{"sources", texts(c.sources)}, {"countries", texts(c.countries)}}},
        {"when", when},
        {"conditions", situational(p)}});
  }
  return json::serialize(json::object{{"policies", policies}}) + "\n";
}

}  // namespace waygate::policy
