#include "stats_command.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/admin_client.hpp"
#include "waygate/secret.hpp"

namespace waygate::stats {

namespace {

namespace json = boost::json;

std::string human(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::uint64_t at(const json::value& v, const char* what, const char* direction) {
  return v.at(what).at(direction).to_number<std::uint64_t>();
}

// Drops summed over their reasons; 0 from a connector that does not report them.
std::uint64_t dropped(const json::value& v) {
  std::uint64_t n = 0;
  if (auto* d = v.as_object().if_contains("drops"))
    for (auto& [reason, count] : d->as_object()) n += count.to_number<std::uint64_t>();
  return n;
}
std::uint64_t number(const json::value& v, const char* key) {
  auto* x = v.as_object().if_contains(key);
  return x == nullptr ? 0 : x->to_number<std::uint64_t>();
}

}  // namespace

std::string stats_table(const std::string& body) {
  json::value v = json::parse(body);
  std::string out = fmt::format("{:<24} {:>7} {:>12} {:>12} {:>10} {:>10} {:>8} {:>8}\n", "EXIT NODE / SOCKET",
                                "CLIENTS", "UPLOAD", "DOWNLOAD", "PKTS UP", "PKTS DOWN", "DROPPED", "SESSIONS");
  for (auto& s : v.at("sockets").as_array())
    out += fmt::format("{:<24} {:>7} {:>12} {:>12} {:>10} {:>10} {:>8} {:>8}\n", std::string(s.at("name").as_string()),
                       s.at("clients").to_number<std::int64_t>(), human(at(s, "bytes", "outbound")),
                       human(at(s, "bytes", "inbound")), at(s, "packets", "outbound"), at(s, "packets", "inbound"),
                       dropped(s), number(s, "nat_sessions"));
  out += fmt::format("\n{:<24} {:<20} {:>12} {:>12} {:>10} {:>8}\n", "CLIENT", "EXIT NODE / SOCKET", "UPLOAD",
                     "DOWNLOAD", "IDLE", "DROPPED");
  for (auto& id : v.at("identities").as_array()) {
    const json::value& idle = id.at("idle_seconds");
    const json::value& socket = id.at("socket");
    out += fmt::format("{:<24} {:<20} {:>12} {:>12} {:>10} {:>8}\n", std::string(id.at("name").as_string()),
                       socket.is_string() ? std::string(socket.as_string()) : "-", human(at(id, "bytes", "outbound")),
                       human(at(id, "bytes", "inbound")),
                       idle.is_null() ? "never" : fmt::format("{} s", idle.to_number<std::int64_t>()), dropped(id));
  }
  return out;
}

std::string quota_table(const std::string& body) {
  json::value v = json::parse(body);
  const json::array& quotas = v.at("quotas").as_array();
  if (quotas.empty()) return "";
  std::string out = fmt::format("\n{:<24} {:<20} {:>12} {:>12} {:>6} {:<22}\n", "QUOTA", "EXIT NODE / SOCKET", "USED",
                                "OF", "PER", "UNTIL");
  for (auto& q : quotas) {
    const std::string socket(q.at("socket").as_string());
    out += fmt::format("{:<24} {:<20} {:>12} {:>12} {:>6} {:<22}{}\n", std::string(q.at("identity").as_string()),
                       socket.empty() ? "(all)" : socket, human(q.at("used").to_number<std::uint64_t>()),
                       human(q.at("bytes").to_number<std::uint64_t>()), std::string(q.at("per").as_string()),
                       std::string(q.at("end").as_string()), q.at("exhausted").as_bool() ? " used up" : "");
  }
  return out;
}

namespace {

// Adds b's numbers into a's, recursively; a null of a's gives way to b's value.
void add_into(json::value& a, const json::value& b) {
  if (a.is_object() && b.is_object()) {
    for (auto& [key, value] : b.as_object()) {
      auto* mine = a.as_object().if_contains(key);
      if (mine == nullptr) a.as_object()[key] = value;
      else if (key == "idle_seconds") {  // the least idle
        if (mine->is_null() || (!value.is_null() && value.to_number<std::int64_t>() < mine->to_number<std::int64_t>())) *mine = value;
      } else add_into(*mine, value);
    }
  } else if (a.is_number() && b.is_number()) {
    a = a.to_number<std::int64_t>() + b.to_number<std::int64_t>();
  } else if (a.is_null()) {
    a = b;
  }
}

}  // namespace

std::string merged_stats(const std::vector<std::string>& bodies) {
  json::object out{{"sockets", json::array{}}, {"identities", json::array{}}};
  for (const std::string& body : bodies) {
    const json::value v = json::parse(body);
    for (const char* list : {"sockets", "identities"}) {
      json::array& into = out[list].as_array();
      for (const json::value& x : v.at(list).as_array()) {
        auto same = std::find_if(into.begin(), into.end(), [&](const json::value& y) { return y.at("name") == x.at("name"); });
        if (same == into.end()) into.push_back(x);
        else add_into(*same, x);
      }
    }
  }
  return json::serialize(out);
}

namespace {

// --all: each connector alive (the one asked names them, with their admin APIs; the same token
// for all), then their sum. One that does not answer is said, and left out of the sum.
std::string every_connector(const std::string& admin, const std::string& token) {
  const json::value listed = json::parse(admin_get(admin, "/v1/connectors", token));
  std::string out;
  std::vector<std::string> bodies;
  for (const json::value& c : listed.at("connectors").as_array()) {
    if (!c.at("alive").as_bool()) continue;
    const std::string name(c.at("name").as_string()), at(c.at("admin").as_string());
    try {
      bodies.push_back(admin_get(at, "/v1/stats", token));
      out += fmt::format("== {} (admin {})\n{}\n", name, at, stats_table(bodies.back()));
    } catch (const std::exception& e) {
      out += fmt::format("== {} (admin {}): not answering: {}\n\n", name, at, e.what());
    }
  }
  out += fmt::format("== all {} connector(s) answering, together\n{}", bodies.size(), stats_table(merged_stats(bodies)));
  return out;
}

}  // namespace

int stats_command(int argc, char** argv) {
  CLI::App app{"Traffic per exit node and per client, from a running connector", "stats"};
  std::string admin = "127.0.0.1:9190", token_file;
  double watch = 0;
  bool all = false;
  app.add_option("-a,--admin", admin, "The connector's admin API ([host] admin)");
  app.add_option("--token-file", token_file, "The admin token ([host] admin_token_file), when it needs one");
  app.add_flag("--all", all, "Every connector alive in the directory in etcd, each and then all together");
  app.add_option("--watch", watch, "Print again every SECONDS until interrupted")->expected(0, 1)->default_str("2");
  try {
    app.parse(argc, argv);
    if (app.count("--watch") > 0 && watch <= 0) watch = 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    const std::string token = token_file.empty() ? "" : read_secret_file(token_file, "token file", 1024);
    for (;;) {
      std::string table;
      if (all) {
        table = every_connector(admin, token);
      } else {
        table = stats_table(admin_get(admin, "/v1/stats", token));
        try {  // a connector with a shaper stage: its quotas' use
          table += quota_table(admin_get(admin, "/v1/shaper", token));
        } catch (const std::runtime_error&) {
        }
      }
      if (watch > 0) fmt::print("\x1b[H\x1b[2J");  // a fresh screen each time, as watch(1) does
      fmt::print("{}", table);
      if (watch <= 0) return 0;
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::duration<double>(watch));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "stats: {} ({})\n", e.what(), admin);
    return 1;
  }
}

}  // namespace waygate::stats
