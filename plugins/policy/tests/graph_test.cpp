// The access graph and the "why not" answer, against golden text.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "directory_json.hpp"
#include "graph.hpp"
#include "waygate/config.hpp"

namespace {

using namespace waygate;
using namespace waygate::policy;

const char* kFile = R"(
[[identity]]
name = "alice"
email = "alice@example.com"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
groups = ["staff"]
address = ["10.64.0.2"]
[[identity]]
name = "bob"
email = "bob@partner.org"
public_key = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w="
address = ["10.64.0.3"]
[[socket]]
name = "corporate-exit"
type = "exit_node"
connector = "edge-1"
description = "Exit node for all corporate traffic"
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
[[policy]]
name = "staff-exit"
sockets = ["corporate-exit"]
permissions = ["network"]
groups = ["staff"]
sources = ["192.0.2.0/24"]
hours = "08:00-18:00"
timezone = "Europe/Berlin"
[[policy]]
name = "partners"
organization_wide = true
permissions = ["network"]
email_domains = ["partner.org"]
not_after = "2026-06-30"
)";

std::shared_ptr<const Directory> directory() {
  return Directory::load(Config::parse(kFile, "graph.toml"));
}

TEST(AccessGraph, Text) {
  EXPECT_EQ(graph_text(*directory()),
            "corporate-exit (exit_node on edge-1: Exit node for all corporate traffic)\n"
            "  alice <- staff-exit [from 192.0.2.0/24; 08:00-18:00 Europe/Berlin]\n"
            "  bob <- partners [until 2026-06-30T00:00:00Z]\n"
            "lab (subnet_router)\n"
            "  bob <- partners [until 2026-06-30T00:00:00Z]\n");
}

TEST(AccessGraph, Dot) {
  EXPECT_EQ(graph_dot(*directory()),
            "digraph access {\n"
            "  rankdir=LR;\n"
            "  \"identity:alice\" [shape=ellipse];\n"
            "  \"identity:bob\" [shape=ellipse];\n"
            "  \"policy:staff-exit\" [shape=note];\n"
            "  \"policy:partners\" [shape=note];\n"
            "  \"socket:corporate-exit\" [shape=box];\n"
            "  \"socket:lab\" [shape=box];\n"
            "  \"identity:alice\" -> \"policy:staff-exit\";\n"
            "  \"policy:staff-exit\" -> \"socket:corporate-exit\" [label=\"from 192.0.2.0/24; 08:00-18:00 Europe/Berlin\"];\n"
            "  \"identity:bob\" -> \"policy:partners\";\n"
            "  \"policy:partners\" -> \"socket:corporate-exit\" [label=\"until 2026-06-30T00:00:00Z\"];\n"
            "  \"policy:partners\" -> \"socket:lab\" [label=\"until 2026-06-30T00:00:00Z\"];\n"
            "}\n");
}

TEST(AccessGraph, WhyNotNamesTheFailedCondition) {
  auto d = directory();
  Situation s;
  s.source = *net::parse_address("192.0.2.7");
  s.at = std::chrono::sys_days{std::chrono::year{2026} / 3 / 2} + std::chrono::hours(9);  // 10:00 in Berlin
  EXPECT_EQ(why(*d, 0, 0, s), "alice -> corporate-exit: granted by staff-exit");
  s.at += std::chrono::hours(9);  // 19:00 in Berlin
  EXPECT_EQ(why(*d, 0, 0, s),
            "alice -> corporate-exit: denied: staff-exit: when: outside 08:00-18:00 Europe/Berlin "
            "(it is 19:00 there); partners: who: 'alice' is not email domain partner.org");
  s.at -= std::chrono::hours(9);
  s.source = *net::parse_address("203.0.113.1");
  EXPECT_EQ(why(*d, 0, 0, s),
            "alice -> corporate-exit: denied: staff-exit: where: 203.0.113.1 is not in 192.0.2.0/24; "
            "partners: who: 'alice' is not email domain partner.org");
  EXPECT_EQ(why(*d, 0, 1, s), "alice -> lab: denied: partners: who: 'alice' is not email domain partner.org");
  s.at = std::chrono::sys_days{std::chrono::year{2026} / 7 / 1};
  EXPECT_EQ(why(*d, 1, 1, s), "bob -> lab: denied: partners: when: ended at 2026-06-30T00:00:00Z");
}

TEST(AdminJson, SocketsSayWhatEachIsAndWhichPoliciesApply) {
  Reach reach;
  reach.build(*directory(), {});
  auto v = boost::json::parse(sockets_json(*directory(), reach));
  auto& sockets = v.at("sockets").as_array();
  ASSERT_EQ(sockets.size(), 2u);
  EXPECT_EQ(sockets[0].at("name"), "corporate-exit");
  EXPECT_EQ(sockets[0].at("type"), "exit_node");
  EXPECT_EQ(sockets[0].at("connectors"), boost::json::array{"edge-1"});
  EXPECT_EQ(sockets[0].at("description"), "Exit node for all corporate traffic");
  EXPECT_EQ(boost::json::serialize(sockets[0].at("policies")), R"(["staff-exit","partners"])");
  EXPECT_EQ(boost::json::serialize(sockets[1].at("routes")), R"(["192.168.10.0/24"])");
  EXPECT_EQ(boost::json::serialize(sockets[1].at("policies")), R"(["partners"])");
}

TEST(AdminJson, PoliciesCarryTheirWhoWhereAndWhen) {
  auto v = boost::json::parse(policies_json(*directory()));
  auto& policies = v.at("policies").as_array();
  ASSERT_EQ(policies.size(), 2u);
  auto& staff = policies[0].as_object();
  EXPECT_EQ(staff.at("name"), "staff-exit");
  EXPECT_EQ(boost::json::serialize(staff.at("sockets")), R"(["corporate-exit"])");
  EXPECT_EQ(boost::json::serialize(staff.at("who").at("groups")), R"(["staff"])");
  EXPECT_EQ(boost::json::serialize(staff.at("where").at("sources")), R"(["192.0.2.0/24"])");
  EXPECT_EQ(staff.at("when").at("hours"), "08:00-18:00");
  EXPECT_EQ(staff.at("when").at("timezone"), "Europe/Berlin");
  EXPECT_TRUE(staff.at("when").at("not_after").is_null());
  auto& partners = policies[1].as_object();
  EXPECT_EQ(partners.at("organization_wide"), true);
  EXPECT_EQ(partners.at("when").at("not_after"), "2026-06-30T00:00:00Z");
  EXPECT_EQ(boost::json::serialize(partners.at("who").at("email_domains")), R"(["partner.org"])");
}

}  // namespace
