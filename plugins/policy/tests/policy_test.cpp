// The policy stage through the rig: verdicts per identity and socket with each condition holding
// and failing on the fake clock, subnet routes over the default route, what an exit node reaches,
// revocation on reload, the clients' API and the audit log.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "geoip.hpp"
#include "waygate/testing/packets.hpp"
#include "waygate/testing/rig.hpp"
#include "waygate/testing/scratch_folder.hpp"

namespace {

using waygate::Direction;
using waygate::Endpoint;
using waygate::kNoId;
using waygate::Listener;
using waygate::Meta;
using waygate::testing::Rig;
using waygate::testing::RigOptions;
using Bytes = std::vector<std::uint8_t>;
namespace json = boost::json;
namespace net = waygate::net;

constexpr const char* kAlice = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=";
constexpr const char* kBob = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w=";

// A UDP datagram from src to dst (the stage reads only the IP header's version and addresses).
Bytes packet(const std::string& src, const std::string& dst) { return waygate::testing::udp(src, 40000, dst, 53); }

Endpoint udp_endpoint(const char* address, std::uint16_t port) {
  Endpoint e;
  e.addr.v4.sin_family = AF_INET;
  e.addr.v4.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &e.addr.v4.sin_addr);
  e.len = sizeof e.addr.v4;
  return e;
}

Meta from(std::uint32_t identity) {
  Meta m;
  m.identity = identity;
  return m;
}

const std::string kIdentities = std::string(R"(
[overlay]
pool4 = "10.64.0.0/24"
pool6 = "fd64::/64"
[[identity]]
name = "alice"
email = "alice@example.com"
public_key = ")") + kAlice + R"("
groups = ["staff"]
[[identity]]
name = "bob"
email = "bob@partner.org"
public_key = ")" + kBob + R"("
[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
connector = "edge-1"
dns = ["10.64.0.1"]
allow = ["198.51.100.0/24"]  # the tests' outside hosts: documentation addresses, not the internet
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
)";

std::unique_ptr<Rig> rig(const std::string& policies, const std::string& keys = "") {
  RigOptions o;
  o.directory = kIdentities + policies;
  return Rig::load(WAYGATE_POLICY_PLUGIN, keys, o);
}

const std::string kStaffExit = R"(
[[policy]]
name = "staff-exit"
sockets = ["corporate-exit"]
permissions = ["network"]
groups = ["staff"]
)";

// Pushes one outbound packet from the identity to dst; true if it passed (and then checks the
// socket it was bound to).
bool passes(Rig& r, std::uint32_t identity, const std::string& dst, std::uint32_t socket = 0,
            const Endpoint& at = udp_endpoint("192.0.2.7", 40000)) {
  const bool v6 = dst.find(':') != std::string::npos;
  r.push(Direction::outbound, packet(v6 ? (identity == 0 ? "fd64::2" : "fd64::3") : (identity == 0 ? "10.64.0.2" : "10.64.0.3"), dst),
         from(identity), at);
  auto out = r.take(Direction::outbound);
  if (out.empty()) return false;
  EXPECT_EQ(out[0].meta.socket, socket);
  EXPECT_EQ(out[0].meta.identity, identity);
  return true;
}

TEST(Policy, PermittedIdentityIsBoundToTheExitNode) {
  auto r = rig(kStaffExit);
  r->start();
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
  EXPECT_FALSE(passes(*r, 1, "198.51.100.10"));  // bob: no policy grants him anything
  EXPECT_EQ(r->drops("no_exit_node"), 1u);
}

