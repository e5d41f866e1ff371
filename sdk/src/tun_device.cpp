#include "waygate/tun_device.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "waygate/netns.hpp"

namespace waygate::tun {

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

[[noreturn]] void fail_nl(int err, const std::string& what) {
  throw std::system_error(EIO, std::generic_category(), what + ": " + nl_geterror(err));
}

struct NlAddr {
  nl_addr* p = nullptr;
  ~NlAddr() { if (p) nl_addr_put(p); }
};

}  // namespace

void check_prefix(const std::string& text) {
  NlAddr a;
  if (nl_addr_parse(text.c_str(), AF_UNSPEC, &a.p) < 0 ||
      (nl_addr_get_family(a.p) != AF_INET && nl_addr_get_family(a.p) != AF_INET6) ||
      nl_addr_get_prefixlen(a.p) > nl_addr_get_len(a.p) * 8)  // libnl itself takes "10.0.0.0/33"
    throw std::invalid_argument("'" + text + "' is not an address with a prefix length, such as 10.0.0.1/24");
}

Device::Device(const Settings& s) {
  if (s.fd >= 0) {
    fd_ = s.fd;
    name_ = "fd " + std::to_string(s.fd);
    configure_ = false;
    return;
  }
  NetnsGuard in_namespace(s.netns);
  // Non-blocking, so that io_uring polls the device for a read instead of parking a kernel worker
  // thread in it (measured: ~120 io-wq threads under load without it).
  fd_ = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) fail(errno, "open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | (s.vnet_header ? IFF_VNET_HDR : 0) |
                                     (s.multi_queue ? IFF_MULTI_QUEUE : 0));
  std::strncpy(ifr.ifr_name, s.device.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd_, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    ::close(fd_);
    fail(err, "create TUN device '" + s.device + "'");
  }
  // The kernel's TCP then hands the device 64 KiB packets with their checksums left to do, as to
  // a network card with TSO, instead of cutting each into MTU-sized ones first; so does a UDP
  // socket sending with UDP_SEGMENT (QUIC, say), with USO (Linux 6.2). A kernel that refuses
  // still gives us whole packets: a read of any kind is taken apart (waygate/net/gso.hpp).
  if (s.vnet_header && s.segmentation) {
    constexpr unsigned kUso4 = 0x20, kUso6 = 0x40;  // TUN_F_USO4/6, newer than these headers
    const unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    uso_ = ::ioctl(fd_, TUNSETOFFLOAD, tso | kUso4 | kUso6) == 0;
    if (!uso_) (void)::ioctl(fd_, TUNSETOFFLOAD, tso);
  }
  name_ = ifr.ifr_name;
  index_ = static_cast<int>(::if_nametoindex(name_.c_str()));
  if (!s.configure) {
    configure_ = false;
    return;
  }
  netlink_ = nl_socket_alloc();
  int rc = netlink_ == nullptr ? -NLE_NOMEM : nl_connect(netlink_, NETLINK_ROUTE);
  try {
    if (rc < 0) fail_nl(rc, "netlink");
    set_link(s.mtu, s.up);
    for (auto& a : s.addresses) address(a, true);
    // Routes need the link up; they go with the device when it is closed.
    for (auto& r : s.routes) route(r, true);
  } catch (...) {
    if (netlink_) nl_socket_free(netlink_);
    ::close(fd_);
    throw;
  }
}

Device::~Device() {
  if (netlink_ != nullptr) nl_socket_free(netlink_);
  if (fd_ >= 0) ::close(fd_);
}

void Device::set_link(int mtu, bool up) {
  rtnl_link* change = rtnl_link_alloc();
  rtnl_link* current = rtnl_link_alloc();
  rtnl_link_set_ifindex(current, index_);
  rtnl_link_set_mtu(change, static_cast<unsigned>(mtu));
  if (up) rtnl_link_set_flags(change, IFF_UP);
  else rtnl_link_unset_flags(change, IFF_UP);
  int rc = rtnl_link_change(netlink_, current, change, 0);
  rtnl_link_put(change);
  rtnl_link_put(current);
  if (rc < 0) fail_nl(rc, "set MTU " + std::to_string(mtu) + " on " + name_);
}

void Device::address(const std::string& prefix, bool add) {
  NlAddr local;
  int rc = nl_addr_parse(prefix.c_str(), AF_UNSPEC, &local.p);
  if (rc < 0) fail_nl(rc, "address " + prefix);
  rtnl_addr* a = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(a, index_);
  rtnl_addr_set_local(a, local.p);
  rc = add ? rtnl_addr_add(netlink_, a, 0) : rtnl_addr_delete(netlink_, a, 0);
  rtnl_addr_put(a);
  if (rc < 0 && !(add && rc == -NLE_EXIST))
    fail_nl(rc, std::string(add ? "add" : "remove") + " address " + prefix + " on " + name_);
}

void Device::route(const std::string& prefix, bool add) {
  NlAddr dst;
  int rc = nl_addr_parse(prefix.c_str(), AF_UNSPEC, &dst.p);
  if (rc < 0) fail_nl(rc, "route " + prefix);
  rtnl_route* r = rtnl_route_alloc();
  rtnl_route_set_family(r, static_cast<std::uint8_t>(nl_addr_get_family(dst.p)));
  rtnl_route_set_dst(r, dst.p);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(hop, index_);
  rtnl_route_add_nexthop(r, hop);  // the route owns it now
  rc = add ? rtnl_route_add(netlink_, r, NLM_F_CREATE | NLM_F_EXCL) : rtnl_route_delete(netlink_, r, 0);
  rtnl_route_put(r);
  if (rc < 0 && !(add && rc == -NLE_EXIST))
    fail_nl(rc, std::string(add ? "add" : "remove") + " route " + prefix + " via " + name_);
}

void Device::update(const Settings& from, const Settings& to) {
  if (!configure_) return;
  if (from.mtu != to.mtu || from.up != to.up) set_link(to.mtu, to.up);
  auto listed = [](const std::vector<std::string>& v, const std::string& a) {
    for (auto& x : v) if (x == a) return true;
    return false;
  };
  for (auto& a : from.addresses) if (!listed(to.addresses, a)) address(a, false);
  for (auto& a : to.addresses) if (!listed(from.addresses, a)) address(a, true);
  for (auto& r : from.routes) if (!listed(to.routes, r)) route(r, false);
  for (auto& r : to.routes) if (!listed(from.routes, r)) route(r, true);
}

}  // namespace waygate::tun
