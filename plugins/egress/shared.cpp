#include "shared.hpp"

// <net/if.h> before the kernel's headers, which then leave its definitions alone.
#include <net/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "filter.hpp"
#include "frame.hpp"
#include "tables.hpp"
#include "originals.hpp"
#include "waygate/netns.hpp"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

namespace waygate::egress {

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

int raw_socket(int family) {
  // IPPROTO_RAW: we write the whole IP header (IPv4 implies IP_HDRINCL; IPv6 gets IPV6_HDRINCL),
  // so the NAT's source address and port leave as they are, routed by the kernel. Such a socket
  // receives nothing.
  int fd = ::socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
  if (fd < 0) fail(errno, std::string("raw IPv") + (family == AF_INET ? "4" : "6") + " socket");
  int one = 1;
  if (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) < 0) {
    int err = errno;
    ::close(fd);
    fail(err, "IPV6_HDRINCL");
  }
  return fd;
}

// How many bytes of link header a SOCK_RAW packet socket hands over on this interface.
std::size_t link_header(int fd, const std::string& interface) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, interface.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) fail(errno, "interface '" + interface + "'");
  switch (ifr.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:
      return ETH_HLEN;
    case ARPHRD_NONE:  // TUN, WireGuard: the packet is the IP packet
    case ARPHRD_RAWIP:
      return 0;
    default:
      fail(EPROTONOSUPPORT, "interface '" + interface + "' has link type " +
                                std::to_string(ifr.ifr_hwaddr.sa_family) + " (Ethernet and IP-only links are supported)");
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

SharedSystem::SharedSystem(const Settings& s, std::string table, Logger& log, Share share)
    : netns_(s.netns), table_(std::move(table)), share_(share), log_(log) {
  NetnsGuard in_namespace(s.netns);
  try {
    if (!s.egress4.empty()) raw4_ = raw_socket(AF_INET);
    if (!s.egress6.empty()) raw6_ = raw_socket(AF_INET6);
    if (!s.egress4.empty()) open_packet(packet4_, AF_INET, s);
    if (s.offload) open_trains(s);
    if (!s.egress6.empty()) open_packet(packet6_, AF_INET6, s);
    if (share_.worker > 0) return;  // the table and the range are the first worker's
    // Originals first, then the table that records them, then the changes: a run killed at any
    // point leaves either nothing changed or a record of what to put back.
    const Originals left = left_behind(table_);
    port_range_.emplace("net/ipv4/ip_local_port_range");
    if (auto it = left.find("ports"); it != left.end()) {
      log_.info("a run that did not stop left the kernel's ephemeral ports at {}; they were {}", port_range_->old(),
                it->second);
      port_range_->restore_to(range_sysctl(it->second));
    }
    PortRange kernel;
    if (!parse_kernel_range(port_range_->old(), kernel))
      fail(EINVAL, "ip_local_port_range reads '" + port_range_->old() + "'");
    comment_ = originals_comment({{"ports", range_record(port_range_->old())}});
    nft_table_.emplace(s.netns, table_, shared_script(table_, s, comment_), log_);

    if (auto clear = clear_of(kernel, s.ports)) {
      port_range_->set(std::to_string(clear->first) + " " + std::to_string(clear->last));
      log_.info("kernel ephemeral ports {}-{} moved to {}-{}, clear of {}-{}", kernel.first, kernel.last,
                clear->first, clear->last, s.ports.first, s.ports.last);
    } else if (kernel.last >= s.ports.first && kernel.first <= s.ports.last) {
      fail(ERANGE, "no ephemeral ports are left to the kernel outside the NAT's " + to_string(s.ports) +
                       " (the sockets' egress_ports)");
    }
  } catch (...) {
    release();
    throw;
  }
}

SharedSystem::~SharedSystem() { release(); }

void SharedSystem::release() {
  port_range_.reset();
  nft_table_.reset();
  trains_.reset();
  close_fd(raw4_);
  close_fd(raw6_);
  close_fd(packet4_);
  close_fd(packet6_);
}

void SharedSystem::open_packet(int& fd, int family, const Settings& s) {
  // Opened with protocol 0, which receives nothing until bind() names one: the filter is in place
  // before the first packet.
  fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) fail(errno, "packet socket");
  if (index_ == 0) {
    index_ = static_cast<int>(::if_nametoindex(s.interface.c_str()));
    if (index_ == 0) fail(errno, "interface '" + s.interface + "'");
    link_len_ = link_header(fd, s.interface);
  }
  int one = 1;
  if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) fail(errno, "PACKET_VNET_HDR");
  // Room for bursts while the worker is busy elsewhere; past it the kernel drops (root may exceed
  // rmem_max, which is why FORCE; without the privilege the default stays).
  int bytes = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
  auto program = family == AF_INET ? filter4(static_cast<std::uint32_t>(link_len_), s.egress4, s.ports)
                                   : filter6(static_cast<std::uint32_t>(link_len_), s.egress6, s.ports);
  sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) fail(errno, "attach filter");
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
  at.sll_ifindex = index_;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0) fail(errno, "bind packet socket to " + s.interface);
  if (share_.workers < 2) return;
  // Joined in the workers' order, which numbers the members; a bound socket only may join.
  const int group = (family == AF_INET ? share_.group : share_.group + 1) & 0xffff;
  int fanout = group | (PACKET_FANOUT_CBPF << 16);
  if (::setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) < 0)
    fail(errno, "join the workers' fanout group " + std::to_string(group) + " on " + s.interface);
  const auto net = static_cast<std::uint32_t>(SKF_NET_OFF);
  auto steer = family == AF_INET ? steer4(net, s.ports, share_.workers) : steer6(net, s.ports, share_.workers);
  sock_fprog by_port{static_cast<unsigned short>(steer.size()), steer.data()};
  if (::setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &by_port, sizeof by_port) < 0) fail(errno, "steer the fanout group");
}