// An exit node hands out the internet: not the connector's networks, its cloud's metadata service,
// the connector itself or other clients. Each such packet is a drop counted for the socket and the
// identity, and the packet path asks one table, whatever the destination.
TEST(Policy, AnExitNodeReachesTheInternetAndNotTheConnectorsNetworks) {
  auto r = rig(kStaffExit);
  r->start();
  for (const char* global : {"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"})
    EXPECT_TRUE(passes(*r, 0, global)) << global;
  EXPECT_TRUE(passes(*r, 0, "10.64.0.1"));  // the socket's DNS server, though in the overlay
  const char* kept_out[] = {"169.254.169.254", "10.0.0.5", "172.16.3.4", "192.168.1.1", "100.64.0.9",
                            "127.0.0.1", "10.64.0.3", "224.0.0.251", "255.255.255.255", "203.0.113.5",
                            "fd00:ec2::254", "fe80::1", "fd64::3", "::1", "ff02::1", "::ffff:169.254.169.254",
                            "64:ff9b::a9fe:a9fe", "2001:db8::1"};
  for (const char* local : kept_out) EXPECT_FALSE(passes(*r, 0, local)) << local;
  const auto n = static_cast<std::int64_t>(std::size(kept_out));
  EXPECT_EQ(r->drops("not_internet"), static_cast<std::uint64_t>(n));
  EXPECT_EQ(r->counter("socket_drops_total", {{"socket", "corporate-exit"}, {"reason", "not_internet"}}), n);
  EXPECT_EQ(r->counter("identity_drops_total", {{"identity", "alice"}, {"reason", "not_internet"}}), n);
  // Answers from outside are not filtered: the destination check is on what a client sends.
  Meta back = from(0);
  back.socket = 0;
  r->push(Direction::inbound, packet("10.0.0.5", "10.64.0.2"), back);
  EXPECT_EQ(r->take(Direction::inbound).size(), 1u);
}

// allow widens an exit node (a corporate network), deny narrows it; the most specific prefix
// decides, so the overlay and the connector's own addresses stay out of a wide allow.
TEST(Policy, AllowAndDenyWidenAndNarrowAnExitNode) {
  const std::string widened = R"(
[overlay]
pool4 = "10.64.0.0/24"
[[identity]]
name = "alice"
public_key = ")" + std::string(kAlice) + R"("
groups = ["staff"]
[[socket]]
name = "corporate-exit"
type = "exit_node"
allow = ["10.0.0.0/8", "10.64.0.9/32"]
deny = ["10.9.0.0/16", "8.8.8.0/24"]
)" + kStaffExit;
  RigOptions o;
  o.directory = widened;
  auto r = Rig::load(WAYGATE_POLICY_PLUGIN, "", o);
  r->start();
  EXPECT_TRUE(passes(*r, 0, "10.1.2.3"));
  EXPECT_TRUE(passes(*r, 0, "10.64.0.9"));   // one client, named on purpose
  EXPECT_TRUE(passes(*r, 0, "8.8.4.4"));
  EXPECT_FALSE(passes(*r, 0, "10.64.0.3"));  // the rest of the overlay
  EXPECT_FALSE(passes(*r, 0, "10.9.1.1"));
  EXPECT_FALSE(passes(*r, 0, "8.8.8.8"));
  EXPECT_FALSE(passes(*r, 0, "192.168.1.1"));
  EXPECT_FALSE(passes(*r, 0, "127.0.0.1"));  // the connector itself: a /32 inside no allow
  EXPECT_EQ(r->drops("not_internet"), 5u);
  // Why, for the access graph on the admin API.
  auto why = [&](const std::string& to) {
    auto answer = r->request(Listener::admin, "GET", "/v1/access-graph?socket=corporate-exit&to=" + to);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return json::parse(answer.body).as_object();
  };
  EXPECT_EQ(why("10.9.1.1").at("reach"), "denied by socket 'corporate-exit': deny 10.9.0.0/16");
  EXPECT_EQ(why("10.1.2.3").at("reach"), "allowed by socket 'corporate-exit': allow 10.0.0.0/8");
  EXPECT_EQ(why("10.64.0.3").at("reached"), false);
  EXPECT_EQ(why("169.254.169.254").at("reach"), "169.254.0.0/16 is Link Local (RFC 3927), not globally reachable");
  EXPECT_EQ(r->request(Listener::admin, "GET", "/v1/access-graph?socket=corporate-exit&to=nowhere").status, 400);
  // The socket's card: what it reaches, in a line.
  auto sockets = json::parse(r->request(Listener::admin, "GET", "/v1/sockets").body);
  EXPECT_EQ(sockets.at("sockets").at(0).at("reaches").as_string().find(
                "the internet, and 10.0.0.0/8, 10.64.0.9/32; not 10.9.0.0/16, 8.8.8.0/24, the overlay (10.64.0.0/24)"),
            0u);
}

