#include "routes.hpp"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace waygate::client {

namespace {

[[noreturn]] void fail_nl(int err, const std::string& what) {
  throw std::system_error(EIO, std::generic_category(), what + ": " + nl_geterror(err));
}

struct NlAddr {
  nl_addr* p = nullptr;
  ~NlAddr() { if (p) nl_addr_put(p); }
};

nl_sock* open_socket(bool acks) {
  nl_sock* s = nl_socket_alloc();
  if (s == nullptr) throw std::system_error(ENOMEM, std::generic_category(), "netlink socket");
  if (int rc = nl_connect(s, NETLINK_ROUTE); rc < 0) {
    nl_socket_free(s);
    fail_nl(rc, "netlink");
  }
  if (!acks) nl_socket_disable_auto_ack(s);
  return s;
}

// The route object for r, or a throw naming what does not parse or exist.
rtnl_route* route_of(const Route& r) {
  NlAddr dst, via;
  if (int rc = nl_addr_parse(r.prefix.c_str(), AF_UNSPEC, &dst.p); rc < 0) fail_nl(rc, "route " + r.prefix);
  unsigned index = ::if_nametoindex(r.device.c_str());
  if (index == 0) throw std::system_error(errno, std::generic_category(), "route " + r.prefix + ": device " + r.device);
  rtnl_route* route = rtnl_route_alloc();
  rtnl_route_set_family(route, static_cast<std::uint8_t>(nl_addr_get_family(dst.p)));
  rtnl_route_set_dst(route, dst.p);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(hop, static_cast<int>(index));
  if (!r.gateway.empty()) {
    if (int rc = nl_addr_parse(r.gateway.c_str(), AF_UNSPEC, &via.p); rc < 0) {
      rtnl_route_nh_free(hop);
      rtnl_route_put(route);
      fail_nl(rc, "gateway " + r.gateway);
    }
    rtnl_route_nh_set_gateway(hop, via.p);
  } else {
    rtnl_route_set_scope(route, RT_SCOPE_LINK);
  }
  rtnl_route_add_nexthop(route, hop);  // the route owns it now
  return route;
}

}  // namespace

RouteTable::RouteTable() : socket_(open_socket(true)) {}

RouteTable::~RouteTable() { nl_socket_free(socket_); }

bool RouteTable::add(const Route& r) {
  rtnl_route* route = route_of(r);
  int rc = rtnl_route_add(socket_, route, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_route_put(route);
  if (rc == -NLE_EXIST) return false;
  if (rc < 0) fail_nl(rc, "add route " + r.prefix + " dev " + r.device);
  return true;
}

void RouteTable::remove(const Route& r) {
  rtnl_route* route = route_of(r);
  int rc = rtnl_route_delete(socket_, route, 0);
  rtnl_route_put(route);
  if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NOADDR) fail_nl(rc, "remove route " + r.prefix);
}

std::optional<Path> RouteTable::lookup(const net::Address& to) {
  // RTM_GETROUTE, as `ip route get` asks: the kernel answers with the route it would use.
  nl_sock* s = open_socket(false);
  rtmsg rtm{};
  rtm.rtm_family = static_cast<unsigned char>(to.is_v4() ? AF_INET : AF_INET6);
  rtm.rtm_dst_len = static_cast<unsigned char>(to.size() * 8);
  nl_msg* m = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
  int rc = m == nullptr ? -NLE_NOMEM : nlmsg_append(m, &rtm, sizeof rtm, NLMSG_ALIGNTO);
  if (rc >= 0) rc = nla_put(m, RTA_DST, static_cast<int>(to.size()), to.bytes().data());
  if (rc >= 0) rc = nl_send_auto(s, m);
  if (m != nullptr) nlmsg_free(m);
  unsigned char* buffer = nullptr;
  sockaddr_nl from{};
  int n = rc < 0 ? rc : nl_recv(s, &from, &buffer, nullptr);
  nl_socket_free(s);
  if (n < 0) fail_nl(n, "route lookup for " + to.to_string());
  std::optional<Path> path;
  auto* h = reinterpret_cast<nlmsghdr*>(buffer);
  if (nlmsg_ok(h, n) && h->nlmsg_type == RTM_NEWROUTE) {
    nlattr* attr[RTA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(rtmsg), attr, RTA_MAX, nullptr) == 0 && attr[RTA_OIF] != nullptr) {
      path.emplace();
      char name[IF_NAMESIZE] = {};
      if (::if_indextoname(nla_get_u32(attr[RTA_OIF]), name) != nullptr) path->device = name;
      if (attr[RTA_GATEWAY] != nullptr) {
        char text[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(rtm.rtm_family, nla_data(attr[RTA_GATEWAY]), text, sizeof text);
        path->gateway = text;
      }
    }
  }
  std::free(buffer);
  return path;  // an NLMSG_ERROR (ENETUNREACH, say): no route
}

}  // namespace waygate::client
