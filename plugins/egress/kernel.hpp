// Kernel mode's hold on the system, from start to stop: a TUN device the edge writes client packets
// to (with routes for the client prefixes through it, so answers come back to it), a masquerade
// rule for what leaves by the outside interface, and forwarding switched on. The destructor undoes
// each: the table is deleted, forwarding put back, and closing the device takes its routes along.
// With more than one worker ([host] workers) the device is multi-queue, a queue per worker: the
// first worker's system creates and configures it and holds the table and the sysctls, the
// others' open a queue each; the kernel answers a flow on the queue that wrote it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tables.hpp"
#include "settings.hpp"
#include "sysctl.hpp"
#include "waygate/tun_device.hpp"
#include "waygate/log.hpp"

namespace waygate::egress {

// The device of worker `worker` of `workers`.
tun::Settings device_settings(const Settings& s, unsigned worker = 0, unsigned workers = 1);

class KernelSystem {
 public:
  KernelSystem(const Settings& s, std::string table, Logger& log, unsigned worker = 0,
               unsigned workers = 1);  // throws std::exception
  ~KernelSystem();
  KernelSystem(const KernelSystem&) = delete;
  KernelSystem& operator=(const KernelSystem&) = delete;

  int fd() const { return device_->fd(); }
  const std::string& device() const { return device_->name(); }
  // A reload: MTU and routes on the running device.
  void update(const Settings& from, const Settings& to);

 private:
  void release();

  std::string netns_;
  std::string table_;
  unsigned worker_, workers_;
  std::string comment_;  // the table's record of the originals (originals.hpp)
  Logger& log_;
  std::optional<tun::Device> device_;
  std::optional<NftTable> nft_table_;
  std::optional<SysctlOverride> forward4_, forward6_;
};

}  // namespace waygate::egress
