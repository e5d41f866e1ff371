// The connector's TOML file: a [host] table for the process itself, an ordered list of [[stage]]
// tables, first (inside) to last (outside), and the directory's tables (see waygate/directory.hpp).
// A stage table holds `name`, `plugin` and the plugin's own keys, which only the plugin reads. Errors are ConfigErrors naming file, line,
// column and key.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "waygate/admin_client.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace waygate {

struct StageSpec {
  std::string name;
  std::string plugin;  // a name found on the plugin path, or a path to a .so
  Config table;        // the whole [[stage]] table; `name` and `plugin` already accepted
};

// [directory]: the directory's tables live in etcd, not in the file.
struct EtcdDirectory {
  std::vector<std::string> members;  // "http://10.0.0.1:2379"
  std::string prefix = "/waygate/";
  std::string connector;             // this connector's name: its status key, PREFIXstatus/NAME
  std::optional<Tls> tls;            // ca, cert, key: for https members
  const Tls* tls_or_null() const { return tls ? &*tls : nullptr; }
};

struct HostConfig {
  std::string path;
  std::vector<std::string> plugin_path;  // relative entries are resolved against the file's folder
  std::string admin = "127.0.0.1:9190";  // "" turns the admin listener off
  std::string admin_token;                // from admin_token_file; required beyond loopback
  std::vector<std::string> api;           // tunnel listeners ("10.64.0.1:80"): clients' API
  std::string state_dir;                  // what outlives the process; "" keeps nothing
  std::string log_level = "info";
  std::size_t buffers = 8192;
  std::size_t buffer_size = 2048;
  std::size_t headroom = 128;
  unsigned ring_entries = 1024;
  // Threads that seal and open a burst's packets, the worker itself among them (Context::crew).
  unsigned crypto_threads = 1;
  // Workers running the pipeline side by side, each with its own loop, pool, crew and instance of
  // every stage (Context::workers); more than one needs every stage's plugin to run so. Set at
  // start: a reload that changes it is refused.
  unsigned workers = 1;
  // The nice value of the packet path's threads (the worker and its crew), when set: a connector
  // puts them ahead of the machine's other processes, as the kernel's own forwarding is.
  std::optional<int> nice;
  // What a capture of decrypted traffic (`waygate capture`) may take at most; 0 turns them off.
  std::chrono::seconds capture_seconds{300};
  std::uint64_t capture_packets = 100000;
  // Where each capture and trace started is recorded (a JSON line); "" only logs it.
  std::string audit_log;
  // This connector's name, in records that say which connector did what (the NAT log): [host]
  // connector, or [directory] connector with etcd, or the machine's host name.
  std::string connector;
  // Least privilege, applied once the pipeline runs and read at start only: the user the host
  // becomes ("" stays who started it), and the capabilities it keeps (libcap names such as
  // "cap_net_admin"; every other one is dropped from every set, the bounding set included).
  std::string user, group;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::string> capabilities;
  std::vector<StageSpec> stages;
  std::shared_ptr<const Directory> directory = std::make_shared<const Directory>();
  // With [directory] etcd: where it lives, and once read (etcd_directory.hpp), its revision and
  // text (what the cache in state_dir keeps). Without it, the file's tables are the directory.
  std::optional<EtcdDirectory> etcd;
  std::int64_t directory_revision = 0;
  std::string directory_text;
  std::string directory_source;  // where it was read: "etcd /waygate/directory/ at revision 12", a copy
};

// Reads and checks the host's part of the file and the directory (keeping the overlay addresses
// recorded in state_dir); stage tables are checked by their plugins. With [directory] etcd, the
// directory is left empty for load_directory() (etcd_directory.hpp) to fill.
// `record_keys`: remember every key asked of the document (Config::asked), for `check --keys`.
HostConfig load_host_config(const std::string& path, bool record_keys = false);
HostConfig parse_host_config(std::string_view toml, const std::string& origin);

// The host-level shape of a pipeline: the same stages with the same plugins in the same order.
// (Buffer and ring sizes are fixed for the life of the process and only read at start.)
bool same_shape(const HostConfig& a, const HostConfig& b);

}  // namespace waygate
