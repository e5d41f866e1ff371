// Kernel settings the egress edge changes for as long as it runs, in its own namespace: the
// ephemeral port range (shared mode: off the NAT's ports) and forwarding (kernel mode). Each is
// held by an object that opened the file in the namespace it was created in, so it puts the old
// value back there when destroyed, from whatever namespace the thread is in then.
#pragma once

#include <optional>
#include <string>

#include "settings.hpp"

namespace waygate::egress {

class SysctlOverride {
 public:
  // Opens /proc/sys/<name> ("net/ipv4/ip_forward") in the calling thread's namespace and reads
  // it; throws std::system_error.
  explicit SysctlOverride(const std::string& name);
  ~SysctlOverride();  // writes the old value back if set() changed it
  SysctlOverride(const SysctlOverride&) = delete;
  SysctlOverride& operator=(const SysctlOverride&) = delete;

  const std::string& old() const { return old_; }  // as read, trailing newline removed
  void set(const std::string& value);                // throws std::system_error
  // A crashed run changed it and recorded the original (originals.hpp): old() is `original` from
  // now on, written back when destroyed whatever set() does meanwhile.
  void restore_to(const std::string& original);

 private:
  void write(const std::string& value);
  std::string name_;
  int fd_ = -1;
  std::string old_;
  bool changed_ = false;
};

// The kernel's ephemeral range with the reserved range cut out: the larger piece that is left
// (above the reserved range when the kernel's lies inside it). nullopt when they do not overlap,
// or nothing is left.
std::optional<PortRange> clear_of(PortRange kernel, PortRange reserved);

// "32768\t60999" as ip_local_port_range reads; false if it is not that.
bool parse_kernel_range(const std::string& text, PortRange& out);

}  // namespace waygate::egress
