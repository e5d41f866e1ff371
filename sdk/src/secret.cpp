#include "waygate/secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace waygate {

void wipe(std::string& secret) {
  if (!secret.empty()) ::explicit_bzero(secret.data(), secret.size());
  secret.clear();
}

std::string read_secret_file(const std::string& path, std::string_view what, std::size_t limit) {
  // Non-blocking: a FIFO (or a device) named as a secret would otherwise hold the open, or the
  // read, and with it the start or the reload, for as long as nobody writes to it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open {} {}: {}", what, path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(fmt::format("{} {} is not a regular file", what, path));
  }
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    const int error = errno;
    ::close(fd);
    if ((st.st_mode & 077) == 0) throw std::runtime_error(fmt::format("cannot stat {} {}: {}", what, path, std::strerror(error)));
    throw std::runtime_error(fmt::format("{} {} has mode {:04o}: a secret must not be accessible to group or others; "
                                         "run `chmod 600 {}`",
                                         what, path, st.st_mode & 07777, path));
  }
  std::string content;
  char buffer[256];
  while (content.size() <= limit) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      wipe(content);
      throw std::runtime_error(fmt::format("cannot read {} {}: {}", what, path, std::strerror(error)));
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::explicit_bzero(buffer, sizeof buffer);
  ::close(fd);
  if (content.size() > limit) {
    wipe(content);
    throw std::runtime_error(fmt::format("{} {} is longer than {} bytes: not a {}", what, path, limit, what));
  }
  std::size_t first = content.find_first_not_of(" \t\r\n"), last = content.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    wipe(content);
    throw std::runtime_error(fmt::format("{} {} is empty", what, path));
  }
  std::string out = content.substr(first, last - first + 1);
  wipe(content);
  return out;
}

}  // namespace waygate
