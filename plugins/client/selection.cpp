#include "selection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/nft.hpp"
#include "waygate/files.hpp"
#include "waygate/packet.hpp"
#include "waygate/state_version.hpp"

namespace waygate::client {

namespace json = boost::json;

namespace {

constexpr const char* kKind = "exit-node-selection";
// 0: the selection's fields without "version" (and "endpoint" alone before exit nodes had several
// connectors). 1: the same with "version".
constexpr int kVersion = 1;

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (auto& x : v.as_array()) out.emplace_back(x.as_string());
  return out;
}

json::array array(const std::vector<std::string>& v) {
  json::array out;
  for (auto& x : v) out.emplace_back(x);
  return out;
}

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// In place, not by rename: the resolver file is often a bind mount (ip netns exec) or a symlink
// into a resolver manager's folder, and a rename would replace the link or fail on the mount.
void overwrite(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int err = errno;
  ::close(fd);
  if (!ok) throw std::system_error(err, std::generic_category(), "write " + path);
}

// The /32 or /128 of the connector's endpoint address.
net::Address endpoint_address(const std::string& endpoint) {
  Endpoint e;
  if (!parse_endpoint(endpoint, e)) throw std::runtime_error("the connector's endpoint '" + endpoint + "' is not an address and port");
  if (e.addr.sa.sa_family == AF_INET)
    return net::Address::v4(std::span<const std::uint8_t, 4>(reinterpret_cast<const std::uint8_t*>(&e.addr.v4.sin_addr), 4));
  return net::Address::v6(std::span<const std::uint8_t, 16>(e.addr.v6.sin6_addr.s6_addr, 16));
}

}  // namespace

std::optional<Selection> load_selection(const std::string& path) {
  const std::optional<std::string> text = read_file_if_present(path);
  if (!text) return std::nullopt;
  auto broken = [&path](const std::exception& e) {
    return std::runtime_error(fmt::format("{}: not a selection this version wrote ({}); remove it with care: "
                                          "it records what an exit node installed",
                                          path, e.what()));
  };
  json::value v;
  int version = 0;
  try {
    v = json::parse(*text);
    if (const json::value* said = v.as_object().if_contains("version")) version = said->to_number<int>();
  } catch (const std::exception& e) {
    throw broken(e);
  }
  check_state_version(path, kKind, version, kVersion,
                      "`waygate client off` with the version that wrote it undoes what the exit node installed "
                      "and removes the file");
  try {
    Selection s;
    s.connector = v.at("connector").as_string();
    s.exit_node = v.at("exit_node").as_string();
    // One endpoint, as files written before exit nodes had several connectors say it.
    s.endpoints = v.as_object().contains("endpoints") ? strings(v.at("endpoints"))
                                                      : std::vector<std::string>{std::string(v.at("endpoint").as_string())};
    s.routes = strings(v.at("routes"));
    s.dns = strings(v.at("dns"));
    s.lockdown = v.at("lockdown").as_bool();
    if (const auto& i = v.at("installed"); !i.is_null()) {
      Installed in;
      for (auto& r : i.at("routes").as_array())
        in.routes.push_back({std::string(r.at("prefix").as_string()), std::string(r.at("device").as_string()),
                             std::string(r.at("gateway").as_string())});
      in.resolver = i.at("resolver").as_string();
      in.resolver_before = i.at("resolver_before").as_string();
      in.resolver_ours = i.at("resolver_ours").as_string();
      in.lockdown_table = i.at("lockdown_table").as_string();
      s.installed = std::move(in);
    }
    return s;
  } catch (const std::exception& e) {
    throw broken(e);
  }
}

void save_selection(const std::string& path, const Selection& s) {
  json::value installed = nullptr;
  if (s.installed) {
    json::array routes;
    for (auto& r : s.installed->routes)
      routes.push_back(json::object{{"prefix", r.prefix}, {"device", r.device}, {"gateway", r.gateway}});
    installed = json::object{{"routes", std::move(routes)},
                             {"resolver", s.installed->resolver},
                             {"resolver_before", s.installed->resolver_before},
                             {"resolver_ours", s.installed->resolver_ours},
                             {"lockdown_table", s.installed->lockdown_table}};
  }
  json::object o{{"version", kVersion},           {"connector", s.connector}, {"exit_node", s.exit_node},
                 {"endpoints", array(s.endpoints)}, {"routes", array(s.routes)}, {"dns", array(s.dns)},
                 {"lockdown", s.lockdown},          {"installed", std::move(installed)}};
  write_file_atomically(path, json::serialize(o) + "\n", 0600);
}

