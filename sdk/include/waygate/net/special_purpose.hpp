// Which destinations are "the internet": IANA's special-purpose address registries, kept here as
// data so that every stage (and every plugin author) reads the same list.
//
// Taken from, as read on 2026-12-03:
//   - IANA IPv4 Special-Purpose Address Registry (iana-ipv4-special-registry), plus 224.0.0.0/4
//     from the IPv4 Multicast Address Space registry;
//   - IANA IPv6 Special-Purpose Address Registry (iana-ipv6-special-registry, updated
//     2025-10-09), plus ff00::/8 and 2000::/3 from the IPv6 Address Space registry.
// `global` is the registry's "Globally Reachable"; where it says N/A (Teredo, 6to4, the
// deprecated 6to4 relay anycast) it is false here: such a destination is a tunnel to somewhere
// the table cannot see.
//
// An IPv4 address is global unless the most specific entry holding it says otherwise; an IPv6
// address must also be in the global unicast space 2000::/3. So 64:ff9b::/96 (NAT64's
// well-known prefix, "globally reachable" in the registry) is not reached: it embeds an IPv4
// address, which would take a client to any IPv4 destination past this list.
#pragma once

#include <string>
#include <vector>

#include "waygate/net/prefix_map.hpp"

namespace waygate::net {

struct SpecialPurpose {
  const char* prefix;
  const char* name;
  const char* rfc;
  bool global;
};

inline constexpr SpecialPurpose kSpecialPurpose[] = {
    {"0.0.0.0/8", "This network", "RFC 791", false},
    {"0.0.0.0/32", "This host on this network", "RFC 1122", false},
    {"10.0.0.0/8", "Private-Use", "RFC 1918", false},
    {"100.64.0.0/10", "Shared Address Space", "RFC 6598", false},
    {"127.0.0.0/8", "Loopback", "RFC 1122", false},
    {"169.254.0.0/16", "Link Local", "RFC 3927", false},
    {"172.16.0.0/12", "Private-Use", "RFC 1918", false},
    {"192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890", false},
    {"192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", false},
    {"192.0.0.8/32", "IPv4 dummy address", "RFC 7600", false},
    {"192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", true},
    {"192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", true},
    {"192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880", false},
    {"192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880", false},
    {"192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", false},
    {"192.31.196.0/24", "AS112-v4", "RFC 7535", true},
    {"192.52.193.0/24", "AMT", "RFC 7450", true},
    {"192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", false},
    {"192.168.0.0/16", "Private-Use", "RFC 1918", false},
    {"192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", true},
    {"198.18.0.0/15", "Benchmarking", "RFC 2544", false},
    {"198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", false},
    {"203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", false},
    {"224.0.0.0/4", "Multicast", "RFC 5771", false},
    {"240.0.0.0/4", "Reserved", "RFC 1112", false},
    {"255.255.255.255/32", "Limited Broadcast", "RFC 8190", false},

    {"::1/128", "Loopback Address", "RFC 4291", false},
    {"::/128", "Unspecified Address", "RFC 4291", false},
    {"::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", false},
    {"64:ff9b::/96", "IPv4-IPv6 Translation", "RFC 6052", true},
    {"64:ff9b:1::/48", "IPv4-IPv6 Translation (local use)", "RFC 8215", false},
    {"100::/64", "Discard-Only Address Block", "RFC 6666", false},
    {"100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", false},
    {"2001::/23", "IETF Protocol Assignments", "RFC 2928", false},
    {"2001::/32", "TEREDO", "RFC 4380", false},
    {"2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", true},
    {"2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", true},
    {"2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", true},
    {"2001:2::/48", "Benchmarking", "RFC 5180", false},
    {"2001:3::/32", "AMT", "RFC 7450", true},
    {"2001:4:112::/48", "AS112-v6", "RFC 7535", true},
    {"2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", false},
    {"2001:20::/28", "ORCHIDv2", "RFC 7343", true},
    {"2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", true},
    {"2001:db8::/32", "Documentation", "RFC 3849", false},
    {"2002::/16", "6to4", "RFC 3056", false},
    {"2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", true},
    {"3fff::/20", "Documentation", "RFC 9637", false},
    {"5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", false},
    {"fc00::/7", "Unique-Local", "RFC 4193", false},
    {"fe80::/10", "Link-Local Unicast", "RFC 4291", false},
    {"ff00::/8", "Multicast", "RFC 4291", false},
};

// Whether a destination is reached, and in words why: a row of "the internet".
struct Reachability {
  bool reached = false;
  std::string why;  // "169.254.0.0/16 is Link Local (RFC 3927), not globally reachable"
};

// The internet as PrefixMap entries, in build order: both families' base, then each registry row.
inline std::vector<PrefixMap<Reachability>::Entry> internet_entries() {
  std::vector<PrefixMap<Reachability>::Entry> out;
  const Prefix unicast6 = *Prefix::parse("2000::/3");
  out.push_back({*Prefix::parse("0.0.0.0/0"), {true, "the IPv4 internet"}});
  out.push_back({*Prefix::parse("::/0"), {false, "outside IPv6's global unicast space (2000::/3, RFC 4291)"}});
  out.push_back({unicast6, {true, "the IPv6 internet (global unicast, 2000::/3)"}});
  for (const SpecialPurpose& s : kSpecialPurpose) {
    const Prefix p = *Prefix::parse(s.prefix);
    const bool reached = s.global && (p.family() == Family::v4 || unicast6.covers(p));
    std::string why = p.to_string() + " is " + s.name + " (" + s.rfc + ")";
    if (s.global && !reached) why += ", outside IPv6's global unicast space 2000::/3";
    else why += reached ? ", globally reachable" : ", not globally reachable";
    out.push_back({p, {reached, std::move(why)}});
  }
  return out;
}

// Whether IANA's registries make `a` a global destination. Builds its table on first use.
inline bool is_global(const Address& a) {
  static const PrefixMap<Reachability> internet(internet_entries());
  const auto* e = internet.find(a);
  return e != nullptr && e->value.reached;
}

}  // namespace waygate::net