TEST(Policy, NobodyWithoutAPolicy) {
  auto r = rig("");
  r->start();
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
  EXPECT_FALSE(passes(*r, 0, "192.168.10.5"));
  EXPECT_EQ(r->drops("no_exit_node"), 1u);
  EXPECT_EQ(r->drops("denied"), 1u);
  r->push(Direction::outbound, packet("10.64.0.2", "198.51.100.10"), Meta{});
  EXPECT_EQ(r->drops("no_identity"), 1u);
}

TEST(Policy, OrganizationWidePolicyAppliesToEverySocket) {
  auto r = rig(R"(
[[policy]]
name = "everyone"
organization_wide = true
permissions = ["network"]
)");
  r->start();
  EXPECT_TRUE(passes(*r, 1, "198.51.100.10", 0));
  EXPECT_TRUE(passes(*r, 1, "192.168.10.5", 1));
}

TEST(Policy, PermissionWithoutNetworkGrantsNothing) {
  auto r = rig(R"(
[[policy]]
name = "no-network"
sockets = ["corporate-exit"]
groups = ["staff"]
)");
  r->start();
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
}

TEST(Policy, WhoByIdentityGroupAndEmailDomain) {
  for (const char* who : {"identities = [\"bob\"]", "email_domains = [\"partner.org\"]"}) {
    auto r = rig(std::string("[[policy]]\nname = 'p'\nsockets = ['corporate-exit']\npermissions = ['network']\n") + who);
    r->start();
    EXPECT_TRUE(passes(*r, 1, "198.51.100.10")) << who;
    EXPECT_FALSE(passes(*r, 0, "198.51.100.10")) << who;
  }
}

TEST(Policy, WhereTheClientConnectsFrom) {
  auto r = rig(kStaffExit + "sources = [\"192.0.2.0/24\"]\n");
  r->start();
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("192.0.2.7", 40000)));
  // Roaming to another network re-evaluates at once.
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("203.0.113.9", 40000)));
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("192.0.2.8", 1234)));
}

TEST(Policy, NotBeforeAndNotAfterOnTheFakeClock) {
  // The rig's calendar starts at 2026-01-01 00:00 UTC.
  auto r = rig(kStaffExit + "not_before = \"2026-01-01T00:10:00Z\"\nnot_after = \"2026-01-01T01:00:00Z\"\n");
  r->start();
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
  r->advance(std::chrono::minutes(10));
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
  r->advance(std::chrono::minutes(50));
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
}

TEST(Policy, DailyWindowInItsTimeZone) {
  // 09:00-17:00 in Tokyo (UTC+9) is 00:00-08:00 UTC: open at the rig's start, closed at 08:00 UTC.
  auto r = rig(kStaffExit + "hours = \"09:00-17:00\"\ntimezone = \"Asia/Tokyo\"\n");
  r->start();
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
  r->advance(std::chrono::hours(7) + std::chrono::minutes(59));
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
  r->advance(std::chrono::minutes(1));
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
  // Denied: the lab at first sight, then the exit node when the window closed (the timer's doing:
  // the packet path evaluates nothing).
  EXPECT_EQ(r->counter("decisions_total", {{"verdict", "denied"}}), 2);
  r->advance(std::chrono::hours(16));
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
}

