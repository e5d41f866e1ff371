// What each exit node reaches: the internet, and not the connector's own networks. Per socket, one
// longest-prefix table (waygate/net/prefix_map.hpp) of, in rising precedence where two prefixes
// are the same:
//   1. the internet: IANA's global destinations (waygate/net/special_purpose.hpp);
//   2. the overlay pools: no client reaches another through the exit node;
//   3. every address of the connector itself (its services, whatever they listen on);
//   4. the socket's DNS servers, which it hands its clients itself;
//   5. the operator's `allow` and `deny` of the socket.
// The most specific prefix decides, so allow = ["10.0.0.0/8"] opens a corporate network while the
// overlay's 10.64.0.0/24 and the connector's 10.0.0.5 stay out, unless allowed by name.
// A subnet router has no table: its routes bind exactly its destinations (access.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "waygate/directory.hpp"
#include "waygate/net/special_purpose.hpp"

namespace waygate::policy {

class Reach {
 public:
  // The tables of every exit node of `d`, with `own` the connector's addresses.
  void build(const Directory& d, const std::vector<net::Address>& own);

  // The packet path: whether `socket` forwards to `destination` (always, for a subnet router).
  bool reaches(std::uint32_t socket, const net::Address& destination) const {
    const Table& t = tables_[socket];
    if (!t.exit_node) return true;
    const auto* e = t.map.find(destination);
    return e != nullptr && e->value.reached;
  }

  // Whether, and in words why: "169.254.0.0/16 is Link Local (RFC 3927), not globally reachable".
  net::Reachability explain(std::uint32_t socket, const net::Address& destination) const;
  // What the socket reaches, in a line, for the doctor and the portal:
  // "the internet, and 10.0.0.0/8; not 203.0.113.0/24, the overlay, or the connector's 4 addresses".
  std::string summary(std::uint32_t socket) const;
  const std::vector<net::Address>& own() const { return own_; }

 private:
  struct Table {
    bool exit_node = false;
    net::PrefixMap<net::Reachability> map;
    std::string summary;
  };
  std::vector<Table> tables_;
  std::vector<net::Address> own_;
};

}  // namespace waygate::policy
