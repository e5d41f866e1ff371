#include "nat_log.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "waygate/config.hpp"
#include "waygate/utc.hpp"

namespace waygate::nat {

namespace {

const char* protocol_name(std::uint8_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1:
    case 58: return "icmp";
    default: return "other";
  }
}

void endpoint(std::string& out, const net::Address& a, std::uint16_t port) {
  if (a.is_v6()) fmt::format_to(std::back_inserter(out), "\"[{}]:{}\"", a.to_string(), port);
  else fmt::format_to(std::back_inserter(out), "\"{}:{}\"", a.to_string(), port);
}

std::string utc_ms(std::int64_t ns) {
  return format_utc(UtcTime{std::chrono::milliseconds(ns / 1'000'000)}, true);
}

// Nanoseconds since the epoch, as the engine's events count.
std::optional<std::int64_t> parse_ns(const std::string& text) {
  auto t = parse_utc(text);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count();
}

// The `log` key of the first nat stage of a connector's config.
std::string log_of(const std::string& config) {
  Config root = Config::parse_file(config);
  for (const Config& stage : root.tables("stage"))
    if (stage.string("plugin", "") == "nat" && stage.has("log")) return stage.string("log");
  throw std::runtime_error(config + ": no nat stage with a 'log' key");
}

}  // namespace

void format_session(std::string& out, const SessionEvent& e, const Directory& d, std::string_view connector) {
  out.clear();
  auto it = std::back_inserter(out);
  fmt::format_to(it, R"({{"time":"{}","event":"{}","connector":"{}","identity":)", utc_ms(e.wall_ns),
                 e.start ? "start" : "end", connector);
  if (e.identity < d.identities.size()) fmt::format_to(it, "\"{}\"", d.identities[e.identity].name);
  else if (e.identity == kNoId) out += "null";
  else fmt::format_to(it, "{}", e.identity);
  out += R"(,"socket":)";
  if (e.socket < d.sockets.size()) fmt::format_to(it, "\"{}\"", d.sockets[e.socket].name);
  else fmt::format_to(it, "{}", e.socket);
  fmt::format_to(it, R"(,"protocol":"{}","inside":)", protocol_name(e.protocol));
  endpoint(out, e.inside, e.inside_port);
  out += R"(,"remote":)";
  endpoint(out, e.remote, e.remote_port);
  out += R"(,"outside":)";
  endpoint(out, e.outside, e.outside_port);
  out += "}";
}

namespace {

// A line the lookup can use has every field it matches on or prints; another (a hand-edited one,
// say) is skipped as a line that is not JSON is.
bool whole(const boost::json::object& o) {
  for (const char* key : {"time", "event", "outside", "inside", "remote", "protocol", "identity", "socket"})
    if (!o.contains(key)) return false;
  return o.at("time").is_string() && o.at("protocol").is_string();
}

// A log's lines about one outside endpoint, oldest first: the file and its rotations FILE.20 ..
// FILE.1, FILE.
void read_lines(const std::string& log, const std::string& outside, const std::string& protocol,
                std::vector<std::pair<std::int64_t, boost::json::object>>& into) {
  std::vector<std::string> files;
  for (int i = 20; i >= 1; --i)
    if (std::filesystem::exists(log + "." + std::to_string(i))) files.push_back(log + "." + std::to_string(i));
  files.push_back(log);
  const std::string quoted = "\"" + outside + "\"";
  for (auto& file : files) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file);
    for (std::string text; std::getline(in, text);) {
      if (text.find(quoted) == std::string::npos) continue;  // cheap filter before parsing
      std::error_code ec;
      auto v = boost::json::parse(text, ec);
      if (ec || !v.is_object()) continue;
      auto& o = v.as_object();
      if (!whole(o) || o.at("outside") != outside.c_str()) continue;
      if (!protocol.empty() && o.at("protocol") != protocol.c_str()) continue;
      auto t = parse_ns(std::string(o.at("time").as_string()));
      if (t) into.emplace_back(*t, std::move(o));
    }
  }
}

}  // namespace

