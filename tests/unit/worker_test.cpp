// The worker from other threads, as the control thread drives it: HTTP requests for a stage's
// endpoint and reloads arrive through the mailbox while counters are read. Under ThreadSanitizer
// (tests/run.sh builds this test with it) any unsynchronised access between them is a failure.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "host_config.hpp"
#include "plugin_catalog.hpp"
#include "worker.hpp"

namespace {

waygate::HostConfig probe(const std::string& action) {
  return waygate::parse_host_config(
      fmt::format("[host]\nadmin = ''\nplugin_path = ['{}']\n[[stage]]\nname = 'p'\nplugin = 'probe'\naction = '{}'\n",
                  WAYGATE_TEST_PLUGINS, action),
      "worker.toml");
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
      auto answer = worker.request(waygate::Listener::admin, r).get();
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
  EXPECT_FALSE(worker.request(waygate::Listener::admin, other).get());
  other.path = "/v1/probe/p";
  EXPECT_FALSE(worker.request(waygate::Listener::tunnel, other).get());
  // The last reload (drop) is what runs.
  EXPECT_EQ(worker.request(waygate::Listener::admin, other).get()->body, "drop 0");
  worker.stop();
}

}  // namespace
