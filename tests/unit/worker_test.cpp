// The worker from other threads, as the control thread drives it: HTTP requests for a stage's
// endpoint and reloads arrive through the mailbox while counters are read. Under ThreadSanitizer
// (tests/run.sh builds this test with it) any unsynchronised access between them is a failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "host_config.hpp"
#include "plugin_catalog.hpp"
#include "handover.hpp"
#include "worker.hpp"

namespace {

waygate::HostConfig probe(const std::string& action, unsigned workers = 1) {
  return waygate::parse_host_config(
      fmt::format("[host]\nadmin = ''\nworkers = {}\nplugin_path = ['{}']\n[[stage]]\nname = 'p'\nplugin = 'probe'\n"
                  "action = '{}'\n",
                  workers, WAYGATE_TEST_PLUGINS, action),
      "worker.toml");
}

waygate::Response ask(waygate::Worker& w, const std::string& path, const std::string& query = "",
                      const std::string& body = "") {
  waygate::Request r;
  r.method = body.empty() ? "GET" : "POST";
  r.path = path;
  r.query = query;
  r.body = body;
  auto answer = w.request(waygate::Listener::admin, r).get().response;
  return answer ? *answer : waygate::Response{404, "", ""};
}

TEST(Worker, RequestsReloadsAndCounterReadsFromOtherThreads) {
  waygate::PluginCatalog catalog({});
  waygate::CounterRegistry registry;
  waygate::Worker worker(probe("pass"), catalog, registry, 0);
  worker.start();

  std::atomic<int> answered{0};
  auto ask = [&] {
    for (int i = 0; i < 200; ++i) {
      waygate::Request r;
      r.method = "GET";
      r.path = "/v1/probe/p";
      auto answer = worker.request(waygate::Listener::admin, r).get().response;
      ASSERT_TRUE(answer);
      EXPECT_EQ(answer->status, 200u);
      EXPECT_TRUE(answer->body.rfind("pass ", 0) == 0 || answer->body.rfind("drop ", 0) == 0) << answer->body;
      ++answered;
    }
  };
  std::thread a(ask), b(ask);
  std::thread reloads([&] {
    for (int i = 0; i < 40; ++i) EXPECT_EQ(worker.reload(probe(i % 2 ? "drop" : "pass")).get(), "");
  });
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) (void)registry.snapshot();
  });
  a.join();
  b.join();
  reloads.join();
  reader.join();
  EXPECT_EQ(answered.load(), 400);

  // Nobody serves this path; nor this listener.
  waygate::Request other;
  other.path = "/v1/nothing";
  EXPECT_FALSE(worker.request(waygate::Listener::admin, other).get().response);
  other.path = "/v1/probe/p";
  EXPECT_FALSE(worker.request(waygate::Listener::tunnel, other).get().response);
  // The last reload (drop) is what runs.
  EXPECT_EQ(worker.request(waygate::Listener::admin, other).get().response->body, "drop 0");
  worker.stop();
}

// Two workers, as [host] workers = 2 runs them: a packet one stage hands over reaches the same
// stage on the other worker, bytes, metadata and tag, woken by the hand-over alone (neither loop
// has anything else to do); a worker cannot hand to itself or to one that does not exist; and
// while both run, hand-overs both ways at once from other threads lose nothing.
TEST(Worker, TwoWorkersHandPacketsToEachOther) {
  waygate::PluginCatalog catalog({});
  waygate::CounterRegistry registry(2);
  waygate::Handover handover(2);
  waygate::Worker zero(probe("pass", 2), catalog, registry, 0, &handover);
  waygate::Worker one(probe("pass", 2), catalog, registry, 1, &handover);
  handover.set_bell(0, [&] { zero.wake(); });
  handover.set_bell(1, [&] { one.wake(); });
  zero.set_up();
  one.set_up();
  zero.go();
  one.go();

  EXPECT_EQ(ask(zero, "/v1/probe/p/hand", "to=1", "hello").body, "handed\n");
  std::string got;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    got = ask(one, "/v1/probe/p/handed").body;
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(got, "1:7:hello\n");
  EXPECT_EQ(ask(zero, "/v1/probe/p/handed").body, "");
  // An endpoint that gathers says how, with each worker's answer.
  waygate::Request which;
  which.path = "/v1/probe/p/worker";
  auto from_zero = zero.request(waygate::Listener::admin, which).get();
  auto from_one = one.request(waygate::Listener::admin, which).get();
  ASSERT_TRUE(from_zero.gather && from_zero.response && from_one.response);
  EXPECT_EQ(from_zero.gather({*from_zero.response, *from_one.response}).body, "0+1");
  waygate::Request handed;
  handed.path = "/v1/probe/p/handed";
  EXPECT_FALSE(zero.request(waygate::Listener::admin, handed).get().gather) << "the first worker's answer alone";
  EXPECT_EQ(ask(zero, "/v1/probe/p/hand", "to=0", "self").status, 409u);
  EXPECT_EQ(ask(zero, "/v1/probe/p/hand", "to=2", "nobody").status, 409u);

  auto hand = [&](waygate::Worker& from, int to) {
    for (int i = 0; i < 100; ++i) EXPECT_EQ(ask(from, "/v1/probe/p/hand", fmt::format("to={}", to), "x").status, 200u);
  };
  std::thread a([&] { hand(zero, 1); }), b([&] { hand(one, 0); });
  a.join();
  b.join();
  auto count = [&](waygate::Worker& w) {
    std::string list = ask(w, "/v1/probe/p/handed").body;
    return std::count(list.begin(), list.end(), '\n');
  };
  for (int i = 0; i < 200 && (count(zero) < 100 || count(one) < 101); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(count(zero), 100);
  EXPECT_EQ(count(one), 101);
  EXPECT_EQ(registry.value("waygate_handed_over_lost_total"), 0);
  zero.stop();
  one.stop();
}

// A worker set up and never let go stops cleanly: the host's path when a later worker fails to
// set up.
TEST(Worker, ASetUpWorkerStopsWithoutRunning) {
  waygate::PluginCatalog catalog({});
  waygate::CounterRegistry registry;
  waygate::Worker worker(probe("pass"), catalog, registry, 0);
  worker.set_up();
  worker.stop();
}

}  // namespace
