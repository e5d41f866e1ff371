// Captures and traces gathered from the workers' answers: a read merges every worker's packets and
// counts and runs while any runs; a start stands when every worker numbered it alike; a refusal
// speaks for all.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base64.hpp"
#include "watch_gather.hpp"

namespace {

namespace json = boost::json;
using waygate::Response;

Response answer(unsigned status, json::object body) { return {status, "application/json", json::serialize(body)}; }

TEST(WatchGather, ACaptureReadMergesEveryWorkersPackets) {
  auto read = [](const char* state, const char* why, std::uint64_t captured, std::uint64_t lost, std::string blocks) {
    return answer(200, {{"id", 3}, {"state", state}, {"why", why}, {"captured", captured}, {"lost", lost},
                        {"packets", waygate::to_base64(blocks)}});
  };
  auto merged = json::parse(waygate::gather_watches({read("done", "it has its packets", 2, 0, "AAAA"),
                                                     read("running", "", 3, 1, "BBBBBB")}).body);
  EXPECT_EQ(merged.at("state"), "running") << "while any worker's runs";
  EXPECT_EQ(merged.at("why"), "");
  EXPECT_EQ(merged.at("captured"), 5);
  EXPECT_EQ(merged.at("lost"), 1);
  EXPECT_EQ(*waygate::from_base64(merged.at("packets").as_string()), "AAAABBBBBB");
  merged = json::parse(waygate::gather_watches({read("done", "", 0, 0, ""), read("done", "its time is up", 1, 0, "C")}).body);
  EXPECT_EQ(merged.at("state"), "done");
  EXPECT_EQ(merged.at("why"), "its time is up");
}

TEST(WatchGather, ATraceReadJoinsThePacketLists) {
  auto read = [](std::uint64_t traced, json::array packets) {
    return answer(200, {{"id", 1}, {"state", "running"}, {"why", ""}, {"traced", traced}, {"lost", 0},
                        {"packets", std::move(packets)}});
  };
  auto merged = json::parse(waygate::gather_watches({read(1, {json::object{{"time", 1}}}),
                                                     read(2, {json::object{{"time", 2}}, json::object{{"time", 3}}})}).body);
  EXPECT_EQ(merged.at("traced"), 3);
  ASSERT_EQ(merged.at("packets").as_array().size(), 3u);
  EXPECT_EQ(merged.at("packets").at(2).at("time"), 3);
}

TEST(WatchGather, AStartStandsWhenNumberedAlikeAndARefusalSpeaksForAll) {
  Response started = waygate::gather_watches({answer(201, {{"id", 4}, {"header", "x"}}), answer(201, {{"id", 4}, {"header", "x"}})});
  EXPECT_EQ(started.status, 201u);
  EXPECT_EQ(json::parse(started.body).at("id"), 4);
  EXPECT_EQ(waygate::gather_watches({answer(201, {{"id", 4}}), answer(201, {{"id", 5}})}).status, 500u);
  Response refused = waygate::gather_watches({answer(201, {{"id", 4}}), answer(429, {{"error", "8 captures run already"}})});
  EXPECT_EQ(refused.status, 429u);
  EXPECT_NE(refused.body.find("8 captures run already"), std::string::npos);
}

}  // namespace
