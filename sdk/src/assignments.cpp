// The state folder's record of pool addresses (see waygate/directory.hpp).
#include "waygate/directory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace waygate {

namespace {

constexpr const char* kFile = "overlay-addresses";

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

Assignments read_assignments(const std::string& state_dir) {
  Assignments out;
  if (state_dir.empty()) return out;
  std::ifstream in(std::filesystem::path(state_dir) / kFile);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, text;
    if (!(words >> key)) continue;
    while (words >> text)
      if (auto a = net::parse_address(text)) out[key].push_back(*a);
  }
  return out;
}

void write_assignments(const std::string& state_dir, const Assignments& assignments) {
  if (state_dir.empty()) return;
  std::filesystem::path dir(state_dir);
  std::filesystem::create_directories(dir);
  std::string text;
  for (auto& [key, addresses] : assignments) {
    text += key;
    for (auto& a : addresses) text += " " + a.to_string();
    text += "\n";
  }
  std::string tmp = (dir / kFile).string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  errno = err;
  if (!ok) fail("write " + tmp);
  if (::rename(tmp.c_str(), (dir / kFile).c_str()) != 0) fail("rename " + tmp);
}

}  // namespace waygate
