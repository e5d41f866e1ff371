// What an exit node reaches, with the connector's own addresses given: the precedence of the
// table's rows where they meet, and the words the access graph, doctor and portal show.
#include "reach.hpp"

#include <gtest/gtest.h>

#include "waygate/config.hpp"

namespace {

using namespace waygate;
using namespace waygate::policy;

net::Address ip(const char* text) { return *net::parse_address(text); }

std::shared_ptr<const Directory> directory(const std::string& socket_keys) {
  return Directory::load(Config::parse(R"(
[overlay]
pool4 = "10.64.0.0/24"
pool6 = "fd64::/64"
[[socket]]
name = "exit"
type = "exit_node"
)" + socket_keys + R"(
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
)", "d.toml"));
}

TEST(Reach, TheConnectorsOwnAddressesStayOutOfAWiderAllow) {
  auto d = directory(R"(allow = ["203.0.113.0/24"]
dns = ["203.0.113.53"])");
  Reach reach;
  // The connector's egress address sits inside the allowed network, and it runs the resolver.
  reach.build(*d, {ip("203.0.113.1"), ip("203.0.113.53"), ip("10.0.0.5"), ip("2a01:4f8::1")});
  EXPECT_TRUE(reach.reaches(0, ip("203.0.113.80")));
  EXPECT_FALSE(reach.reaches(0, ip("203.0.113.1")));
  EXPECT_EQ(reach.explain(0, ip("203.0.113.1")).why, "203.0.113.1 is an address of the connector itself");
  EXPECT_FALSE(reach.reaches(0, ip("2a01:4f8::1")));
  EXPECT_TRUE(reach.reaches(0, ip("2a01:4f8::2")));
  // The socket names its DNS server: that one address of the connector is for its clients.
  EXPECT_TRUE(reach.reaches(0, ip("203.0.113.53")));
  EXPECT_EQ(reach.explain(0, ip("203.0.113.53")).why, "203.0.113.53 is a DNS server socket 'exit' hands its clients");
  EXPECT_EQ(reach.explain(0, ip("fd64::9")).why, "fd64::/64 is the overlay: other clients are not reached through an exit node");
  EXPECT_EQ(reach.summary(0),
            "the internet, and 203.0.113.0/24; not the overlay (10.64.0.0/24, fd64::/64), the connector's own 4 addresses");
  // A subnet router reaches exactly its routes (which bind its destinations before this is asked).
  EXPECT_TRUE(reach.reaches(1, ip("192.168.10.9")));
  EXPECT_EQ(reach.summary(1), "its routes");
}

TEST(Reach, TheOperatorsPrefixWinsOverTheSameBuiltInOne) {
  auto d = directory(R"(allow = ["10.64.0.0/24", "169.254.169.254/32"]
deny = ["0.0.0.0/0"])");
  Reach reach;
  reach.build(*d, {ip("10.64.0.1")});
  EXPECT_TRUE(reach.reaches(0, ip("10.64.0.7")));        // client to client, opened on purpose
  EXPECT_FALSE(reach.reaches(0, ip("10.64.0.1")));       // but not the connector
  EXPECT_TRUE(reach.reaches(0, ip("169.254.169.254")));  // a metadata service, opened on purpose
  EXPECT_FALSE(reach.reaches(0, ip("8.8.8.8")));         // the IPv4 internet, closed
  EXPECT_TRUE(reach.reaches(0, ip("2001:4860::1")));
}

TEST(Reach, BadPrefixesAreRefusedWithTheKey) {
  auto error = [](const std::string& keys) {
    try {
      directory(keys);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error(R"(allow = ["10.1.2.3/8"])"),
            "d.toml:8:1: socket 'exit': key 'allow': '10.1.2.3/8' has bits set beyond its length: the prefix is 10.0.0.0/8");
  EXPECT_EQ(error(R"(deny = ["ten"])"),
            "d.toml:8:1: socket 'exit': key 'deny': 'ten' is not a prefix such as 10.0.0.0/8 or fd00::/64");
  EXPECT_EQ(error("allow = [\"10.0.0.0/8\"]\ndeny = [\"10.0.0.0/8\"]"),
            "d.toml:9:1: socket 'exit': key 'deny': 10.0.0.0/8 is both allowed and denied");
  EXPECT_EQ(error("allow = 5"), "d.toml:8:1: socket 'exit': key 'allow': expected an array of strings, got an integer");
  try {
    Directory::load(Config::parse("[[socket]]\nname = 'lab'\ntype = 'subnet_router'\nroutes = ['192.168.10.0/24']\n"
                                  "allow = ['10.0.0.0/8']\n",
                                  "d.toml"));
    ADD_FAILURE() << "a subnet router with allow was accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "d.toml:5:1: socket 'lab': key 'allow': a subnet router reaches exactly its routes: "
                           "allow and deny are an exit node's");
  }
}

}  // namespace
