#include "doctor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "host_config.hpp"
#include "waygate/doctor.hpp"
#include "waygate/packet.hpp"

namespace waygate {

namespace {

// Whether something accepts TCP connections on the admin address within two seconds; "" if so,
// else why not. Only a connect: the stages' checks ask the API itself. (Not the SDK's HTTP client:
// the host builds Asio for io_uring, the SDK with Asio's defaults, and one binary must not hold
// both.)
std::string answers(const std::string& address) {
  Endpoint at;
  if (!parse_endpoint(address, at)) return "'" + address + "' is not ADDRESS:PORT";
  const int fd = ::socket(at.addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  std::string why;
  if (::connect(fd, &at.addr.sa, at.len) != 0 && errno != EINPROGRESS) {
    why = std::strerror(errno);
  } else {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, 2000) != 1) why = "no answer within 2 s";
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) why = std::strerror(error);
  }
  ::close(fd);
  return why.empty() ? "" : address + ": " + why;
}

std::vector<Check> checkup(const HostOptions& options, double wait, PluginCatalog& catalog) {
  std::vector<Check> checks;
  const std::string& file = options.config;
  HostConfig config;
  try {
    config = load_host_config(file);
    config.plugin_path.insert(config.plugin_path.begin(), options.plugin_path.begin(), options.plugin_path.end());
  } catch (const std::exception& e) {
    checks.push_back({"config", false, e.what(), "fix the file; `waygate check -c " + file + "` checks every stage too"});
    return checks;
  }
  const Directory& d = *config.directory;
  const bool has_directory = !d.identities.empty() || !d.sockets.empty() || !d.policies.empty();
  checks.push_back({"config", true,
                    fmt::format("{} reads: {} stage(s){}", file, config.stages.size(),
                                has_directory ? ", with its identities, sockets and policies" : ""),
                    ""});
  for (auto& w : d.warnings)
    checks.push_back({"directory", true, w,
                      "if this is how it should be, nothing to do; `waygate access-graph -c " + file +
                          "` shows who reaches what",
                      true});

  bool running = false;
  if (!config.admin.empty()) {
    const std::string why = answers(config.admin);
    running = why.empty();
    checks.push_back({"running", running, running ? "the admin API answers on " + config.admin : why,
                      "start it: `waygate run -c " + file + "` (in the namespace it runs in), or fix [host] admin"});
  }

  for (const StageSpec& stage : config.stages) {
    try {
      const Checkup run = catalog.find(stage.plugin, config.plugin_path)->checkup();
      if (run == nullptr) continue;
      for (Check& c : run(Patient{stage.table, d, file, config.admin, config.admin_token, running, wait}))
        checks.push_back(std::move(c));
    } catch (const std::exception& e) {
      checks.push_back({"stage " + stage.name, false, e.what(), "`waygate check -c " + file + "` says more"});
    }
  }
  return checks;
}

}  // namespace

int doctor(const HostOptions& options, double wait, PluginCatalog& catalog) {
  int failed = 0;
  for (const Check& c : checkup(options, wait, catalog)) {
    fmt::print("{} {}: {}\n", !c.ok ? "FAIL" : c.warning ? "warn" : "pass", c.name, c.detail);
    failed += c.ok ? 0 : 1;
    if (!c.ok || c.warning) fmt::print("     -> {}\n", c.hint);
  }
  fmt::print("{}\n", failed == 0 ? "all checks pass" : fmt::format("{} check(s) failed", failed));
  return failed == 0 ? 0 : 1;
}

}  // namespace waygate
