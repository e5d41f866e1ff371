#include "directory_command.hpp"

#include <unistd.h>

#include <chrono>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "directory_keys.hpp"
#include "etcd.hpp"
#include "waygate/utc.hpp"

namespace waygate {

namespace {

struct Change {
  std::vector<KeyValue> puts;
  std::vector<std::string> deletes;
  std::vector<std::string> lines;  // "+ identity/carol", "~ policy/staff", "- socket/old"
};

DirectoryKeys below(const Snapshot& s, const std::string& prefix) {
  DirectoryKeys keys;
  for (auto& kv : s.kvs) keys[kv.key.substr(prefix.size())] = kv.value;
  return keys;
}

Change changes(const DirectoryKeys& now, const DirectoryKeys& wanted, const std::string& prefix) {
  Change c;
  for (auto& [key, text] : wanted) {
    auto it = now.find(key);
    if (it != now.end() && it->second == text) continue;
    c.puts.push_back({prefix + key, text, 0});
    c.lines.push_back((it == now.end() ? "+ " : "~ ") + key);
  }
  for (auto& [key, text] : now)
    if (key != kPushedKey && !wanted.contains(key)) {
      c.deletes.push_back(prefix + key);
      c.lines.push_back("- " + key);
    }
  return c;
}

std::string who() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const char* user = ::getenv("USER");
  return fmt::format("{}@{} at {}", user != nullptr ? user : "?", host,
                     format_utc(std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now())));
}

}  // namespace

int directory_command(int argc, char** argv) {
  CLI::App app{"The directory in etcd: push a file's, pull it back, or see what a push would change", "directory"};
  app.require_subcommand(1);
  std::string file, prefix = "/waygate/";
  std::vector<std::string> members;
  std::int64_t base = 0;
  Tls tls;
  auto with_etcd = [&](CLI::App* cmd) {
    cmd->add_option("--etcd", members, "etcd's members, http(s)://HOST:PORT (comma-separated or repeated)")
        ->required()
        ->delimiter(',');
    cmd->add_option("--prefix", prefix, "Where the directory's keys live");
    cmd->add_option("--ca", tls.ca, "The cluster's CA certificate (PEM), for https members");
    cmd->add_option("--cert", tls.cert, "This client's certificate (PEM), when the cluster checks clients");
    cmd->add_option("--key", tls.key, "Its private key (PEM)");
    return cmd;
  };
  auto* push = with_etcd(app.add_subcommand("push", "Check a file's directory and write it to etcd in one transaction"));
  push->add_option("-c,--config", file, "A connector's file, or one with the directory's tables only")->required();
  push->add_option("--base", base, "Refuse if etcd changed after this revision (a pull's), not the one read now");
  auto* pull = with_etcd(app.add_subcommand("pull", "Print the directory in etcd as TOML"));
  auto* diff = with_etcd(app.add_subcommand("diff", "Show what a push of the file would change"));
  diff->add_option("-c,--config", file, "A connector's file, or one with the directory's tables only")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!prefix.ends_with('/')) prefix += '/';
  const std::string dir = directory_prefix(prefix);
  try {
    const Etcd etcd(members, tls.ca.empty() ? nullptr : &tls);
    if (*pull) {
      const Snapshot s = etcd.range(dir);
      fmt::print("# the directory under {} at etcd revision {}\n\n{}", dir, s.revision, directory_toml(below(s, dir)));
      return 0;
    }
    const DirectoryKeys wanted = directory_keys(file);
    const Snapshot s = etcd.range(dir);
    Change c = changes(below(s, dir), wanted, dir);
    if (*diff) {
      for (auto& line : c.lines) fmt::print("{}\n", line);
      fmt::print("{}\n", c.lines.empty() ? "no change" : fmt::format("{} change(s) against etcd revision {}", c.lines.size(), s.revision));
      return 0;
    }
    if (c.lines.empty()) {
      fmt::print("no change: etcd already holds this directory (revision {})\n", s.revision);
      return 0;
    }
    const std::int64_t read_at = base > 0 ? std::min(base, s.revision) : s.revision;
    c.puts.push_back({dir + std::string(kPushedKey), who(), 0});
    const std::int64_t revision = etcd.commit(dir, read_at, c.puts, c.deletes);
    if (revision == 0) {
      fmt::print(stderr,
                 "waygate directory push: refused: something under {} was written after revision {} (another admin?); "
                 "pull, merge and push again\n",
                 dir, read_at);
      return 1;
    }
    for (auto& line : c.lines) fmt::print("{}\n", line);
    fmt::print("pushed {} change(s): etcd revision {}\n", c.lines.size(), revision);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "waygate directory: {}\n", e.what());
    return 1;
  }
}

}  // namespace waygate