TEST(Policy, SubnetRouteBeatsTheDefaultRoute) {
  auto r = rig(kStaffExit + R"(
[[policy]]
name = "lab-staff"
sockets = ["lab"]
permissions = ["network"]
identities = ["alice"]
[[policy]]
name = "bob-exit"
sockets = ["corporate-exit"]
permissions = ["network"]
identities = ["bob"]
)");
  r->start();
  EXPECT_TRUE(passes(*r, 0, "192.168.10.5", 1));
  EXPECT_TRUE(passes(*r, 0, "198.51.100.11", 0));
  // Beside the lab, a private network it does not route is not the exit node's to hand out.
  EXPECT_FALSE(passes(*r, 0, "192.168.11.5"));
  EXPECT_EQ(r->drops("not_internet"), 1u);
  // bob may use the exit node but not the lab: the lab's prefix is never reached through the exit.
  EXPECT_FALSE(passes(*r, 1, "192.168.10.5"));
  EXPECT_EQ(r->drops("denied"), 1u);
}

TEST(Policy, ReloadRevokingPermissionCutsAnEstablishedFlowBothWays) {
  auto r = rig(kStaffExit);
  r->start();
  ASSERT_TRUE(passes(*r, 0, "198.51.100.10"));
  Meta back = from(0);
  back.socket = 0;
  r->push(Direction::inbound, packet("198.51.100.10", "10.64.0.2"), back);
  ASSERT_EQ(r->take(Direction::inbound).size(), 1u);
  // An inbound packet with no identity is matched by its overlay destination.
  r->push(Direction::inbound, packet("198.51.100.10", "10.64.0.2"), Meta{});
  ASSERT_EQ(r->take(Direction::inbound).size(), 1u);

  r->reconfigure("", kIdentities);  // the policy is gone
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
  r->push(Direction::inbound, packet("198.51.100.10", "10.64.0.2"), back);
  EXPECT_TRUE(r->take(Direction::inbound).empty());
  EXPECT_EQ(r->drops("denied"), 1u);
  // ... and the clients' API stops offering it.
  auto answer = json::parse(r->request(Listener::tunnel, "GET", "/v1/routes", *net::parse_address("10.64.0.2")).body);
  EXPECT_TRUE(answer.at("exit_nodes").as_array().empty());
  EXPECT_TRUE(answer.at("routes").as_array().empty());

  r->reconfigure("", kIdentities + kStaffExit);
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
}

TEST(Policy, ClientsApiTellsEachIdentityOnlyWhatItMayUse) {
  auto r = rig(kStaffExit);
  r->start();
  auto alice = *net::parse_address("10.64.0.2"), bob = *net::parse_address("10.64.0.3");
  auto routes = [&](const net::Address& who) {
    auto res = r->request(Listener::tunnel, "GET", "/v1/routes", who);
    EXPECT_EQ(res.status, 200u) << res.body;
    return json::parse(res.body);
  };
  auto a = routes(alice);
  EXPECT_EQ(a.at("identity"), "alice");
  ASSERT_EQ(a.at("exit_nodes").as_array().size(), 1u);
  EXPECT_EQ(a.at("exit_nodes").at(0).at("name"), "corporate-exit");
  EXPECT_EQ(a.at("exit_nodes").at(0).at("description"), "Exit node for all corporate traffic");
  EXPECT_EQ(a.at("exit_node"), "corporate-exit");  // automatic: the first it may use
  std::vector<std::string> prefixes;
  for (auto& x : a.at("routes").as_array()) prefixes.emplace_back(x.at("prefix").as_string());
  EXPECT_EQ(prefixes, (std::vector<std::string>{"0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"}));
  EXPECT_EQ(a.at("dns"), json::parse(R"(["10.64.0.1"])"));

  auto b = routes(bob);
  EXPECT_TRUE(b.at("exit_nodes").as_array().empty());
  EXPECT_TRUE(b.at("exit_node").is_null());
  EXPECT_TRUE(b.at("routes").as_array().empty());
  // Selecting an exit node it may not use reads like one that does not exist.
  EXPECT_EQ(r->request(Listener::tunnel, "PUT", "/v1/exit-node", bob, R"({"name":"corporate-exit"})").status, 404u);
  EXPECT_EQ(r->request(Listener::tunnel, "PUT", "/v1/exit-node", bob, R"({"name":"nowhere"})").status, 404u);
  EXPECT_EQ(r->request(Listener::tunnel, "PUT", "/v1/exit-node", alice, "not json").status, 400u);
  EXPECT_EQ(r->request(Listener::tunnel, "GET", "/v1/routes", *net::parse_address("10.64.0.99")).status, 403u);

  // Off: alice's traffic has no exit until she selects it again.
  EXPECT_EQ(r->request(Listener::tunnel, "DELETE", "/v1/exit-node", alice).status, 200u);
  EXPECT_TRUE(routes(alice).at("exit_node").is_null());
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10"));
  EXPECT_EQ(r->request(Listener::tunnel, "PUT", "/v1/exit-node", alice, R"({"name":"corporate-exit"})").status, 200u);
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10"));
  EXPECT_EQ(routes(alice).at("exit_node"), "corporate-exit");
}

