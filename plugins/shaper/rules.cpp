#include "rules.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace waygate::shaper {

namespace {

using namespace std::chrono_literals;

constexpr double kMinDepth = 16 * 1024;  // two jumbo frames' worth, whatever the rate

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A number and what follows it.
std::optional<std::pair<double, std::string_view>> number(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || !std::isfinite(v) || v <= 0) return std::nullopt;
  return std::pair{v, text.substr(static_cast<std::size_t>(end - text.data()))};
}

// Which of identity / group / socket a table names: exactly one.
std::pair<std::string, std::string> subject(const Config& t, bool socket_allowed) {
  std::vector<std::string> named;
  for (const char* k : {"identity", "group", "socket"})
    if (t.has(k) && (socket_allowed || std::string_view(k) != "socket")) named.push_back(k);
  if (named.size() != 1)
    t.fail("", socket_allowed ? "names exactly one of identity, group or socket"
                              : "names exactly one of identity or group (and socket, optionally)");
  return {named[0], t.string(named[0])};
}

double rate_of(const Config& t, const char* key) {
  if (!t.has(key)) return 0;
  const std::string text = t.string(key);
  auto r = parse_rate(text);
  if (!r) t.fail(key, "expected a rate such as \"20mbit\", \"800kbit\" or \"1gbit\", got '" + text + "'");
  return *r;
}

}  // namespace

