#include "trace_command.hpp"

#include <cstdio>
#include <ctime>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "watch_session.hpp"

namespace waygate {

namespace {

namespace json = boost::json;

std::string str(const json::value& v) { return std::string(v.as_string()); }

// A packet as VPP prints one: when and whose, then a line per stage.
//   19:42:07.123456 alice ICMP 10.64.0.2 > 10.52.0.2, 84 bytes
//        tunnel   received     2.1 us
//        policy   drop denied  0.8 us
void print_packet(const json::object& p) {
  const auto micros = p.at("time").to_number<std::uint64_t>();
  const auto seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  fmt::print("{:02}:{:02}:{:02}.{:06} {} {}, {} bytes\n", tm.tm_hour, tm.tm_min, tm.tm_sec, micros % 1000000,
             str(p.at("identity")), str(p.at("packet")), json::serialize(p.at("length")));
  for (const json::value& v : p.at("steps").as_array()) {
    const json::object& s = v.as_object();
    std::string verdict = str(s.at("verdict"));
    if (const std::string reason = str(s.at("reason")); !reason.empty()) verdict += " " + reason;
    const std::string changed = str(s.at("changed"));
    fmt::print("    {:<10} {:<24} {:>8.1f} us{}\n", str(s.at("stage")), verdict, s.at("micros").to_number<double>(),
               changed.empty() ? "" : "  " + changed);
  }
  std::fflush(stdout);
}

}  // namespace

int trace_command(int argc, char** argv) {
  CLI::App app{"Follow packets through a running connector's pipeline, stage by stage", "trace"};
  std::string file, identity, socket;
  std::vector<std::string> expression;
  std::int64_t count = 10, seconds = 0;
  bool as_json = false;
  app.add_option("-c,--config", file, "The connector's config file (its [host] admin, admin_token_file)")->required();
  app.add_option("--identity", identity, "Only this identity's packets");
  app.add_option("--socket", socket, "Only packets of this socket (exit node)");
  app.add_option("--count", count, "Stop after this many packets (10)")->check(CLI::PositiveNumber);
  app.add_option("--seconds", seconds, "Stop after this long")->check(CLI::PositiveNumber);
  app.add_flag("--json", as_json, "Each packet as a line of JSON");
  app.add_option("expression", expression, "A tcpdump filter expression, such as: icmp or tcp port 443");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    std::string filter;
    for (auto& word : expression) filter += (filter.empty() ? "" : " ") + word;
    json::object ask{{"filter", filter}, {"count", count}};
    if (!identity.empty()) ask["identity"] = identity;
    if (!socket.empty()) ask["socket"] = socket;
    if (seconds > 0) ask["seconds"] = seconds;
    std::int64_t kept = 0;  // with more than one worker each traces up to --count: the count is kept here
    const json::value last = run_watch(file, "/v1/trace", json::serialize(ask), [&](const json::value& read) {
      for (const json::value& p : read.at("packets").as_array()) {
        if (kept == count) break;
        ++kept;
        if (as_json) fmt::print("{}\n", json::serialize(p));
        else print_packet(p.as_object());
      }
      std::fflush(stdout);
      return kept == count;
    });
    fmt::print(stderr, "{} packet(s) traced, {} lost; ended: {}\n", kept, json::serialize(last.at("lost")),
               kept == count ? "it has its packets" : str(last.at("why")));
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "waygate trace: {}\n", e.what());
    return 1;
  }
}

}  // namespace waygate
