#include "nft_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace waygate {

namespace {

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

}  // namespace waygate
