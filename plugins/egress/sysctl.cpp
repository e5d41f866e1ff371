#include "sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

namespace waygate::egress {

SysctlOverride::SysctlOverride(const std::string& name) : name_(name) {
  fd_ = ::open(("/proc/sys/" + name).c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open sysctl " + name);
  char buf[128];
  ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
  if (n < 0) {
    int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(), "read sysctl " + name);
  }
  old_.assign(buf, static_cast<std::size_t>(n));
  while (!old_.empty() && (old_.back() == '\n' || old_.back() == ' ')) old_.pop_back();
}

SysctlOverride::~SysctlOverride() {
  if (changed_) {
    try {
      write(old_);
    } catch (const std::exception&) {  // nothing more to do on the way out
    }
  }
  ::close(fd_);
}

void SysctlOverride::set(const std::string& value) {
  write(value);
  changed_ = true;
}

void SysctlOverride::restore_to(const std::string& original) {
  if (original == old_) return;
  old_ = original;
  changed_ = true;
}

void SysctlOverride::write(const std::string& value) {
  const std::string line = value + "\n";
  if (::pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()))
    throw std::system_error(errno, std::generic_category(), "set sysctl " + name_ + " to '" + value + "'");
}

std::optional<PortRange> clear_of(PortRange kernel, PortRange reserved) {
  if (kernel.last < reserved.first || kernel.first > reserved.last) return std::nullopt;
  std::optional<PortRange> below, above;
  if (kernel.first < reserved.first) below = PortRange{kernel.first, static_cast<std::uint16_t>(reserved.first - 1)};
  if (kernel.last > reserved.last) above = PortRange{static_cast<std::uint16_t>(reserved.last + 1), kernel.last};
  if (!below && !above) {  // the kernel's range lies inside the reserved one: take what is above it
    if (reserved.last < 65535) above = PortRange{static_cast<std::uint16_t>(reserved.last + 1), 65535};
    else if (reserved.first > 1025) below = PortRange{1024, static_cast<std::uint16_t>(reserved.first - 1)};
    else return std::nullopt;
  }
  if (!below) return above;
  if (!above) return below;
  return above->last - above->first >= below->last - below->first ? above : below;
}

bool parse_kernel_range(const std::string& text, PortRange& out) {
  unsigned first = 0, last = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  auto r1 = std::from_chars(p, end, first);
  if (r1.ec != std::errc{}) return false;
  p = r1.ptr;
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  auto r2 = std::from_chars(p, end, last);
  if (r2.ec != std::errc{} || first > last || last > 65535) return false;
  out = {static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)};
  return true;
}

}  // namespace waygate::egress
