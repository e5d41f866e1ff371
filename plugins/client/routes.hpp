// The client's side of the kernel's routing table, through libnl: the routes an exit node hands
// out, put on the client's TUN device; the bypass that keeps the connector's own address on the
// path it had; and the kernel's answer to "where would a packet to this address go?", which
// finds that path and lets the doctor check the result.
#pragma once

#include <optional>
#include <string>

#include "waygate/net/prefix.hpp"

struct nl_sock;

namespace waygate::client {

// One route as it was installed: to `prefix` out of `device`, through `gateway` ("" on-link).
struct Route {
  std::string prefix;
  std::string device;
  std::string gateway;
  bool operator==(const Route&) const = default;
};

// Where the kernel sends a packet to an address: the device, and the gateway if there is one.
struct Path {
  std::string device;
  std::string gateway;
};

class RouteTable {
 public:
  RouteTable();  // in the calling thread's network namespace; throws std::system_error
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // nullopt when the kernel has no route to it.
  std::optional<Path> lookup(const net::Address& to);
  // False, changing nothing, when the same route is there already (then it is not ours to
  // remove); throws std::system_error for anything else.
  bool add(const Route& r);
  // A route already gone is fine: someone removed it before us.
  void remove(const Route& r);

 private:
  nl_sock* socket_ = nullptr;
};

}  // namespace waygate::client
