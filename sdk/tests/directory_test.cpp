// The directory: identities, sockets and policies read from TOML, checked whole, and pool
// addresses that stay with their identity.
#include <gtest/gtest.h>

#include "waygate/config.hpp"
#include "waygate/directory.hpp"
#include "waygate/utc.hpp"

using waygate::Config;
using waygate::ConfigError;
using waygate::Directory;
using waygate::kNoId;
namespace net = waygate::net;

namespace {

constexpr const char* kAlice = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=";
constexpr const char* kBob = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w=";
constexpr const char* kCarol = "m4p1Gxe1ZSeyhf5tUVpXrQISEBiOYrxS0OUISwl7XDc=";

std::shared_ptr<const Directory> load(const std::string& toml, const waygate::Assignments& prev = {}) {
  Config root = Config::parse(toml, "d.toml");
  auto d = Directory::load(root, prev);
  root.complete();
  return d;
}

std::string error_of(const std::string& toml) {
  try {
    load(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

net::Address ip(const char* text) { return *net::parse_address(text); }

std::string identity(const char* name, const char* key, const std::string& extra = "") {
  return std::string("[[identity]]\nname = '") + name + "'\npublic_key = '" + key + "'\n" + extra + "\n";
}

const std::string kPools = "[overlay]\npool4 = '10.64.0.0/29'\npool6 = 'fd64::/120'\n";

TEST(Directory, ReadsIdentitiesSocketsAndPolicies) {
  auto d = load(kPools + identity("alice", kAlice, "email = 'alice@example.com'\ngroups = ['staff']") +
                identity("bob", kBob, "address = ['10.64.0.6', 'fd64::6']") + R"(
[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
connector = "edge-1"
egress = ["198.51.100.1", "2001:db8::1"]
dns = ["10.64.0.1"]
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
[[policy]]
name = "staff-exit"
sockets = ["corporate-exit"]
permissions = ["network"]
groups = ["staff"]
email_domains = ["example.com"]
sources = ["192.0.2.0/24"]
countries = ["DE"]
not_before = "2026-01-01"
not_after = "2026-12-31T18:00:00Z"
hours = "08:00-18:00"
timezone = "Europe/Berlin"
[[policy]]
name = "everyone"
organization_wide = true
identities = ["bob"]
)");
  ASSERT_EQ(d->identities.size(), 2u);
  EXPECT_EQ(d->identities[0].email, "alice@example.com");
  EXPECT_EQ(d->identity_by_key(kBob), 1u);
  EXPECT_EQ(d->identity_by_address(ip("fd64::6")), 1u);
  EXPECT_EQ(d->overlay.connector, (std::vector<net::Address>{ip("10.64.0.1"), ip("fd64::1")}));
  // alice has no static address: the lowest free of each pool (the connector has .1).
  EXPECT_EQ(d->identities[0].addresses, (std::vector<net::Address>{ip("10.64.0.2"), ip("fd64::2")}));
  ASSERT_EQ(d->sockets.size(), 2u);
  EXPECT_EQ(d->sockets[0].routes.size(), 2u);
  EXPECT_EQ(d->sockets[0].routes[0].to_string(), "0.0.0.0/0");
  EXPECT_EQ(d->sockets[1].routes[0].to_string(), "192.168.10.0/24");
  EXPECT_EQ(d->socket_by_name("lab"), 1u);
  ASSERT_EQ(d->policies.size(), 2u);
  const auto& p = d->policies[0];
  EXPECT_TRUE(p.grants("network"));
  EXPECT_TRUE(p.applies_to(0));
  EXPECT_FALSE(p.applies_to(1));
  EXPECT_TRUE(d->policies[1].applies_to(1));
  EXPECT_FALSE(d->policies[1].grants("network"));
  ASSERT_TRUE(p.conditions.daily);
  EXPECT_EQ(p.conditions.daily->begin, std::chrono::hours(8));
  EXPECT_EQ(p.conditions.daily->zone, "Europe/Berlin");
  EXPECT_EQ(*p.conditions.not_before, std::chrono::sys_days{std::chrono::year{2026} / 1 / 1});
  EXPECT_EQ(d->policies[1].conditions.identities, std::vector<std::uint32_t>{1});
}

TEST(Directory, PoolAddressesStayWithTheirIdentity) {
  auto first = load(kPools + identity("bob", kBob) + identity("carol", kCarol));
  EXPECT_EQ(first->identities[1].addresses[0], ip("10.64.0.3"));
  // alice is new and listed first, bob leaves: carol keeps .3, and alice does not take bob's old
  // address before the lowest free one.
  auto second = load(kPools + identity("alice", kAlice) + identity("carol", kCarol), first->assigned);
  EXPECT_EQ(second->identities[1].addresses[0], ip("10.64.0.3"));
  EXPECT_EQ(second->identities[0].addresses[0], ip("10.64.0.2"));
  EXPECT_EQ(second->assigned.count(kBob), 0u);
  // A recorded address that is now someone's static address goes to the static owner.
  auto third = load(kPools + identity("alice", kAlice, "address = ['10.64.0.3']") +
                        identity("carol", kCarol),
                    second->assigned);
  EXPECT_EQ(third->identities[0].addresses[0], ip("10.64.0.3"));
  EXPECT_EQ(third->identities[1].addresses[0], ip("10.64.0.2"));
}

TEST(Directory, EmptyFileIsAnEmptyDirectory) {
  auto d = load("");
  EXPECT_TRUE(d->identities.empty());
  EXPECT_EQ(d->identity_by_name("x"), kNoId);
}

// Taking the last member out of a group is how access is revoked: the policy loads, grants nobody
// through that group, and says so where an operator looks, located like an error.
TEST(Directory, AGroupNobodyIsInIsAWarningNotAnError) {
  const std::string ids = kPools + identity("alice", kAlice, "groups = ['staff']");
  auto d = load(ids + "[[policy]]\nname = 'p'\norganization_wide = true\ngroups = ['ops', 'staff']\n");
  ASSERT_EQ(d->policies.size(), 1u);
  ASSERT_EQ(d->warnings.size(), 1u);
  EXPECT_EQ(d->warnings[0],
            "d.toml:11:1: policy 'p': key 'groups': no identity is in a group 'ops': the policy grants "
            "nobody through it");
  // A name a letter away from a group that has members is probably a typo: the warning says so.
  auto typo = load(ids + "[[policy]]\nname = 'p'\norganization_wide = true\ngroups = ['staf']\n");
  ASSERT_EQ(typo->warnings.size(), 1u);
  EXPECT_NE(typo->warnings[0].find("(did you mean 'staff'?)"), std::string::npos);
  EXPECT_TRUE(load(ids + "[[policy]]\nname = 'p'\norganization_wide = true\ngroups = ['staff']\n")
                  ->warnings.empty());
}

TEST(Directory, ErrorsNameFileLineAndKey) {
  const std::string ids = kPools + identity("alice", kAlice, "groups = ['staff']");
  EXPECT_EQ(error_of(ids + "[[policy]]\nname = 'p'\nsockets = ['nowhere']\n"),
            "d.toml:10:1: policy 'p': key 'sockets': no socket is named 'nowhere'");
  EXPECT_NE(error_of(ids + "[[policy]]\nname = 'p'\norganization_wide = true\nidentities = ['zed']\n")
                .find("key 'identities': no identity is named 'zed'"),
            std::string::npos);
  EXPECT_NE(error_of(ids + "[[policy]]\nname = 'p'\n").find("either linked to sockets or organization_wide"),
            std::string::npos);
  EXPECT_NE(error_of(ids + identity("bob", kAlice)).find("key 'public_key': the key of identity 'alice' as well"),
            std::string::npos);
  EXPECT_NE(error_of(ids + identity("bob", kBob, "address = ['10.64.0.1']"))
                .find("10.64.0.1 is already the address of the connector"),
            std::string::npos);
  EXPECT_NE(error_of(ids + identity("bob", kBob, "address = ['10.64.0.5']") +
                     identity("carol", kCarol, "address = ['10.64.0.5']"))
                .find("10.64.0.5 is already the address of identity 'bob'"),
            std::string::npos);
  EXPECT_NE(error_of(identity("bob", "not-a-key")).find("not a WireGuard public key"), std::string::npos);
  // /30: .1 the connector, .2 alice, nothing left for bob.
  EXPECT_NE(error_of("[overlay]\npool4 = '10.64.0.0/30'\n" + identity("alice", kAlice) + identity("bob", kBob))
                .find("identity 'bob': the pool 10.64.0.0/30 has no free address left for it"),
            std::string::npos);
  const std::string socket = "[[socket]]\nname = 's'\ntype = 'exit_node'\n";
  auto policy = [&](const std::string& keys) {
    return error_of(ids + socket + "[[policy]]\nname = 'p'\nsockets = ['s']\n" + keys);
  };
  EXPECT_NE(policy("hours = '18:00'\n").find("key 'hours': '18:00' is not a daily window"), std::string::npos);
  EXPECT_NE(policy("hours = '25:00-26:00'\n").find("is not a daily window"), std::string::npos);
  EXPECT_NE(policy("hours = '08:00-18:00'\ntimezone = 'Mars/Olympus'\n").find("unknown time zone 'Mars/Olympus'"),
            std::string::npos);
  EXPECT_NE(policy("timezone = 'UTC'\n").find("a time zone needs 'hours'"), std::string::npos);
  EXPECT_NE(policy("sources = ['10.0.0.0/33']\n").find("key 'sources': '10.0.0.0/33' is not a prefix"),
            std::string::npos);
  EXPECT_NE(policy("not_before = 'soon'\n").find("'soon' is not a date"), std::string::npos);
  EXPECT_NE(policy("permissions = ['ssh']\n").find("'ssh' is not a permission"), std::string::npos);
  EXPECT_NE(policy("countries = ['germany']\n").find("two-letter country code"), std::string::npos);
  EXPECT_NE(policy("colour = 'red'\n").find("key 'colour': unknown key"), std::string::npos);
  EXPECT_NE(error_of(socket + "routes = ['10.0.0.0/8']\n").find("an exit node's routes are 0.0.0.0/0 and ::/0"),
            std::string::npos);
  EXPECT_NE(error_of("[[socket]]\nname = 's'\ntype = 'subnet_router'\n").find("serves at least one prefix"),
            std::string::npos);
  EXPECT_NE(error_of(socket + socket).find("socket 's' is defined twice"), std::string::npos);
}

// One connector or several run a socket; `connector` is the one-connector spelling of `connectors`.
TEST(Directory, ASocketRunsOnOneConnectorOrSeveral) {
  const std::string socket = "[[socket]]\nname = 's'\ntype = 'exit_node'\n";
  EXPECT_EQ(load(socket + "connector = 'c1'\n")->sockets[0].connectors, std::vector<std::string>{"c1"});
  EXPECT_EQ(load(socket + "connectors = ['c1', 'c2']\n")->sockets[0].connectors, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_TRUE(load(socket)->sockets[0].connectors.empty());
  EXPECT_NE(error_of(socket + "connector = 'c1'\nconnectors = ['c2']\n").find("key 'connectors': give either"), std::string::npos);
  EXPECT_NE(error_of(socket + "connectors = ['c1', 'c1']\n").find("connector 'c1' is listed twice"), std::string::npos);
}

// The NAT's ports on a socket's egress addresses: one key the nat stage and the egress edge both
// read, parsed here once.
TEST(Directory, EgressPortsAreTheSocketsOwn) {
  auto d = load(R"(
[[socket]]
name = "a"
type = "exit_node"
egress = ["198.51.100.1"]
egress_ports = "40000-40999"
[[socket]]
name = "b"
type = "exit_node"
egress = ["198.51.100.2", "2001:db8::2"]
[[socket]]
name = "c"
type = "exit_node"
egress = ["198.51.100.3"]
egress_ports = "1-65535"
[[socket]]
name = "d"
type = "exit_node"
egress = ["198.51.100.4"]
egress_ports = "7-7"
)");
  ASSERT_EQ(d->sockets.size(), 4u);
  EXPECT_EQ(d->sockets[0].egress_ports, (waygate::PortRange{40000, 40999}));
  EXPECT_EQ(d->sockets[0].egress_ports.size(), 1000u);
  EXPECT_EQ(d->sockets[1].egress_ports, (waygate::PortRange{20000, 49999})) << "the default";
  EXPECT_EQ(d->sockets[2].egress_ports, (waygate::PortRange{1, 65535}));
  EXPECT_EQ(d->sockets[2].egress_ports.size(), 65535u);
  EXPECT_EQ(d->sockets[3].egress_ports.size(), 1u);
  EXPECT_EQ(waygate::to_string(d->sockets[0].egress_ports), "40000-40999");
}

TEST(Directory, EgressPortsAreParsedStrictly) {
  auto ports = [](const std::string& value) {
    return error_of("[[socket]]\nname = 'x'\ntype = 'exit_node'\negress = ['198.51.100.1']\negress_ports = " +
                    value + "\n");
  };
  EXPECT_EQ(ports("'9-3'"), "d.toml:5:1: socket 'x': key 'egress_ports': '9-3' is not a port range \"FIRST-LAST\" "
                            "with 1 <= FIRST <= LAST <= 65535, such as \"40000-49999\"");
  for (const char* bad : {"'0-10'", "'1-65536'", "'40000'", "'40000-'", "'-40000'", "'40000 - 40999'",
                          "' 40000-40999'", "'40000-40999 '", "'+1-2'", "'1-2-3'", "'40000:40999'",
                          "'99999999999-1'", "''"})
    EXPECT_NE(ports(bad).find("key 'egress_ports': "), std::string::npos) << bad;
  EXPECT_NE(ports("40000").find("key 'egress_ports': expected a string, got an integer"), std::string::npos);
  // Ports on no address: a socket without egress cannot have them.
  EXPECT_EQ(error_of("[[socket]]\nname = 'lab'\ntype = 'subnet_router'\nroutes = ['192.168.10.0/24']\n"
                     "egress_ports = '40000-40999'\n"),
            "d.toml:5:1: socket 'lab': key 'egress_ports': only with egress addresses: these are the NAT's "
            "ports on them, and the socket has none");
}

TEST(Prefix, ParsesMasksAndContains) {
  // Strict: bits beyond the length are refused by parse(), cleared by masked().
  EXPECT_FALSE(net::Prefix::parse("10.1.2.3/8"));
  EXPECT_FALSE(net::Prefix::parse("fd64::1/64"));
  auto p = net::Prefix::masked("10.1.2.3/8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "10.0.0.0/8");
  EXPECT_TRUE(p->contains(ip("10.200.0.1")));
  EXPECT_FALSE(p->contains(ip("11.0.0.1")));
  EXPECT_FALSE(p->contains(ip("::a00:1")));
  EXPECT_EQ(net::Prefix::parse("fd00::1")->bits, 128);
  EXPECT_TRUE(net::Prefix::parse("::/0")->contains(ip("2001:db8::1")));
  EXPECT_TRUE(net::Prefix::parse("fd64::/119")->contains(ip("fd64::1ff")));
  EXPECT_FALSE(net::Prefix::parse("fd64::/119")->contains(ip("fd64::200")));
  EXPECT_TRUE(net::Prefix::parse("10.0.0.0/8")->covers(*net::Prefix::parse("10.1.0.0/16")));
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/x", "::/129", "host/8", ""})
    EXPECT_FALSE(net::Prefix::parse(bad)) << bad;
}

}  // namespace

namespace {

// Strict, digit by digit: fuzz_directory once drove a general date parser into undefined
// behaviour with "2026-12-31T18:00:" (corpus: regression-truncated-time.toml).
TEST(Utc, ParsesStrictlyAndFormatsBack) {
  using namespace std::chrono;
  EXPECT_EQ(waygate::parse_utc("2026-01-31"), waygate::UtcTime{sys_days{year{2026} / 1 / 31}});
  auto t = waygate::parse_utc("2026-01-31T08:09:10.123Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(waygate::format_utc(*t, true), "2026-01-31T08:09:10.123Z");
  EXPECT_EQ(waygate::format_utc(*t), "2026-01-31T08:09:10Z");
  for (const char* bad : {"2026-12-31T18:00:", "2026-02-30", "2026-01-31T24:00:00Z", "2026-1-31", "2026-01-31T08:00:00",
                          "2026-01-31T08:00:00.1Z", "nan", "", "2026-01-31T08:00:0xZ"})
    EXPECT_FALSE(waygate::parse_utc(bad)) << bad;
  EXPECT_NE(error_of("[[socket]]\nname = 's'\ntype = 'exit_node'\n[[policy]]\nname = 'p'\nsockets = ['s']\n"
                     "not_after = '2026-12-31T18:00:'\n").find("is not a date"),
            std::string::npos);
}

}  // namespace

// The workers' shares of a range: runs that cover it exactly, each port's share_of() naming the
// run it is in; more workers than ports leaves some shares empty.
TEST(PortRange, SharesCoverTheRangeAndShareOfNamesEachPortsRun) {
  for (waygate::PortRange r : {waygate::PortRange{40000, 49999}, waygate::PortRange{1000, 1006}, waygate::PortRange{0, 65535}})
    for (unsigned n : {1u, 2u, 3u, 7u, 64u}) {
      std::uint32_t covered = 0;
      for (unsigned k = 0; k < n; ++k) {
        const waygate::PortRange s = r.share(k, n);
        if (s.last < s.first) continue;  // empty: n > the range's size
        EXPECT_EQ(s.first, r.first + covered) << k << " of " << n;
        covered += s.size();
        for (std::uint32_t p = s.first; p <= s.last; ++p) ASSERT_EQ(r.share_of(static_cast<std::uint16_t>(p), n), k);
      }
      EXPECT_EQ(covered, r.size()) << n;
    }
  EXPECT_EQ(waygate::PortRange({40000, 49999}).share(1, 2), (waygate::PortRange{45000, 49999}));
}
