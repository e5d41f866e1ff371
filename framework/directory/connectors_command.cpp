#include "connectors_command.hpp"

#include <map>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "host_config.hpp"
#include "registration.hpp"

namespace waygate {

namespace json = boost::json;

std::string connectors_json(const Etcd& etcd, const std::string& prefix) {
  const Snapshot registered = etcd.range(connectors_prefix(prefix));
  const Snapshot statuses = etcd.range(prefix + "status/", registered.revision);
  std::map<std::string, json::object> by_name;
  for (const KeyValue& kv : registered.kvs) {
    const auto r = read_registration(kv.value);
    if (!r) continue;
    by_name[r->name] = json::parse(registration_json(*r)).as_object();
    by_name[r->name]["alive"] = true;
  }
  for (const KeyValue& kv : statuses.kvs) {
    const std::string name = kv.key.substr(prefix.size() + 7);
    boost::system::error_code ec;
    json::value status = json::parse(kv.value, ec);
    json::object& o = by_name[name];
    if (!o.contains("alive")) o = {{"name", name}, {"alive", false}};
    if (ec || !status.is_object()) continue;
    if (auto* e = status.as_object().if_contains("error")) o["error"] = *e;
    if (auto* at = status.as_object().if_contains("at")) o["status_at"] = *at;
  }
  json::array out;
  for (auto& [name, o] : by_name) out.push_back(std::move(o));
  return json::serialize(json::object{{"connectors", std::move(out)}, {"revision", registered.revision}}) + "\n";
}

namespace {

std::string text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return "";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

}  // namespace

int connectors_command(int argc, char** argv) {
  CLI::App app{"The connectors alive in the directory in etcd, and how each is", "connectors"};
  std::string file, prefix = "/waygate/";
  std::vector<std::string> members;
  Tls tls;
  bool as_json = false;
  auto* c = app.add_option("-c,--config", file, "A connector's file: its [directory] says where etcd is");
  app.add_option("--etcd", members, "etcd's members, http(s)://HOST:PORT, instead of a file")->delimiter(',')->excludes(c);
  app.add_option("--prefix", prefix, "Where the directory's keys live (with --etcd)");
  app.add_option("--ca", tls.ca, "The cluster's CA certificate (PEM), for https members");
  app.add_option("--cert", tls.cert, "This client's certificate (PEM)");
  app.add_option("--key", tls.key, "Its private key (PEM)");
  app.add_flag("--json", as_json, "Print the JSON GET /v1/connectors answers");
  try {
    app.parse(argc, argv);
    if (file.empty() && members.empty()) throw CLI::RequiredError("-c or --etcd");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    std::optional<Etcd> etcd;
    if (!file.empty()) {
      const HostConfig config = load_host_config(file);
      if (!config.etcd) throw std::runtime_error(file + " has no [directory]: its directory is the file, with no other connector");
      prefix = config.etcd->prefix;
      etcd.emplace(config.etcd->members, config.etcd->tls_or_null());
    } else {
      if (!prefix.ends_with('/')) prefix += '/';
      etcd.emplace(members, tls.ca.empty() ? nullptr : &tls);
    }
    const std::string answer = connectors_json(*etcd, prefix);
    if (as_json) {
      fmt::print("{}", answer);
      return 0;
    }
    const json::value v = json::parse(answer);
    fmt::print("{:<16} {:<6} {:<24} {:>7} {:>8} {:>8}  {:<8} {}\n", "CONNECTOR", "ALIVE", "ENDPOINT", "CLIENTS", "SESSIONS",
               "REVISION", "VERSION", "DIRECTORY");
    for (const json::value& x : v.at("connectors").as_array()) {
      const json::object& o = x.as_object();
      const bool alive = o.at("alive").as_bool();
      const std::string error = text(o, "error");
      fmt::print("{:<16} {:<6} {:<24} {:>7} {:>8} {:>8}  {:<8} {}\n", text(o, "name"), alive ? "yes" : "no",
                 text(o, "endpoint"), text(o, "clients"), text(o, "sessions"), text(o, "revision"), text(o, "version"),
                 !error.empty() ? "refused a change: " + error
                 : alive        ? "ok, up since " + text(o, "since")
                                : "gone (its registration lapsed; last status " + text(o, "status_at") + ")");
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "waygate connectors: {}\n", e.what());
    return 1;
  }
}

}  // namespace waygate
