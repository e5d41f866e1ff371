// The TUN device behind the tun edge (and the egress edge's kernel mode): created (or attached to)
// in a chosen network namespace, given its MTU, addresses and routes, brought up. Everything that
// talks to the kernel's configuration lives here, away from the packet paths.
#pragma once

#include <string>
#include <vector>

struct nl_sock;

namespace waygate::tun {

struct Settings {
  std::string device;                  // interface name; "%d" lets the kernel number it
  std::string netns;                   // a named namespace (ip netns add NAME); "" = ours
  int fd = -1;                         // an already open TUN or datagram descriptor, taken over
  int mtu = 1420;
  std::vector<std::string> addresses;  // "10.0.0.1/24", "fd00::1/64"
  std::vector<std::string> routes;     // prefixes routed to the device: "10.80.0.0/24", "fd80::/64"
  bool up = true;
  bool vnet_header = false;            // IFF_VNET_HDR: a virtio-net header before every packet
  bool segmentation = false;           // with it: the kernel may hand over TCP unsegmented (TSO)
  // IFF_MULTI_QUEUE: one queue per worker, each its own descriptor. The kernel sends a flow's
  // packets to the queue its packets were last written on (the tun driver's flow table), so the
  // worker that let a flow in gets its answers.
  bool multi_queue = false;
  // false: another queue of the device, which the queue opened first configured (MTU, addresses,
  // routes); the device is named, not numbered by the kernel.
  bool configure = true;
};

// Throws std::invalid_argument with the offending value if a string is not an address/prefix.
void check_prefix(const std::string& text);

class Device {
 public:
  // Creates or attaches to the device and configures it; throws std::system_error on failure.
  explicit Device(const Settings& settings);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  // Whether the kernel took USO with segmentation (Linux 6.2): it then also takes UDP trains
  // written into the device (waygate/net/gro.hpp).
  bool uso() const { return uso_; }
  // Moves the device from `from` to `to` (MTU, addresses, routes): what a reload changes.
  void update(const Settings& from, const Settings& to);

 private:
  void set_link(int mtu, bool up);
  void address(const std::string& prefix, bool add);
  void route(const std::string& prefix, bool add);

  int fd_ = -1;
  std::string name_;
  int index_ = 0;
  nl_sock* netlink_ = nullptr;  // opened inside the device's namespace, so it talks to that one
  bool configure_ = true;       // false when given a descriptor: its owner configured it
  bool uso_ = false;
};

}  // namespace waygate::tun
