// The addresses of this machine's interfaces, as the kernel has them now: for a stage that must
// tell its own addresses from others' (an exit node keeps clients off the connector itself), or a
// command that checks an interface. In the calling thread's network namespace; a netlink dump, so
// for configure() and commands, not per packet.
#pragma once

#include <ifaddrs.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "waygate/net/headers.hpp"

namespace waygate::net {

struct InterfaceAddress {
  std::string interface;
  Address address;
};

// Empty when the kernel cannot be asked (which it always can, barring a lack of memory).
inline std::vector<InterfaceAddress> interface_addresses() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back({i->ifa_name, Address::v4(std::span<const std::uint8_t, 4>(
                                      reinterpret_cast<const std::uint8_t*>(&in->sin_addr), 4))});
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      out.push_back({i->ifa_name, Address::v6(std::span<const std::uint8_t, 16>(in6->sin6_addr.s6_addr, 16))});
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace waygate::net
