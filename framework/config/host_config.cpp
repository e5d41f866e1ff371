#include "host_config.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "waygate/secret.hpp"


namespace waygate {

namespace {

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// The machine's host name, up to its first dot: a connector's name when its file gives none.
std::string machine_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "connector";
  const std::string text(name);
  return text.substr(0, text.find('.'));
}

// The port of a listener address ("10.64.0.1:80", "[fd64::1]:80"); 0 if it has none.
unsigned port_of(const std::string& listener) {
  auto colon = listener.rfind(':');
  unsigned port = 0;
  if (colon != std::string::npos) std::from_chars(listener.data() + colon + 1, listener.data() + listener.size(), port);
  return port;
}

// What the host keeps after setup unless `capabilities` says otherwise: the network
// administration stages do at run time (nftables at reload and stop, sysctls and offloads put
// back, addresses changed on reload), raw and packet sockets a reload may open, binding a listener
// below 1024 (listeners are bound once the pipeline runs), and entering another network
// namespace (a stage with `netns` goes back there at reload and stop).
std::vector<std::string> default_capabilities(const HostConfig& c, const std::vector<Config>& stages) {
  std::vector<std::string> keep = {"cap_net_admin", "cap_net_raw"};
  bool low_port = !c.admin.empty() && port_of(c.admin) < 1024;
  for (const auto& at : c.api) low_port = low_port || port_of(at) < 1024;
  if (low_port) keep.push_back("cap_net_bind_service");
  if (std::any_of(stages.begin(), stages.end(), [](const Config& s) { return s.has("netns"); }))
    keep.push_back("cap_sys_admin");
  return keep;
}

void read_privileges(const Config& host, HostConfig& out) {
  out.user = host.string("user", "");
  out.group = host.string("group", "");
  if (!out.group.empty() && out.user.empty()) host.fail("group", "a group needs a user");
  if (!out.user.empty()) {
    const passwd* pw = ::getpwnam(out.user.c_str());
    if (pw == nullptr) host.fail("user", "no user '" + out.user + "' on this system");
    out.uid = pw->pw_uid;
    out.gid = pw->pw_gid;
    if (out.uid == 0) host.fail("user", "'" + out.user + "' is root: name an unprivileged user");
  }
  if (!out.group.empty()) {
    const group* gr = ::getgrnam(out.group.c_str());
    if (gr == nullptr) host.fail("group", "no group '" + out.group + "' on this system");
    out.gid = gr->gr_gid;
  }
  if (host.has("capabilities")) {
    out.capabilities.clear();
    for (auto name : host.strings("capabilities")) {
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (name.rfind("cap_", 0) != 0) name = "cap_" + name;
      cap_value_t value;
      if (cap_from_name(name.c_str(), &value) != 0)
        host.fail("capabilities", "'" + name + "' is not a capability (see capabilities(7))");
      out.capabilities.push_back(name);
    }
  }
}

HostConfig build(Config root, const std::string& origin) {
  HostConfig out;
  out.path = origin;
  std::filesystem::path base = std::filesystem::path(origin).parent_path();

  std::optional<Config> host_table;
  if (root.has("host")) {
    Config& host = host_table.emplace(root.table("host"));
    host.set_context("[host]");
    for (auto& dir : host.strings("plugin_path")) {
      std::filesystem::path p(dir);
      out.plugin_path.push_back(p.is_absolute() ? dir : (base / p).lexically_normal().string());
    }
    out.admin = host.string("admin", out.admin);
    if (host.has("admin_token_file")) {
      std::filesystem::path file(host.string("admin_token_file"));
      if (file.is_relative()) file = base / file;
      try {
        out.admin_token = read_secret_file(file.string(), "token file", 1024);
      } catch (const std::exception& e) {
        host.fail("admin_token_file", e.what());
      }
    }
    // Anyone who reaches the admin API reads every counter and identity: beyond loopback, only
    // with the token.
    const bool loopback = out.admin.empty() || out.admin.rfind("127.", 0) == 0 || out.admin.rfind("[::1]:", 0) == 0 ||
                          out.admin.rfind("localhost:", 0) == 0;
    if (!loopback && out.admin_token.empty())
      host.fail("admin", "'" + out.admin + "' is not a loopback address: name an admin_token_file, whose token "
                         "requests must carry as 'Authorization: Bearer <token>'");
    out.api = host.strings("api");
    out.state_dir = host.string("state_dir", "");
    if (!out.state_dir.empty() && !std::filesystem::path(out.state_dir).is_absolute())
      out.state_dir = (base / out.state_dir).lexically_normal().string();
    out.log_level = host.string("log_level", out.log_level);
    static constexpr const char* levels[] = {"trace", "debug", "info", "warn", "error"};
    if (std::find(std::begin(levels), std::end(levels), out.log_level) == std::end(levels))
      host.fail("log_level", "expected one of trace, debug, info, warn, error");
    out.buffers = static_cast<std::size_t>(host.integer("buffers", 8192, 256, 1 << 22));
    out.buffer_size = static_cast<std::size_t>(host.integer("buffer_size", 2048, 1024, 65536 + 512));
    out.headroom = static_cast<std::size_t>(host.integer("headroom", 128, 0, 512));
    out.ring_entries = static_cast<unsigned>(host.integer("ring_entries", 1024, 64, 32768));
    out.crypto_threads = static_cast<unsigned>(host.integer("crypto_threads", out.crypto_threads, 1, 64));
    out.workers = static_cast<unsigned>(host.integer("workers", out.workers, 1, 64));
    if (host.has("nice")) out.nice = static_cast<int>(host.integer("nice", -20, 19));
    out.capture_seconds = std::chrono::seconds(host.integer("capture_seconds", out.capture_seconds.count(), 0, 86400));
    out.capture_packets = static_cast<std::uint64_t>(host.integer("capture_packets", static_cast<std::int64_t>(out.capture_packets), 0, 10'000'000));
    out.audit_log = host.string("audit_log", "");
    if (!out.audit_log.empty() && !std::filesystem::path(out.audit_log).is_absolute())
      out.audit_log = (base / out.audit_log).lexically_normal().string();
    if (host.has("connector")) {
      out.connector = host.string("connector");
      if (!valid_name(out.connector)) host.fail("connector", "a connector name is 1-32 characters of a-z, 0-9, '-' and '_'");
    }
  }
  if (out.connector.empty()) out.connector = machine_name();

  std::vector<Config> stages = root.tables("stage");
  out.capabilities = default_capabilities(out, stages);
  if (host_table) {
    read_privileges(*host_table, out);
    host_table->complete();
  }
  if (stages.empty()) root.fail("stage", "no [[stage]] table: a pipeline needs at least one stage");
  for (auto& table : stages) {
    std::string name = table.string("name");
    if (!valid_name(name))
      table.fail("name", "a stage name is 1-32 characters of a-z, 0-9, '-' and '_'");
    for (auto& earlier : out.stages)
      if (earlier.name == name)
        table.fail("name", fmt::format("stage '{}' is defined twice (first at {})", name,
                                       earlier.table.where("name")));
    std::string plugin = table.string("plugin");
    table.set_context(fmt::format("stage '{}'", name));
    out.stages.push_back({name, plugin, table});
  }
  if (root.has("directory")) {
    Config d = root.table("directory");
    d.set_context("[directory]");
    d.require("etcd", "etcd's members, as [\"http://10.0.0.1:2379\"]");
    EtcdDirectory e;
    e.members = d.strings("etcd");
    if (d.has("ca")) {
      Tls t;
      auto file = [&](const char* key) {
        std::filesystem::path f(d.string(key));
        return (f.is_relative() ? base / f : f).string();
      };
      t.ca = file("ca");
      if (d.has("cert") != d.has("key")) d.fail(d.has("cert") ? "key" : "cert", "a client certificate needs both cert and key");
      if (d.has("cert")) t.cert = file("cert"), t.key = file("key");
      e.tls = t;
    }
    for (auto& m : e.members) {
      const bool secure = m.starts_with("https://");
      if ((!secure && !m.starts_with("http://")) || m.size() <= (secure ? 8u : 7u))
        d.fail("etcd", "'" + m + "': expected http://HOST:PORT or https://HOST:PORT");
      if (secure && !e.tls) d.fail("etcd", "'" + m + "' is https: name the cluster's ca (and cert and key, if it checks clients)");
    }
    if (e.members.empty()) d.fail("etcd", "names no member");
    e.prefix = d.string("prefix", e.prefix);
    if (!e.prefix.starts_with('/')) d.fail("prefix", "'" + e.prefix + "': a key prefix starts with '/'");
    if (!e.prefix.ends_with('/')) e.prefix += '/';
    e.connector = d.string("connector");
    if (!valid_name(e.connector)) d.fail("connector", "a connector name is 1-32 characters of a-z, 0-9, '-' and '_'");
    if (host_table && host_table->has("connector") && out.connector != e.connector)
      host_table->fail("connector", "is '" + out.connector + "', but [directory] names this connector '" + e.connector +
                                        "': one name, kept in [directory]");
    out.connector = e.connector;
    d.complete();
    for (const char* kind : {"overlay", "identity", "socket", "policy"})
      if (root.has(kind))
        root.fail(kind, "the directory comes from etcd ([directory]): keep its tables there (waygate directory push)");
    out.etcd = std::move(e);
  } else {
    out.directory = Directory::load(root, read_assignments(out.state_dir));
  }
  root.complete();
  // The stages' tables keep the document alive; the directory's are read into out.directory.
  for (const char* kind : {"identity", "socket", "policy"}) root.release(kind);
  return out;
}

}  // namespace

HostConfig load_host_config(const std::string& path, bool record_keys) {
  Config root = Config::parse_file(path);
  if (record_keys) root.record_keys();
  return build(std::move(root), path);
}

HostConfig parse_host_config(std::string_view toml, const std::string& origin) {
  return build(Config::parse(toml, origin), origin);
}

bool same_shape(const HostConfig& a, const HostConfig& b) {
  return std::equal(a.stages.begin(), a.stages.end(), b.stages.begin(), b.stages.end(),
                    [](const StageSpec& x, const StageSpec& y) {
                      return x.name == y.name && x.plugin == y.plugin;
                    });
}

}  // namespace waygate