int nat_lookup_command(int argc, char** argv) {
  CLI::App app{"Who had this public address and port at that time? (from the NAT log)", "nat-lookup"};
  std::string outside, at, config, protocol;
  std::vector<std::string> logs;
  app.add_option("outside", outside, "The public address and port: 198.51.100.1:40001 or [2001:db8::1]:40001")->required();
  app.add_option("--at", at, "The moment: 2026-11-25T10:44:55Z (UTC)")->required();
  app.add_option("--log", logs, "A NAT log file (rotated files FILE.1, FILE.2, ... are read too); several are read as one");
  app.add_option("-c,--config", config, "Or the connector's config, whose nat stage names the log");
  app.add_option("--protocol", protocol, "Only sessions of this protocol")->check(CLI::IsMember({"tcp", "udp", "icmp"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (logs.empty() && config.empty()) throw std::runtime_error("name the log with --log FILE or -c CONFIG");
    if (!config.empty()) logs.push_back(log_of(config));
    auto when = parse_ns(at);
    if (!when) throw std::runtime_error("--at '" + at + "': expected a UTC time such as 2026-11-25T10:44:55Z");
    std::vector<std::pair<std::int64_t, boost::json::object>> lines;
    for (const auto& log : logs) read_lines(log, outside, protocol, lines);
    std::stable_sort(lines.begin(), lines.end(), [](auto& a, auto& b) { return a.first < b.first; });
    // Sessions by their inside end, remote and protocol: when they started and ended, and the
    // connectors that translated them. Two logs of a pair say the same session each (one as it
    // translated, the other as it held it): a start while the session is open, or an end after it
    // closed, is the other log's word on it.
    struct Seen {
      boost::json::object line;
      std::int64_t start = 0, end = -1;
      std::vector<std::string> connectors;
    };
    std::vector<Seen> sessions;
    auto same = [](const boost::json::object& a, const boost::json::object& b) {
      return a.at("inside") == b.at("inside") && a.at("remote") == b.at("remote") && a.at("protocol") == b.at("protocol");
    };
    for (auto& [t, o] : lines) {
      auto open = std::find_if(sessions.rbegin(), sessions.rend(), [&](const Seen& s) { return s.end < 0 && same(s.line, o); });
      Seen* s = open == sessions.rend() ? nullptr : &*open;
      if (o.at("event") == "start" && s == nullptr) s = &sessions.emplace_back(Seen{o, t, -1, {}});
      else if (o.at("event") == "end" && s != nullptr) s->end = t;
      if (s == nullptr) continue;
      if (const auto* c = o.if_contains("connector"); c != nullptr && c->is_string()) {
        std::string name(c->as_string());
        if (std::find(s->connectors.begin(), s->connectors.end(), name) == s->connectors.end()) s->connectors.push_back(name);
      }
    }
    int found = 0;
    for (auto& s : sessions) {
      if (s.start > *when || (s.end >= 0 && s.end < *when)) continue;
      ++found;
      auto& l = s.line;
      auto str = [&](const char* k) { return boost::json::serialize(l.at(k)); };
      fmt::print("{} {} -> {} as {}: identity {}, socket {}, from {} until {}{}\n", std::string(l.at("protocol").as_string()),
                 str("inside"), str("remote"), outside, str("identity"), str("socket"),
                 std::string(l.at("time").as_string()), s.end >= 0 ? utc_ms(s.end) : "(still open when the log ends)",
                 s.connectors.empty() ? "" : fmt::format(", translated by {}", fmt::join(s.connectors, ", then ")));
    }
    if (found == 0) {
      fmt::print("no session used {} at {}\n", outside, at);
      return 3;
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "nat-lookup: {}\n", e.what());
    return 1;
  }
}

}  // namespace waygate::nat