TEST(Policy, AccessGraphOnTheAdminApi) {
  auto r = rig(kStaffExit);
  r->start();
  auto g = json::parse(r->request(Listener::admin, "GET", "/v1/access-graph").body);
  ASSERT_EQ(g.at("edges").as_array().size(), 1u);
  EXPECT_EQ(g.at("edges").at(0).at("identity"), "alice");
  EXPECT_EQ(g.at("edges").at(0).at("socket"), "corporate-exit");
  auto why = json::parse(
      r->request(Listener::admin, "GET", "/v1/access-graph?identity=bob&socket=corporate-exit").body);
  EXPECT_EQ(why.at("granted"), false);
  EXPECT_EQ(why.at("reason"), "denied: staff-exit: who: 'bob' is not group staff");
  EXPECT_EQ(r->request(Listener::admin, "GET", "/v1/access-graph?identity=zed&socket=lab").status, 404u);
  // Not on the tunnel listener.
  EXPECT_EQ(r->request(Listener::tunnel, "GET", "/v1/access-graph").status, 404u);
}

// An audit log in a folder of the test's own: the stage's key for it, and its lines.
struct AuditLog : waygate::testing::ScratchFolder {
  AuditLog() : ScratchFolder("policy-audit") {}
  std::string key() const { return "audit_log = \"" + file("audit.log") + "\""; }
  std::vector<json::value> lines() const {
    std::ifstream in(file("audit.log"));
    std::vector<json::value> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }
};