std::optional<double> parse_rate(std::string_view text) {
  auto n = number(text);
  if (!n) return std::nullopt;
  const std::string_view unit = n->second;
  double scale = 0;
  if (iequal(unit, "bit")) scale = 1;
  else if (iequal(unit, "kbit")) scale = 1e3;
  else if (iequal(unit, "mbit")) scale = 1e6;
  else if (iequal(unit, "gbit")) scale = 1e9;
  else return std::nullopt;
  return n->first * scale / 8;
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  auto n = number(text);
  if (!n) return std::nullopt;
  static constexpr std::pair<std::string_view, double> units[] = {
      {"", 1},        {"B", 1},         {"KB", 1e3},       {"MB", 1e6},       {"GB", 1e9},
      {"TB", 1e12},   {"KiB", 1024.0},  {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  for (auto [unit, scale] : units)
    if (iequal(n->second, unit)) {
      const double bytes = n->first * scale;
      if (bytes < 1 || bytes > 1.8e19) return std::nullopt;
      return static_cast<std::uint64_t>(bytes);
    }
  return std::nullopt;
}

std::string rate_text(double bytes_per_second) {
  const double bits = bytes_per_second * 8;
  if (bits >= 1e9) return fmt::format("{:g}gbit", bits / 1e9);
  if (bits >= 1e6) return fmt::format("{:g}mbit", bits / 1e6);
  if (bits >= 1e3) return fmt::format("{:g}kbit", bits / 1e3);
  return fmt::format("{:g}bit", bits);
}

Rules read_rules(const Config& c, const Directory& d) {
  Rules r;
  r.draws.resize(d.identities.size());
  r.socket_bucket.assign(d.sockets.size(), {kNone, kNone});
  r.fair_rate.assign(d.sockets.size(), {0, 0});
  r.fair_burst.assign(d.sockets.size(), 0.1);
  r.quotas_of.resize(d.identities.size());

  for (const Config& t : c.tables("limit")) {
    auto [kind, name] = subject(t, true);
    const double rate[2] = {rate_of(t, "up"), rate_of(t, "down")};
    if (rate[0] == 0 && rate[1] == 0) t.fail("", "sets neither up nor down");
    const Duration burst = t.duration("burst", 100ms);
    if (burst < 1ms || burst > 10s) t.fail("burst", "expected a time from 1ms to 10s");
    const double seconds = std::chrono::duration<double>(burst).count();
    const bool fair = kind == "socket" ? t.boolean("fair", true) : false;
    if (kind != "socket" && t.has("fair")) t.fail("fair", "only a socket's rate is shared");
    t.complete();

    std::vector<std::uint32_t> members;  // the identities whose packets draw from it
    std::uint32_t socket = kNone;
    if (kind == "identity") {
      const std::uint32_t i = d.identity_by_name(name);
      if (i == kNoId) t.fail("identity", "no identity '" + name + "' in the directory");
      members.push_back(i);
    } else if (kind == "group") {
      for (std::uint32_t i = 0; i < d.identities.size(); ++i)
        if (std::ranges::count(d.identities[i].groups, name)) members.push_back(i);
      if (members.empty()) t.fail("group", "no identity of the directory is in group '" + name + "'");
    } else {
      socket = d.socket_by_name(name);
      if (socket == kNoId) t.fail("socket", "no socket '" + name + "' in the directory");
      if (r.fair_rate[socket][0] > 0 || r.fair_rate[socket][1] > 0 || r.socket_bucket[socket][0] != kNone ||
          r.socket_bucket[socket][1] != kNone)
        t.fail("socket", "socket '" + name + "' is limited twice");
    }
    for (int dir = 0; dir < 2; ++dir) {
      if (rate[dir] == 0) continue;
      if (socket != kNone && fair) {
        r.fair_rate[socket][dir] = rate[dir];
        r.fair_burst[socket] = seconds;
        continue;
      }
      const auto b = static_cast<std::uint32_t>(r.buckets.size());
      r.buckets.push_back({fmt::format("{} '{}'", kind, name), dir, rate[dir], std::max(kMinDepth, rate[dir] * seconds)});
      if (socket != kNone) r.socket_bucket[socket][dir] = b;
      for (std::uint32_t i : members) r.draws[i][dir].push_back(b);
    }
  }

  for (const Config& t : c.tables("quota")) {
    auto [kind, name] = subject(t, false);
    QuotaSpec q;
    t.require("bytes", "the bytes allowed per period");
    const std::string bytes = t.string("bytes");
    auto b = parse_bytes(bytes);
    if (!b) t.fail("bytes", "expected an amount such as \"10GB\", \"500MiB\" or \"4096\", got '" + bytes + "'");
    q.bytes = *b;
    const std::string per = t.string("per", "month");
    if (per == "day") q.per = Period::day;
    else if (per == "month") q.per = Period::month;
    else t.fail("per", "expected \"day\" or \"month\", got '" + per + "'");
    q.zone = t.string("timezone", "UTC");
    if (!known_zone(q.zone))
      t.fail("timezone", "unknown time zone '" + q.zone + "' (a tz database name such as \"Europe/Berlin\" or \"UTC\")");
    if (t.has("socket")) {
      q.socket = t.string("socket");
      q.socket_id = d.socket_by_name(q.socket);
      if (q.socket_id == kNoId) t.fail("socket", "no socket '" + q.socket + "' in the directory");
    }
    t.complete();
    std::vector<std::uint32_t> members;
    if (kind == "identity") {
      const std::uint32_t i = d.identity_by_name(name);
      if (i == kNoId) t.fail("identity", "no identity '" + name + "' in the directory");
      members.push_back(i);
    } else {
      for (std::uint32_t i = 0; i < d.identities.size(); ++i)
        if (std::ranges::count(d.identities[i].groups, name)) members.push_back(i);
      if (members.empty()) t.fail("group", "no identity of the directory is in group '" + name + "'");
    }
    for (std::uint32_t i : members) {
      for (std::uint32_t other : r.quotas_of[i])
        if (r.quotas[other].socket == q.socket)
          t.fail(kind, fmt::format("identity '{}' has a quota {} already", d.identities[i].name,
                                   q.socket.empty() ? "for all sockets" : "for socket '" + q.socket + "'"));
      q.identity = d.identities[i].name;
      r.quotas_of[i].push_back(static_cast<std::uint32_t>(r.quotas.size()));
      r.quotas.push_back(q);
    }
  }
  return r;
}

}  // namespace waygate::shaper
