// What the directory reads of etcd's answers: a watch's events (what a connector's copy applies,
// and which of them change what it runs), a lease, a connector's registration.
#include <gtest/gtest.h>

#include "etcd_answers.hpp"
#include "registration.hpp"

namespace {

using waygate::changes_directory;
using waygate::read_watch;
using waygate::to_base64;

// A watch message with one event on `key`.
std::string event(const std::string& key, const std::string& type, int version) {
  return R"({"result":{"header":{"revision":"42"},"events":[{)" + (type.empty() ? "" : R"("type":")" + type + R"(",)") +
         R"("kv":{"key":")" + to_base64(key) + R"(","value":")" + to_base64("v") + R"(","mod_revision":"42","version":")" +
         std::to_string(version) + R"("}}]}})";
}

TEST(EtcdAnswers, AWatchMessageReadsAsItsEvents) {
  const auto batch = read_watch(event("/waygate/directory/identity/alice", "", 3));
  EXPECT_EQ(batch.revision, 42);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_FALSE(batch.events[0].deleted);
  EXPECT_EQ(batch.events[0].kv.key, "/waygate/directory/identity/alice");
  EXPECT_EQ(batch.events[0].kv.value, "v");
  EXPECT_EQ(batch.events[0].kv.mod_revision, 42);
  EXPECT_TRUE(read_watch(event("/waygate/directory/x", "DELETE", 0)).events[0].deleted);
  EXPECT_TRUE(read_watch(R"({"result":{"header":{},"created":true}})").created);
  EXPECT_EQ(read_watch(R"({"result":{"header":{},"compact_revision":"17"}})").compacted, 17);
  // Malformed: an empty batch, never an exception.
  for (const char* bad : {"", "[]", "{\"result\":1}", R"({"result":{"events":[{"kv":{"key":"%%%"}}]}})",
                          R"({"result":{"events":[7]}})"})
    EXPECT_TRUE(read_watch(bad).events.empty()) << bad;
}

// Only what the connector runs makes it reload: the directory's keys, connectors arriving and
// leaving; not their renewals, statuses or addresses, nor another prefix's keys.
TEST(EtcdAnswers, WhatChangesTheDirectory) {
  const std::string p = "/waygate/";
  EXPECT_TRUE(changes_directory(read_watch(event("/waygate/directory/policy/staff", "", 5)), p));
  EXPECT_TRUE(changes_directory(read_watch(event("/waygate/directory/policy/staff", "DELETE", 0)), p));
  EXPECT_TRUE(changes_directory(read_watch(event("/waygate/connectors/c2", "", 1)), p));
  EXPECT_TRUE(changes_directory(read_watch(event("/waygate/connectors/c2", "DELETE", 0)), p));
  EXPECT_FALSE(changes_directory(read_watch(event("/waygate/connectors/c2", "", 2)), p));
  EXPECT_FALSE(changes_directory(read_watch(event("/waygate/status/c2", "", 1)), p));
  EXPECT_FALSE(changes_directory(read_watch(event("/waygate/addresses/10.64.0.2", "", 1)), p));
  EXPECT_FALSE(changes_directory(read_watch(event("/other/directory/policy/staff", "", 1)), p));
  EXPECT_TRUE(changes_directory(read_watch(R"({"result":{"header":{},"compact_revision":"17"}})"), p));
}

TEST(EtcdAnswers, ALeaseGrantedOrRenewed) {
  EXPECT_EQ(waygate::read_lease(R"({"header":{},"ID":"7587","TTL":"10"})").id, 7587);
  EXPECT_EQ(waygate::read_lease(R"({"result":{"header":{},"ID":"7587","TTL":"9"}})").ttl, 9);
  EXPECT_EQ(waygate::read_lease(R"({"result":{"header":{},"ID":"123"}})").ttl, 0);  // gone
  EXPECT_THROW(waygate::read_lease("nope"), std::runtime_error);
}

TEST(EtcdAnswers, ARegistrationReadsBackOrIsRefused) {
  const waygate::Registration r{"c1", "192.0.2.1:51820", "key=", "10.0.0.1:9190", "0.1.0", 12, 3, 40, "2026-12-03T10:00:00Z"};
  const auto back = waygate::read_registration(waygate::registration_json(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->endpoint, r.endpoint);
  EXPECT_EQ(back->sessions, 40);
  EXPECT_FALSE(waygate::read_registration(R"({"name": 5})").has_value());
  EXPECT_FALSE(waygate::read_registration(R"({"endpoint": "x"})").has_value());  // no name
  EXPECT_FALSE(waygate::read_registration("garbage").has_value());
}

}  // namespace