TEST(Policy, AuditLogHasOneLinePerDecisionThatChanges) {
  AuditLog log;
  auto r = rig(kStaffExit, log.key());
  r->start();
  passes(*r, 0, "198.51.100.10");
  passes(*r, 0, "198.51.100.11");  // same decision: no line
  r->reconfigure(log.key(), kIdentities);
  r->poll();
  const auto lines = log.lines();
  // Per socket: alice granted corporate-exit, denied lab; then revoked from corporate-exit.
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("event"), "granted");
  EXPECT_EQ(lines[0].at("identity"), "alice");
  EXPECT_EQ(lines[0].at("socket"), "corporate-exit");
  EXPECT_EQ(lines[0].at("endpoint"), "192.0.2.7:40000");
  EXPECT_EQ(lines[0].at("reason"), "granted by staff-exit");
  EXPECT_EQ(lines[0].at("time"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(lines[1].at("socket"), "lab");
  EXPECT_EQ(lines[1].at("event"), "denied");
  EXPECT_EQ(lines[2].at("event"), "denied");
  EXPECT_EQ(lines[2].at("reason"), "denied: no policy is linked to socket 'corporate-exit'");
  EXPECT_EQ(r->counter("audit_lines_total"), 3);
}

TEST(Policy, CountryFromTheGeoIpDatabase) {
  // The test database: 192.0.2.0/24 DE, 198.51.100.0/24 US, 2001:db8:1::/48 FR.
  waygate::policy::GeoIp db(WAYGATE_TEST_MMDB);
  EXPECT_EQ(db.country(*net::parse_address("192.0.2.200")), "DE");
  EXPECT_EQ(db.country(*net::parse_address("198.51.100.1")), "US");
  EXPECT_EQ(db.country(*net::parse_address("2001:db8:1::5")), "FR");
  EXPECT_EQ(db.country(*net::parse_address("203.0.113.1")), "");

  auto r = rig(kStaffExit + "countries = [\"DE\", \"FR\"]\n", "geoip = \"" WAYGATE_TEST_MMDB "\"");
  r->start();
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("192.0.2.7", 40000)));
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("198.51.100.9", 40000)));
  EXPECT_FALSE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("203.0.113.9", 40000)));  // unknown
  EXPECT_TRUE(passes(*r, 0, "198.51.100.10", 0, udp_endpoint("192.0.2.8", 40000)));
}

TEST(Policy, CountryConditionNeedsAGeoIpDatabase) {
  try {
    rig(kStaffExit + "countries = [\"DE\"]\n");
    FAIL() << "accepted";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'geoip': policy 'staff-exit' has a country condition"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(rig(kStaffExit, "geoip = \"/nonexistent.mmdb\""), waygate::ConfigError);
}

}  // namespace

// Two workers ([host] workers = 2): alice's packets reach the second worker only, from an
// endpoint a policy's sources admit; the first worker learns the endpoint by hand-over, so both
// grant her (the first would deny her without it, knowing no endpoint). A choice of exit node is
// made on every worker (the host gathers it). Each change is audited once: the endpoint's by the
// worker that saw it, a reload's by the first worker alone.
TEST(Policy, TwoWorkersShareEndpointsAndAuditEachChangeOnce) {
  AuditLog log;
  RigOptions o;
  o.directory = kIdentities + kStaffExit + "sources = [\"192.0.2.0/24\"]\n";
  const std::string keys = log.key();
  auto w = Rig::load_workers(2, WAYGATE_POLICY_PLUGIN, keys, o);
  for (auto& r : w) r->start();
  EXPECT_FALSE(passes(*w[0], 0, "198.51.100.10", 0, Endpoint{})) << "no endpoint known: no source matches";
  EXPECT_TRUE(passes(*w[1], 0, "198.51.100.10", 0, udp_endpoint("192.0.2.7", 40000)));
  w[0]->poll();  // the hand-over
  EXPECT_TRUE(passes(*w[0], 0, "198.51.100.10", 0, Endpoint{}));

  auto alice = *net::parse_address("10.64.0.2");
  for (auto& r : w)  // as the host's gather does: each worker takes the request
    EXPECT_EQ(r->request(Listener::tunnel, "DELETE", "/v1/exit-node", alice).status, 200u);
  EXPECT_FALSE(passes(*w[1], 0, "198.51.100.10", 0, udp_endpoint("192.0.2.7", 40000)));

  for (auto& r : w) r->reconfigure(keys, kIdentities);  // no policy: revoked on both
  for (auto& r : w) r->poll();
  const auto lines = log.lines();
  // Granted corporate-exit and denied lab (seen by the second worker), then revoked (the first).
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("event"), "granted");
  EXPECT_EQ(lines[1].at("socket"), "lab");
  EXPECT_EQ(lines[2].at("event"), "denied");
  EXPECT_EQ(w[1]->counter("audit_lines_total"), 2);
  EXPECT_EQ(w[0]->counter("audit_lines_total"), 1);
}
