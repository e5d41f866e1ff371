#include "nft.hpp"

#include "waygate/netns.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace waygate::egress {

namespace {

std::string replace_header(std::string_view table) {
  std::string t(table);
  return "table inet " + t + "\ndelete table inet " + t + "\ntable inet " + t + " {\n";
}

template <typename A>
std::string set_of(const std::vector<A>& addresses) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < addresses.size(); ++i) out += (i ? ", " : "") + to_string(addresses[i]);
  return out + " }";
}

// One rule per family with egress addresses: "ip daddr { ... } meta l4proto { tcp, udp } th dport
// FIRST-LAST <verdict>".
std::string rules(const Settings& s, std::string_view which, std::string_view verdict) {
  const std::string ports = std::to_string(s.ports.first) + "-" + std::to_string(s.ports.last);
  const std::string port = which == "daddr" ? "dport" : "sport";
  std::string out;
  auto rule = [&](std::string_view family, const std::string& set) {
    out += "\t\t" + std::string(family) + " " + std::string(which) + " " + set +
           " meta l4proto { tcp, udp } th " + port + " " + ports + " " + std::string(verdict) + "\n";
  };
  if (!s.egress4.empty()) rule("ip", set_of(s.egress4));
  if (!s.egress6.empty()) rule("ip6", set_of(s.egress6));
  return out;
}

std::string chain(std::string_view name, std::string_view hook, std::string_view body) {
  return "\tchain " + std::string(name) + " {\n\t\t" + std::string(hook) + "; policy accept;\n" +
         std::string(body) + "\t}\n";
}

// The nft binary: on PATH, else where Debian puts it (a service's PATH may lack /usr/sbin).
std::string nft_path() {
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin";
  for (std::size_t at = 0; at <= path.size();) {
    std::size_t end = path.find(':', at);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(at, end - at) + "/nft";
    if (end > at && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = end + 1;
  }
  throw std::runtime_error("nft not found (install the nftables package)");
}

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

}  // namespace

std::string table_name(std::string_view stage) {
  std::string name = "waygate_";
  for (char ch : stage) name += ch == '-' ? '_' : ch;
  return name;
}

std::string shared_script(std::string_view table, const Settings& s) {
  return replace_header(table) +
         chain("prerouting", "type filter hook prerouting priority raw", rules(s, "daddr", "notrack")) +
         chain("input", "type filter hook input priority filter - 10", rules(s, "daddr", "drop")) +
         chain("output", "type filter hook output priority raw", rules(s, "saddr", "notrack")) + "}\n";
}

std::string kernel_script(std::string_view table, const Settings& s, std::string_view device) {
  const std::string rule = "\t\tiifname \"" + std::string(device) + "\" oifname \"" + s.interface + "\" masquerade\n";
  return replace_header(table) + chain("postrouting", "type nat hook postrouting priority srcnat", rule) + "}\n";
}

std::string delete_script(std::string_view table) {
  std::string t(table);
  return "table inet " + t + "\ndelete table inet " + t + "\n";
}

std::string run_nft(const std::string& script) {
  const std::string nft = nft_path();
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe");
  Fd in_read{in[0]}, in_write{in[1]};
  if (::pipe2(err, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe");
  Fd err_read{err[0]}, err_write{err[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, 2);
  // The host blocks its stop and reload signals in worker threads; nft starts with none blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char* argv[] = {const_cast<char*>("nft"), const_cast<char*>("-f"), const_cast<char*>("-"), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, nft.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "run " + nft);
  ::close(std::exchange(in_read.fd, -1));
  ::close(std::exchange(err_write.fd, -1));

  // A script is a few hundred bytes: it fits the pipe, so writing it all before reading is safe.
  for (std::size_t done = 0; done < script.size();) {
    ssize_t n = ::write(in_write.fd, script.data() + done, script.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(std::exchange(in_write.fd, -1));
  std::string output;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(err_read.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    throw std::runtime_error("nft failed: " + (output.empty() ? "exit status " + std::to_string(status) : output));
  }
  return output;
}

NftTable::NftTable(std::string netns, std::string name, const std::string& script, Logger& log)
    : netns_(std::move(netns)), name_(std::move(name)), log_(log) {
  replace(script);
}

NftTable::~NftTable() {
  try {
    NetnsGuard in_namespace(netns_);
    run_nft(delete_script(name_));
  } catch (const std::exception& e) {
    log_.error("removing nftables table {}: {}", name_, e.what());
  }
}

void NftTable::replace(const std::string& script) {
  NetnsGuard in_namespace(netns_);
  run_nft(script);
}

}  // namespace waygate::egress
