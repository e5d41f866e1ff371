// Following the connector's own addresses as the kernel changes them (DHCP, SLAAC, an operator's
// `ip addr add`): a netlink socket subscribed to address changes, which the stage reads through
// the worker's io_uring like any other descriptor. A message is only a nudge: the stage then asks
// for the whole list again (waygate/net/interfaces.hpp), so a lost message (ENOBUFS) costs nothing.
#pragma once

namespace waygate::policy {

// A non-blocking NETLINK_ROUTE socket in the calling thread's namespace, subscribed to IPv4 and
// IPv6 address changes; -1 (errno set) when it cannot be made.
int open_address_watch();

}  // namespace waygate::policy
