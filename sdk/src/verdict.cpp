#include "waygate/verdict.hpp"

#include <algorithm>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include "waygate/utc.hpp"

namespace waygate {

namespace {

template <class T>
bool listed(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string utc(std::chrono::sys_seconds t) { return format_utc(t); }

std::string hhmm(std::chrono::minutes m) {
  return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60);
}

std::chrono::minutes local_minute(const DailyWindow& w, std::chrono::sys_seconds at) {
  auto local = date::make_zoned(w.zone, at).get_local_time();
  return std::chrono::floor<std::chrono::minutes>(local - std::chrono::floor<date::days>(local));
}

bool in_window(const DailyWindow& w, std::chrono::minutes m) {
  return w.begin < w.end ? (m >= w.begin && m < w.end) : (m >= w.begin || m < w.end);
}

// Each condition is checked by a *_holds function; *_fails says in words why one does not hold.
bool who_holds(const Directory& d, const Conditions& c, std::uint32_t identity) {
  if (c.identities.empty() && c.groups.empty() && c.email_domains.empty()) return true;
  const Identity& id = d.identities[identity];
  if (listed(c.identities, identity)) return true;
  for (auto& g : id.groups)
    if (listed(c.groups, g)) return true;
  auto at = id.email.rfind('@');
  return at != std::string::npos && listed(c.email_domains, id.email.substr(at + 1));
}

std::string who_fails(const Directory& d, const Conditions& c, std::uint32_t identity) {
  if (who_holds(d, c, identity)) return "";
  const Identity& id = d.identities[identity];
  std::vector<std::string> wanted;
  for (auto i : c.identities) wanted.push_back("identity " + d.identities[i].name);
  for (auto& g : c.groups) wanted.push_back("group " + g);
  for (auto& e : c.email_domains) wanted.push_back("email domain " + e);
  return fmt::format("who: '{}' is not {}", id.name, join(wanted));
}

bool where_holds(const Conditions& c, const Situation& s) {
  if (!c.sources.empty() && (s.source.family() == net::Family::none ||
                             std::none_of(c.sources.begin(), c.sources.end(),
                                          [&](const net::Prefix& p) { return p.contains(s.source); })))
    return false;
  return c.countries.empty() || listed(c.countries, s.country);
}

std::string where_fails(const Conditions& c, const Situation& s) {
  if (where_holds(c, s)) return "";
  if (!c.sources.empty()) {
    if (s.source.family() == net::Family::none) return "where: the client's address is not known yet";
    bool inside = std::any_of(c.sources.begin(), c.sources.end(),
                              [&](const net::Prefix& p) { return p.contains(s.source); });
    if (!inside) {
      std::vector<std::string> prefixes;
      for (auto& p : c.sources) prefixes.push_back(p.to_string());
      return fmt::format("where: {} is not in {}", s.source.to_string(), join(prefixes));
    }
  }
  if (!c.countries.empty() && !listed(c.countries, s.country))
    return fmt::format("where: the client's country is {}, not {}",
                       s.country.empty() ? "unknown" : s.country, join(c.countries));
  return "";
}

bool when_holds(const Conditions& c, std::chrono::sys_seconds at) {
  if (c.not_before && at < *c.not_before) return false;
  if (c.not_after && at >= *c.not_after) return false;
  return !c.daily || in_window(*c.daily, local_minute(*c.daily, at));
}

std::string when_fails(const Conditions& c, std::chrono::sys_seconds at) {
  if (when_holds(c, at)) return "";
  if (c.not_before && at < *c.not_before) return "when: not before " + utc(*c.not_before);
  if (c.not_after && at >= *c.not_after) return "when: ended at " + utc(*c.not_after);
  if (c.daily) {
    auto m = local_minute(*c.daily, at);
    if (!in_window(*c.daily, m))
      return fmt::format("when: outside {}-{} {} (it is {} there)", hhmm(c.daily->begin),
                         hhmm(c.daily->end), c.daily->zone, hhmm(m));
  }
  return "";
}

}  // namespace

bool in_time(const Policy& p, std::chrono::sys_seconds at) { return when_holds(p.conditions, at); }

bool grants(const Directory& d, std::uint32_t identity, std::uint32_t socket, const Situation& s) {
  for (const Policy& p : d.policies)
    if (p.applies_to(socket) && who_holds(d, p.conditions, identity) &&
        (s.who_only || (where_holds(p.conditions, s) && when_holds(p.conditions, s.at))) && p.grants("network"))
      return true;
  return false;
}

bool has_time_conditions(const Policy& p) {
  const Conditions& c = p.conditions;
  return c.not_before || c.not_after || c.daily;
}

Verdict evaluate(const Directory& d, std::uint32_t identity, std::uint32_t socket, const Situation& s) {
  Verdict v;
  for (std::size_t i = 0; i < d.policies.size(); ++i) {
    const Policy& p = d.policies[i];
    if (!p.applies_to(socket)) continue;
    Finding f{static_cast<std::uint32_t>(i), {}};
    f.failed = who_fails(d, p.conditions, identity);
    if (f.failed.empty() && !s.who_only) f.failed = where_fails(p.conditions, s);
    if (f.failed.empty() && !s.who_only) f.failed = when_fails(p.conditions, s.at);
    if (f.failed.empty() && !p.grants("network")) f.failed = "it does not grant the network permission";
    v.granted |= f.failed.empty();
    v.findings.push_back(std::move(f));
  }
  return v;
}

std::string situational(const Policy& p) {
  const Conditions& c = p.conditions;
  std::vector<std::string> parts;
  if (!c.sources.empty()) {
    std::vector<std::string> prefixes;
    for (auto& x : c.sources) prefixes.push_back(x.to_string());
    parts.push_back("from " + join(prefixes));
  }
  if (!c.countries.empty()) parts.push_back("in " + join(c.countries));
  if (c.not_before) parts.push_back("after " + utc(*c.not_before));
  if (c.not_after) parts.push_back("until " + utc(*c.not_after));
  if (c.daily) parts.push_back(hhmm(c.daily->begin) + "-" + hhmm(c.daily->end) + " " + c.daily->zone);
  std::string out;
  for (auto& x : parts) out += (out.empty() ? "" : "; ") + x;
  return out;
}

std::string Verdict::explain(const Directory& d, std::uint32_t socket) const {
  if (findings.empty()) return fmt::format("denied: no policy is linked to socket '{}'", d.sockets[socket].name);
  std::string out;
  for (auto& f : findings) {
    if (granted != f.failed.empty()) continue;
    out += out.empty() ? "" : "; ";
    out += granted ? d.policies[f.policy].name : d.policies[f.policy].name + ": " + f.failed;
  }
  return (granted ? "granted by " : "denied: ") + out;
}

}  // namespace waygate