// Trains are written into a device of ours and the kernel forwards them out like a router, as one
// packet each until the wire (GSO), where raw sockets would take each segment through the stack.
// Their source is our own address, which IPv4 accepts from a device only with accept_local, and
// forwarding is switched on for this device alone: IPv4 has it per device, IPv6 since Linux 6.17
// (force_forwarding; before, only for every device at once, which is not ours to switch).
// Reverse-path filtering anywhere (IPv4's conf/all) would drop them all the same. A family the
// kernel would not forward from the device sends segment by segment, as both do when the device
// cannot be made (a reload after privileges were dropped may not open /dev/net/tun).
void SharedSystem::open_trains(const Settings& s) {
  auto read = [](const std::string& name) {
    std::string value;
    if (FILE* f = std::fopen(("/proc/sys/" + name).c_str(), "r")) {
      char line[32] = {};
      if (std::fgets(line, sizeof line, f) != nullptr) value = line;
      std::fclose(f);
    }
    return value.substr(0, value.find('\n'));
  };
  auto write = [](const std::string& name, const char* value) {
    FILE* f = std::fopen(("/proc/sys/" + name).c_str(), "w");
    bool ok = f != nullptr && std::fputs(value, f) >= 0;
    if (f != nullptr) ok = std::fclose(f) == 0 && ok;
    return ok;
  };
  bool v4 = !s.egress4.empty();
  if (v4 && read("net/ipv4/conf/all/rp_filter") != "0") {
    log_.info("reverse-path filtering is on (net.ipv4.conf.all.rp_filter): IPv4 TCP leaves segment by segment");
    v4 = false;
  }
  bool v6 = !s.egress6.empty();
  const bool force = !read("net/ipv6/conf/lo/force_forwarding").empty();
  if (v6 && !force && read("net/ipv6/conf/all/forwarding") != "1") {
    log_.info("this kernel forwards IPv6 from one device only with forwarding on for all (no force_forwarding): "
              "IPv6 TCP leaves segment by segment");
    v6 = false;
  }
  if (!v4 && !v6) return;
  tun::Settings device;
  device.device = s.device;
  // Each worker's own device: a name without a number for the kernel to pick gets the worker's.
  if (share_.worker > 0 && device.device.find('%') == std::string::npos)
    device.device = device.device.substr(0, 12) + std::to_string(share_.worker);
  device.mtu = 65535;
  device.vnet_header = true;
  // Nothing is read from it, but asking for segmentation tells whether the kernel takes UDP trains.
  device.segmentation = true;
  try {
    trains_.emplace(device);  // in the namespace the constructor entered
  } catch (const std::exception& e) {  // an optimisation only: the edge runs on without it
    log_.warn("no device for TCP trains ({}): TCP leaves segment by segment", e.what());
    return;
  }
  const std::string conf4 = "net/ipv4/conf/" + trains_->name() + "/";
  const std::string conf6 = "net/ipv6/conf/" + trains_->name() + "/";
  for (auto [key, value] : {std::pair{"forwarding", v4 ? "1" : "0"}, {"accept_local", "1"}, {"rp_filter", "0"}})
    if (!write(conf4 + key, value)) fail(errno, "set " + conf4 + key);
  // Without IPv6 trains nothing of IPv6 should start on the device; with them, it only takes in.
  if (!write(conf6 + "disable_ipv6", v6 ? "0" : "1") || (v6 && force && !write(conf6 + "force_forwarding", "1")))
    v6 = false;
  trains4_ = v4;
  trains6_ = v6;
}

void SharedSystem::update(const Settings& to) {
  if (nft_table_) nft_table_->replace(shared_script(table_, to, comment_));
  auto attach = [&](int fd, std::vector<sock_filter> program) {
    if (fd < 0) return;
    sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) fail(errno, "attach filter");
  };
  attach(packet4_, filter4(static_cast<std::uint32_t>(link_len_), to.egress4, to.ports));
  attach(packet6_, filter6(static_cast<std::uint32_t>(link_len_), to.egress6, to.ports));
}

}  // namespace waygate::egress