void forget_selection(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

std::string lockdown_table(const std::string& stage) {
  std::string name = "waygate_";
  for (char ch : stage) name += ch == '-' ? '_' : ch;
  return name;
}

std::string lockdown_script(const std::string& table, const std::string& device, const std::vector<std::string>& endpoints) {
  std::string ways_out;
  for (const std::string& endpoint : endpoints) {
    Endpoint e;
    parse_endpoint(endpoint, e);
    const bool v6 = e.addr.sa.sa_family == AF_INET6;
    ways_out += fmt::format("\t\t{} daddr {} udp dport {} accept\n", v6 ? "ip6" : "ip", to_string(endpoint_address(endpoint)),
                            ntohs(v6 ? e.addr.v6.sin6_port : e.addr.v4.sin_port));
  }
  // Beside the tunnel itself: loopback, the tunnel's own datagrams to the connectors, and what a
  // host needs to keep its link (neighbour discovery, DHCP), or it would lose the path to it.
  return fmt::format(
      "table inet {0}\ndelete table inet {0}\ntable inet {0} {{\n"
      "\tchain output {{\n\t\ttype filter hook output priority filter; policy drop;\n"
      "\t\toifname \"lo\" accept\n\t\toifname \"{1}\" accept\n"
      "{2}"
      "\t\ticmpv6 type {{ nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert }} accept\n"
      "\t\tudp sport 68 udp dport 67 accept\n\t\tudp sport 546 udp dport 547 accept\n"
      "\t\tcounter comment \"outside the tunnel: dropped\"\n\t}}\n"
      "\tchain forward {{\n\t\ttype filter hook forward priority filter; policy drop;\n"
      "\t\toifname \"{1}\" accept\n\t\tcounter comment \"outside the tunnel: dropped\"\n\t}}\n}}\n",
      table, device, ways_out);
}

std::string resolver_text(const std::string& before, const std::vector<std::string>& dns, const std::string& exit_node) {
  std::string text = fmt::format(
      "# Written by waygate client while exit node {} is in use: its resolvers, so that names are\n"
      "# not looked up around it. `waygate client off` puts the previous file back.\n",
      exit_node);
  for (auto& server : dns) text += "nameserver " + server + "\n";
  std::istringstream lines(before);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("search", 0) == 0 || line.rfind("domain", 0) == 0 || line.rfind("options", 0) == 0) text += line + "\n";
  return text;
}

void install(Selection& s, const Settings& settings) {
  s.installed.emplace();
  Installed& done = *s.installed;
  try {
    RouteTable table;
    for (const std::string& endpoint : s.endpoints) {
      const net::Address to = endpoint_address(endpoint);
      auto path = table.lookup(to);
      if (!path) throw std::runtime_error("no route to the connector at " + endpoint + ": the tunnel cannot reach it either");
      if (path->device == settings.device)
        throw std::runtime_error(fmt::format("the connector at {} is routed through {} itself: remove that route first",
                                             endpoint, settings.device));
      Route bypass{fmt::format("{}/{}", to.to_string(), to.size() * 8), path->device, path->gateway};
      if (table.add(bypass)) done.routes.push_back(bypass);
    }
    for (auto& prefix : s.routes) {
      Route r{prefix, settings.device, ""};
      if (table.add(r)) done.routes.push_back(r);
    }
    if (settings.dns && !s.dns.empty()) {
      done.resolver_before = read_whole(settings.resolv_conf).value_or("");
      done.resolver_ours = resolver_text(done.resolver_before, s.dns, s.exit_node);
      overwrite(settings.resolv_conf, done.resolver_ours);
      done.resolver = settings.resolv_conf;
    }
    if (s.lockdown) {
      std::string name = lockdown_table(settings.stage);
      run_nft(lockdown_script(name, settings.device, s.endpoints));
      done.lockdown_table = name;
    }
  } catch (...) {
    uninstall(s);
    throw;
  }
}

std::vector<std::string> uninstall(Selection& s) {
  std::vector<std::string> problems;
  if (!s.installed) return problems;
  Installed& done = *s.installed;
  if (!done.lockdown_table.empty()) {
    try {
      run_nft(fmt::format("table inet {0}\ndelete table inet {0}\n", done.lockdown_table));
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  if (!done.resolver.empty()) {
    // Only a file that still holds what we wrote: whoever changed it since knows better.
    if (read_whole(done.resolver).value_or("") != done.resolver_ours) {
      problems.push_back(done.resolver + " changed while the exit node was in use: left as it is");
    } else {
      try {
        overwrite(done.resolver, done.resolver_before);
      } catch (const std::exception& e) {
        problems.push_back(e.what());
      }
    }
  }
  try {
    RouteTable table;
    for (auto r = done.routes.rbegin(); r != done.routes.rend(); ++r) {
      try {
        table.remove(*r);
      } catch (const std::exception& e) {
        problems.push_back(e.what());
      }
    }
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }
  s.installed.reset();
  return problems;
}

}  // namespace waygate::client
