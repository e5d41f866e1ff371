#include "etcd_directory.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "directory_keys.hpp"
#include "etcd.hpp"
#include "registration.hpp"
#include "waygate/files.hpp"
#include "waygate/state_version.hpp"
#include "waygate/utc.hpp"

namespace waygate {

namespace {

constexpr const char* kCopy = "directory-copy";
// 0: a line "# the directory from etcd at revision N", then the directory's TOML as etcd gave it.
// 1: the same under a header line.
constexpr int kCopyVersion = 1;
constexpr const char* kRevisionLine = "# the directory from etcd at revision ";

std::string cache_path(const HostConfig& c) {
  return c.state_dir.empty() ? "" : (std::filesystem::path(c.state_dir) / "directory.toml").string();
}

void take(HostConfig& config, std::string text, std::int64_t revision, const std::string& origin,
          const Assignments& held) {
  config.directory = Directory::load(Config::parse(text, origin), held);
  config.directory_revision = revision;
  config.directory_text = std::move(text);
}

// The connectors registered in etcd (registration.hpp) into the directory, for the clients' API.
void with_live_connectors(HostConfig& config, const Snapshot& registered) {
  auto d = std::make_shared<Directory>(*config.directory);
  for (const KeyValue& kv : registered.kvs) {
    if (auto r = read_registration(kv.value)) d->connectors.push_back({r->name, r->endpoint, r->public_key});
    else spdlog::warn("etcd: {} is not a connector's registration: left out", kv.key);
  }
  config.directory = std::move(d);
}

// Writes the claims in transactions of at most 127 (etcd takes 128 operations in one, by default:
// the guard is the 128th comparison); each is taken only if the directory is still at `revision`
// and its keys as read. false when one was not: what went before stands, and is read back as held.
bool claim(const Etcd& etcd, const std::string& dir, std::int64_t revision, const std::vector<KeyValue>& claims,
           const std::vector<KeyValue>& unchanged) {
  constexpr std::size_t kPerTxn = 127;
  for (std::size_t at = 0; at < claims.size(); at += kPerTxn) {
    const std::size_t end = std::min(claims.size(), at + kPerTxn);
    if (etcd.commit(dir, revision, {claims.begin() + at, claims.begin() + end}, {},
                    {unchanged.begin() + at, unchanged.begin() + end}) == 0)
      return false;
  }
  return true;
}

// Reads the directory and the addresses held in one revision, gives the identities without one
// theirs, and makes the new ones theirs in etcd in one transaction: taken only if the directory is
// still that revision's and nobody wrote those addresses' keys meanwhile. Two connectors that read
// the same revision give the same addresses (the load is deterministic) and the second finds them
// written; one that read another revision, or lost a race, reads again. An address held by a key
// no longer in the directory is free: giving it again rewrites its key.
void read_and_claim(HostConfig& config, const Etcd& etcd, const Snapshot* everything, Claims claiming) {
  const std::string dir = directory_prefix(config.etcd->prefix), held_at = addresses_prefix(config.etcd->prefix),
                    live_at = connectors_prefix(config.etcd->prefix);
  for (int attempt = 1;; ++attempt) {
    Snapshot s, held, live;
    if (everything != nullptr && attempt == 1) {
      s.revision = held.revision = live.revision = everything->revision;
      for (const KeyValue& kv : everything->kvs) {
        if (kv.key.starts_with(dir)) s.kvs.push_back(kv);
        else if (kv.key.starts_with(held_at)) held.kvs.push_back(kv);
        else if (kv.key.starts_with(live_at)) live.kvs.push_back(kv);
      }
    } else {
      s = etcd.range(dir);
      held = etcd.range(held_at, s.revision);
      live = etcd.range(live_at, s.revision);
    }
    Assignments previous;
    std::map<std::string, const KeyValue*> by_key;
    for (const KeyValue& kv : held.kvs) {
      by_key[kv.key] = &kv;
      if (auto a = net::parse_address(std::string_view(kv.key).substr(held_at.size()))) previous[kv.value].push_back(*a);
    }
    DirectoryKeys keys;
    for (auto& kv : s.kvs) keys[kv.key.substr(dir.size())] = kv.value;
    take(config, directory_toml(keys), s.revision, fmt::format("etcd {} (revision {})", dir, s.revision), previous);
    config.directory_source = fmt::format("etcd {} at revision {}", dir, s.revision);
    with_live_connectors(config, live);

    std::vector<KeyValue> claims, unchanged;
    for (const auto& [public_key, addresses] : config.directory->assigned)
      for (const net::Address& a : addresses) {
        const std::string key = held_at + a.to_string();
        auto it = by_key.find(key);
        if (it != by_key.end() && it->second->value == public_key) continue;
        claims.push_back({key, public_key});
        unchanged.push_back({key, "", it == by_key.end() ? 0 : it->second->mod_revision});
      }
    if (claims.empty() || claiming == Claims::none || claim(etcd, dir, s.revision, claims, unchanged)) return;
    if (attempt == 5) throw std::runtime_error("the overlay addresses kept changing in etcd through five attempts to claim some");
    spdlog::info("overlay addresses: {} claim(s) overtaken at revision {}, reading again", claims.size(), s.revision);
  }
}

}  // namespace

void load_directory(HostConfig& config, const Snapshot* everything, Claims claims) {
  if (!config.etcd) return;
  const EtcdDirectory& e = *config.etcd;
  std::string unreachable;
  try {
    read_and_claim(config, Etcd(e.members, e.tls_or_null()), everything, claims);
    return;
  } catch (const ConfigError&) {
    throw;  // etcd answered with a directory that does not check: refused, never replaced by the copy
  } catch (const std::exception& ex) {
    unreachable = ex.what();
  }
  const std::string path = cache_path(config);
  const std::optional<std::string> copy = path.empty() ? std::nullopt : read_file_if_present(path);
  if (!copy)
    throw std::runtime_error("the directory is in etcd, which does not answer (" + unreachable +
                             "), and no copy of it is kept" + (path.empty() ? " (no [host] state_dir)" : " in " + path));
  std::istringstream text(*copy);
  std::string first;
  std::getline(text, first);
  const std::optional<int> header = state_header_version(path, kCopy, first);
  check_state_version(path, kCopy, header.value_or(0), kCopyVersion);
  if (header) std::getline(text, first);
  const std::int64_t revision = first.starts_with(kRevisionLine) ? std::stoll(first.substr(std::strlen(kRevisionLine))) : 0;
  std::string toml(std::istreambuf_iterator<char>(text), {});
  spdlog::warn("etcd does not answer ({}): the directory kept in {} (revision {})", unreachable, path, revision);
  take(config, std::move(toml), revision, path, read_assignments(config.state_dir));
  config.directory_source = fmt::format("the copy kept in {} (revision {}): etcd does not answer ({})", path, revision, unreachable);
}

void keep_directory(const HostConfig& config) {
  const std::string path = cache_path(config);
  if (!config.etcd || path.empty() || config.directory_text.empty()) return;
  try {
    write_file_atomically(path, state_header(kCopy, kCopyVersion) + "\n" + kRevisionLine +
                                    std::to_string(config.directory_revision) + "\n" + config.directory_text);
  } catch (const std::exception& e) {
    spdlog::error("cannot keep the directory in {}: {}", path, e.what());
  }
}

void report_directory(const HostConfig& running, std::int64_t refused_revision, const std::string& error) {
  if (!running.etcd) return;
  const EtcdDirectory& e = *running.etcd;
  boost::json::object status{{"revision", running.directory_revision},
                             {"at", format_utc(std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()))}};
  if (!error.empty()) {
    if (refused_revision > 0) status["refused_revision"] = refused_revision;
    status["error"] = error;
  }
  try {
    Etcd(e.members, e.tls_or_null()).put(e.prefix + "status/" + e.connector, boost::json::serialize(status));
  } catch (const std::exception& ex) {
    spdlog::warn("cannot write the directory's status to etcd: {}", ex.what());
  }
}

}  // namespace waygate
