// The shaper's pieces without I/O: rates and amounts as operators write them, the stage's table
// resolved against a directory, and max-min fair levels.
#include <gtest/gtest.h>

#include "fair_share.hpp"
#include "rules.hpp"

namespace waygate::shaper {
namespace {

TEST(ShaperUnits, RatesAreBitsASecondInPowersOfAThousand) {
  EXPECT_DOUBLE_EQ(*parse_rate("20mbit"), 2.5e6);
  EXPECT_DOUBLE_EQ(*parse_rate("1.5Gbit"), 1.875e8);
  EXPECT_DOUBLE_EQ(*parse_rate("800kbit"), 1e5);
  EXPECT_FALSE(parse_rate("20mb"));  // bytes or bits? refused rather than guessed
  EXPECT_FALSE(parse_rate("-1mbit"));
  EXPECT_FALSE(parse_rate("mbit"));
  EXPECT_FALSE(parse_rate("0mbit"));
  EXPECT_EQ(rate_text(2.5e6), "20mbit");
}

TEST(ShaperUnits, AmountsTakeDecimalAndBinaryUnits) {
  EXPECT_EQ(*parse_bytes("10GB"), 10'000'000'000u);
  EXPECT_EQ(*parse_bytes("512MiB"), 512u << 20);
  EXPECT_EQ(*parse_bytes("4096"), 4096u);
  EXPECT_FALSE(parse_bytes("10 parsecs"));
  EXPECT_FALSE(parse_bytes("1e30TB"));
}

TEST(FairShare, NobodyGetsMoreThanItAsksAndTheRestShareEqually) {
  EXPECT_DOUBLE_EQ(fair_level(std::vector<double>{4, 0.8}, 1), 0.5);
  EXPECT_DOUBLE_EQ(fair_level(std::vector<double>{4, 0.2}, 1), 0.8);
  EXPECT_DOUBLE_EQ(fair_level(std::vector<double>{0.1, 0.2, 5, 5}, 1.3), 0.5);
  EXPECT_DOUBLE_EQ(fair_level(std::vector<double>{0.3, 0.2}, 1), 1);  // all fit: the whole rate
  EXPECT_DOUBLE_EQ(fair_level(std::vector<double>{}, 1), 1);
}

const char* kDirectory = R"(
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
groups = ["staff"]
[[identity]]
name = "bob"
public_key = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w="
groups = ["contractors"]
[[socket]]
name = "corporate-exit"
type = "exit_node"
)";

Rules rules(std::string_view stage) {
  auto d = Directory::load(Config::parse(kDirectory, "<dir>"));
  return read_rules(Config::parse(stage, "<stage>"), *d);
}

std::string error(std::string_view stage) {
  try {
    rules(stage);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ShaperRules, EachIdentityDrawsFromItsOwnAndItsGroupsBuckets) {
  Rules r = rules(R"(
[[limit]]
group = "contractors"
down = "10mbit"
[[limit]]
identity = "bob"
down = "5mbit"
up = "1mbit"
[[limit]]
socket = "corporate-exit"
down = "45mbit"
)");
  EXPECT_TRUE(r.draws[0][1].empty());   // alice: nothing of her own
  EXPECT_EQ(r.draws[1][1].size(), 2u);  // bob: his group's and his own
  EXPECT_EQ(r.draws[1][0].size(), 1u);
  EXPECT_DOUBLE_EQ(r.fair_rate[0][1], 45e6 / 8);  // a socket's rate is shared fairly by default
  EXPECT_EQ(r.socket_bucket[0][1], kNone);
}

TEST(ShaperRules, MistakesAreNamed) {
  EXPECT_NE(error("[[limit]]\nidentity = \"carol\"\ndown = \"1mbit\"").find("no identity 'carol'"), std::string::npos);
  EXPECT_NE(error("[[limit]]\nidentity = \"bob\"\ndown = \"1mb\"").find("expected a rate"), std::string::npos);
  EXPECT_NE(error("[[limit]]\nidentity = \"bob\"\ngroup = \"staff\"\ndown = \"1mbit\"").find("exactly one"),
            std::string::npos);
  EXPECT_NE(error("[[limit]]\nidentity = \"bob\"\nfair = true\ndown = \"1mbit\"").find("only a socket"),
            std::string::npos);
  EXPECT_NE(error("[[limit]]\nsocket = \"corporate-exit\"\ndown = \"1mbit\"\n[[limit]]\nsocket = "
                  "\"corporate-exit\"\nup = \"1mbit\"")
                .find("limited twice"),
            std::string::npos);
  EXPECT_NE(error("[[quota]]\nidentity = \"bob\"\nbytes = \"1GB\"\nper = \"week\"").find("\"day\" or \"month\""),
            std::string::npos);
  EXPECT_NE(error("[[quota]]\nidentity = \"bob\"\nbytes = \"1GB\"\ntimezone = \"Mars/Base\"").find("unknown time zone"),
            std::string::npos);
  EXPECT_NE(error("[[quota]]\nidentity = \"bob\"").find("bytes"), std::string::npos);
  EXPECT_NE(error("[[quota]]\ngroup = \"staff\"\nbytes = \"1GB\"\n[[quota]]\nidentity = \"alice\"\nbytes = \"2GB\"")
                .find("has a quota for all sockets already"),
            std::string::npos);
}

}  // namespace
}  // namespace waygate::shaper
