// The config reader: every error names the origin, line, column and key, in one format.
#include <gtest/gtest.h>

#include "waygate/config.hpp"

using waygate::Config;
using waygate::ConfigError;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, ReadsTypedValuesAndDefaults) {
  Config c = Config::parse("name = 'x'\nmtu = 1400\nup = false\nlist = ['a', 'b']\nwait = '250ms'\n", "t.toml");
  EXPECT_EQ(c.string("name"), "x");
  EXPECT_EQ(c.integer("mtu", 576, 9000), 1400);
  EXPECT_FALSE(c.boolean("up", true));
  EXPECT_EQ(c.strings("list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.duration("wait", {}), std::chrono::milliseconds(250));
  EXPECT_EQ(c.integer("absent", 7, 0, 10), 7);
  EXPECT_EQ(c.string("absent2", "d"), "d");
  EXPECT_NO_THROW(c.complete());
}

TEST(Config, UnknownKeyNamesLineAndColumn) {
  Config c = Config::parse("mtu = 1400\n  colour = 'blue'\n", "t.toml");
  c.integer("mtu", 0, 9000);
  EXPECT_EQ(error_of([&] { c.complete(); }), "t.toml:2:3: key 'colour': unknown key");
}

TEST(Config, WrongTypeNamesTheKey) {
  Config c = Config::parse("mtu = 'big'\n", "t.toml");
  c.set_context("stage 'inside'");
  EXPECT_EQ(error_of([&] { c.integer("mtu", 0, 9000); }),
            "t.toml:1:1: stage 'inside': key 'mtu': expected an integer, got a string");
}

TEST(Config, OutOfRange) {
  Config c = Config::parse("mtu = 70000\n", "t.toml");
  EXPECT_EQ(error_of([&] { c.integer("mtu", 576, 65535); }),
            "t.toml:1:1: key 'mtu': expected an integer from 576 to 65535, got 70000");
}

TEST(Config, MissingRequiredKeyNamesTheTable) {
  Config c = Config::parse("[stage]\nplugin = 'tun'\n", "t.toml");
  Config stage = c.table("stage");
  EXPECT_EQ(error_of([&] { stage.string("name"); }), "t.toml:1:1: key 'name': missing (a string is required)");
}

TEST(Config, SyntaxErrorHasPosition) {
  std::string e = error_of([] { Config::parse("a = 1\nb = = 2\n", "bad.toml"); });
  EXPECT_EQ(e.rfind("bad.toml:2:", 0), 0u) << e;
}

TEST(Config, DuplicateKeyIsASyntaxError) {
  std::string e = error_of([] { Config::parse("a = 1\na = 2\n", "dup.toml"); });
  EXPECT_EQ(e.rfind("dup.toml:2:", 0), 0u) << e;
}

TEST(Config, Durations) {
  Config c = Config::parse("a = 10\nb = '2m'\nc = '1h'\nd = '5 parsecs'\ne = -1\n", "t.toml");
  EXPECT_EQ(c.duration("a", {}), std::chrono::seconds(10));
  EXPECT_EQ(c.duration("b", {}), std::chrono::minutes(2));
  EXPECT_EQ(c.duration("c", {}), std::chrono::hours(1));
  EXPECT_NE(error_of([&] { c.duration("d", {}); }).find("is not a duration"), std::string::npos);
  EXPECT_NE(error_of([&] { c.duration("e", {}); }).find("negative"), std::string::npos);
}

TEST(Config, DurationsOfSeveralParts) {
  Config c = Config::parse("a = '2h4m'\nb = '1m30s'\nc = '5'\nd = '10s5'\ne = ''\nf = 'h'\n", "t.toml");
  EXPECT_EQ(c.duration("a", {}), std::chrono::minutes(124));
  EXPECT_EQ(c.duration("b", {}), std::chrono::seconds(90));
  EXPECT_EQ(c.duration("c", {}), std::chrono::seconds(5));
  for (const char* k : {"d", "e", "f"}) EXPECT_NE(error_of([&] { c.duration(k, {}); }).find("is not a duration"), std::string::npos) << k;
}

TEST(Config, ArraysRejectMixedTypes) {
  Config c = Config::parse("a = ['x', 1]\nn = [1, 99]\n", "t.toml");
  EXPECT_NE(error_of([&] { c.strings("a"); }).find("found an integer in it"), std::string::npos);
  EXPECT_NE(error_of([&] { c.integers("n", 0, 10); }).find("from 0 to 10, got 99"), std::string::npos);
}

TEST(Config, CopiesShareWhatWasRead) {
  // The host checks complete() on the table it handed the plugin a copy of.
  Config c = Config::parse("a = 1\n", "t.toml");
  Config copy = c;
  copy.integer("a", 0, 2);
  EXPECT_NO_THROW(c.complete());
}

// The host lets a read directory go while the stages' tables, which share the document, live on.
TEST(Config, ReleaseDropsAKeyAndKeepsTheRest) {
  Config root = Config::parse("[[identity]]\nname = 'a'\n[[stage]]\nname = 's'\nmtu = 1400\n", "t.toml");
  const Config stage = root.tables("stage").front();
  root.release("identity");
  EXPECT_FALSE(root.has("identity"));
  EXPECT_NO_THROW(root.complete());  // released counts as read
  EXPECT_EQ(stage.integer("mtu", 576, 9000), 1400);
  EXPECT_NE(stage.where("mtu").find("t.toml:5"), std::string::npos);  // positions survive
}

TEST(Config, FailOnOwnCheck) {
  Config c = Config::parse("\n\npeer = 'x'\n", "t.toml");
  EXPECT_EQ(error_of([&] { c.fail("peer", "listed twice"); }), "t.toml:3:1: key 'peer': listed twice");
}

TEST(Config, MissingFile) {
  EXPECT_EQ(error_of([] { Config::parse_file("/nonexistent/w.toml"); }), "/nonexistent/w.toml: cannot open the file");
}

}  // namespace

namespace {

// A list (or anything with a default) that must be there: an error naming the key when absent,
// and the schema `waygate check --keys` prints says so either way.
TEST(Config, RequireMakesAnyKeyRequired) {
  Config present = Config::parse("ports = [25]\n", "t.toml");
  present.record_keys();
  present.require("ports", "an array of ports");
  EXPECT_EQ(present.integers("ports", 1, 65535), std::vector<std::int64_t>{25});
  auto asked = present.asked();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].fallback, "required");
  Config absent = Config::parse("colour = 'red'\n", "t.toml");
  EXPECT_EQ(error_of([&] { absent.require("ports", "an array of ports"); }),
            "t.toml:1:1: key 'ports': missing (an array of ports is required)");
  // Asked before it is required, the key is marked all the same.
  Config later = Config::parse("ports = [25]\n", "t.toml");
  later.record_keys();
  EXPECT_EQ(later.integers("ports", 1, 65535), std::vector<std::int64_t>{25});
  later.require("ports", "an array of ports");
  ASSERT_EQ(later.asked().size(), 1u);
  EXPECT_EQ(later.asked()[0].fallback, "required");
}

}  // namespace
