// The executor with real parts: the host's io_uring loop, two tun edges on socketpairs, and probe
// stages between them. A packet written into one socketpair travels the pipeline and comes out of
// the other (or back, or nowhere), exactly as the stages say.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "host_logger.hpp"
#include "pipeline.hpp"
#include "watch.hpp"
#include "thread_crew.hpp"
#include "uring_loop.hpp"

using namespace std::chrono_literals;

namespace {

struct Wire {
  Wire() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0); }
  ~Wire() { ::close(fds[1]); }  // fds[0] belongs to the tun edge
  int fds[2];
};

class Harness {
 public:
  // `middle` is inserted between the two edges: [[stage]] tables of probes.
  explicit Harness(const std::string& middle, bool right_edge = true)
      : pool_(512, 2048, 128), loop_(pool_, 256, 512), catalog_({}) {
    config_ = waygate::parse_host_config(with_edges(middle, right_edge), "test.toml");
    pipeline_ = std::make_unique<waygate::Pipeline>(config_, catalog_, resources());
    pipeline_->start();
  }
  ~Harness() { pipeline_->stop(); }

  // A reload of another shape, as the worker does it: returns how many stages were carried over.
  std::size_t reload(const std::string& middle) {
    config_ = waygate::parse_host_config(with_edges(middle, true), "test.toml");
    auto fresh = std::make_unique<waygate::Pipeline>(config_, catalog_, resources(), pipeline_.get());
    const std::size_t carried = fresh->carried();
    EXPECT_EQ(fresh->take_over(*pipeline_, config_), "");
    pipeline_ = std::move(fresh);
    pipeline_->start();
    return carried;
  }
  // A probe's instance number, or "" when no stage serves it.
  std::string instance(const std::string& stage) {
    waygate::Request r;
    r.path = "/v1/probe/" + stage + "/instance";
    auto answer = pipeline_->handle(waygate::Listener::admin, r);
    return answer ? answer->body : "";
  }

  void send(Wire& w, std::vector<std::uint8_t> bytes) {
    ASSERT_EQ(::write(w.fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // Turns the loop until a packet shows up on `w` or a few loop turns pass with nothing.
  std::vector<std::uint8_t> receive(Wire& w) {
    std::vector<std::uint8_t> buf(4096);
    for (int turn = 0; turn < 20; ++turn) {
      ssize_t n = ::read(w.fds[1], buf.data(), buf.size());
      if (n > 0) return {buf.begin(), buf.begin() + n};
      loop_.wait(waygate::UringLoop::clock() + 20ms);
      loop_.drain([&](std::uint32_t owner, const waygate::Completion& c) {
        if (owner != waygate::UringLoop::kWakeOwner) pipeline_->on_io(owner, c);
      });
      pipeline_->flush();
    }
    return {};
  }
  std::int64_t metric(std::string_view name, waygate::Labels labels) {
    return registry_.value(name, labels);
  }
  std::vector<waygate::CounterRegistry::Sample> snapshot() const { return registry_.snapshot(); }
  // A capture's or trace's request, as the worker hands it over between turns.
  waygate::Response watch(const std::string& method, const std::string& path, const std::string& body = "") {
    waygate::Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    auto answer = watch_.handle(r, *config_.directory, pipeline_->stage_names(), waygate::WatchLimits{});
    return answer ? *answer : waygate::Response{404, "", ""};
  }

  Wire left_, right_;

 private:
  std::string with_edges(const std::string& middle, bool right_edge) {
    std::string toml = fmt::format(
        "[host]\nplugin_path = ['{}', '{}']\n[[stage]]\nname = 'left'\nplugin = 'tun'\nfd = {}\n{}",
        WAYGATE_BUILD_PLUGINS, WAYGATE_TEST_PLUGINS, left_.fds[0], middle);
    if (right_edge)
      toml += fmt::format("[[stage]]\nname = 'right'\nplugin = 'tun'\nfd = {}\n", right_.fds[0]);
    return toml;
  }
  waygate::StageResources resources() {
    return {registry_, 0, timers_, pool_, crew_, [this](std::uint32_t owner) -> waygate::Io& { return loop_.io(owner); },
            waygate::make_stage_logger, &watch_, nullptr};
  }

  waygate::Watch watch_;
  waygate::Pool pool_;
  waygate::UringLoop loop_;
  waygate::TimerQueue timers_;
  waygate::ThreadCrew crew_{0};
  waygate::CounterRegistry registry_;
  waygate::PluginCatalog catalog_;
  waygate::HostConfig config_;
  std::unique_ptr<waygate::Pipeline> pipeline_;
};

std::vector<std::uint8_t> packet(std::uint8_t tag) { return {0x45, tag, 0, 20, 1, 2, 3, 4}; }

TEST(Pipeline, PassesBothWaysThroughEveryStage) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n[[stage]]\nname = 'b'\nplugin = 'probe'\n");
  h.send(h.left_, packet(1));
  EXPECT_EQ(h.receive(h.right_), packet(1));
  h.send(h.right_, packet(2));
  EXPECT_EQ(h.receive(h.left_), packet(2));
  for (const char* stage : {"a", "b"}) {
    EXPECT_EQ(h.metric("waygate_probe_seen_total", {{"stage", stage}, {"direction", "outbound"}}), 1);
    EXPECT_EQ(h.metric("waygate_probe_seen_total", {{"stage", stage}, {"direction", "inbound"}}), 1);
  }
  EXPECT_EQ(h.metric("waygate_tun_rx_packets_total", {{"stage", "left"}}), 1);
  EXPECT_EQ(h.metric("waygate_tun_tx_packets_total", {{"stage", "right"}}), 1);
}

TEST(Pipeline, ReplyTravelsBackFromWhereItWasMade) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n[[stage]]\nname = 'b'\nplugin = 'probe'\naction = 'reply'\n");
  h.send(h.left_, packet(3));
  EXPECT_EQ(h.receive(h.left_), packet(3));
  EXPECT_TRUE(h.receive(h.right_).empty());
  // Stage a saw it go out and come back; the reply started at b, so b saw it once.
  EXPECT_EQ(h.metric("waygate_probe_seen_total", {{"stage", "a"}, {"direction", "inbound"}}), 1);
  EXPECT_EQ(h.metric("waygate_probe_seen_total", {{"stage", "b"}, {"direction", "inbound"}}), 0);
}

TEST(Pipeline, DropIsCountedUnderItsStageAndReason) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\naction = 'drop'\n");
  for (std::uint8_t i = 0; i < 5; ++i) h.send(h.left_, packet(i));
  EXPECT_TRUE(h.receive(h.right_).empty());
  EXPECT_EQ(h.metric("waygate_drops_total", {{"stage", "a"}, {"reason", "probe_drop"}}), 5);
}

TEST(Pipeline, WhatNobodyConsumesIsDroppedAtTheEnd) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n", /*right_edge=*/false);
  h.send(h.left_, packet(4));
  h.receive(h.left_);
  EXPECT_EQ(h.metric("waygate_drops_total", {{"stage", "a"}, {"reason", "end_of_pipeline"}}), 1);
}

// A dropped packet whose metadata names a socket counts for that socket too, the executor's own
// drops included; one without counts only by reason.
TEST(Pipeline, DropsCountForTheSocketInTheirMetadata) {
  const std::string exit = "[[socket]]\nname = 'corporate-exit'\ntype = 'exit_node'\n";
  {
    Harness h(exit + "[[stage]]\nname = 'a'\nplugin = 'probe'\nsocket = 0\n"
                     "[[stage]]\nname = 'b'\nplugin = 'probe'\naction = 'drop'\n");
    for (std::uint8_t i = 0; i < 3; ++i) h.send(h.left_, packet(i));
    EXPECT_TRUE(h.receive(h.right_).empty());
    EXPECT_EQ(h.metric("waygate_socket_drops_total", {{"socket", "corporate-exit"}, {"stage", "b"}, {"reason", "probe_drop"}}), 3);
  }
  {
    Harness h(exit + "[[stage]]\nname = 'a'\nplugin = 'probe'\nsocket = 0\n", /*right_edge=*/false);
    h.send(h.left_, packet(4));
    h.receive(h.left_);
    EXPECT_EQ(h.metric("waygate_socket_drops_total", {{"socket", "corporate-exit"}, {"stage", "a"}, {"reason", "end_of_pipeline"}}), 1);
  }
  {
    Harness h(exit + "[[stage]]\nname = 'b'\nplugin = 'probe'\naction = 'drop'\n");
    h.send(h.left_, packet(5));
    h.receive(h.right_);
    EXPECT_EQ(h.metric("waygate_drops_total", {{"stage", "b"}, {"reason", "probe_drop"}}), 1);
    for (auto& sample : h.snapshot()) EXPECT_NE(sample.name, "waygate_socket_drops_total");
  }
}

// A reload of another shape carries the stages whose name, plugin and settings did not change into
// the new pipeline running, the same instances with their state; only what is new is made and
// started, what is gone or changed is stopped. The edges keep their I/O wherever they now stand.
TEST(Pipeline, AReloadOfAnotherShapeCarriesWhatDidNotChange) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n");
  const std::string a = h.instance("a");
  h.send(h.left_, packet(1));
  EXPECT_EQ(h.receive(h.right_), packet(1));

  // A stage added after a: left, a and right carried (right now one place further), b new.
  EXPECT_EQ(h.reload("[[stage]]\nname = 'a'\nplugin = 'probe'\n[[stage]]\nname = 'b'\nplugin = 'probe'\n"), 3u);
  EXPECT_EQ(h.instance("a"), a);
  const std::string b = h.instance("b");
  EXPECT_NE(b, "");
  EXPECT_NE(b, a);
  h.send(h.left_, packet(2));
  EXPECT_EQ(h.receive(h.right_), packet(2));
  h.send(h.right_, packet(3));  // the right edge's reads come back to it at its new place
  EXPECT_EQ(h.receive(h.left_), packet(3));
  EXPECT_EQ(h.metric("waygate_probe_seen_total", {{"stage", "b"}, {"direction", "inbound"}}), 1);

  // a's settings change and b goes: a is made again (and drops), b is stopped and serves nothing.
  EXPECT_EQ(h.reload("[[stage]]\nname = 'a'\nplugin = 'probe'\naction = 'drop'\n"), 2u);
  EXPECT_NE(h.instance("a"), a);
  EXPECT_EQ(h.instance("b"), "");
  h.send(h.left_, packet(4));
  EXPECT_TRUE(h.receive(h.right_).empty());
  EXPECT_EQ(h.metric("waygate_drops_total", {{"stage", "a"}, {"reason", "probe_drop"}}), 1);
  h.send(h.right_, packet(5));  // the edges still carry both ways
  EXPECT_TRUE(h.receive(h.left_).empty());
  EXPECT_EQ(h.metric("waygate_tun_rx_packets_total", {{"stage", "right"}}), 2);
}

TEST(Pipeline, UnknownPluginNamesTheStageAndLine) {
  waygate::Pool pool(64, 2048, 128);
  waygate::UringLoop loop(pool, 64, 64);
  waygate::TimerQueue timers;
  waygate::CounterRegistry registry;
  waygate::ThreadCrew crew(0);
  waygate::PluginCatalog catalog({});
  auto config = waygate::parse_host_config("[[stage]]\nname = 'x'\nplugin = 'nope'\n", "t.toml");
  waygate::StageResources res{registry, 0, timers, pool, crew,
                              [&](std::uint32_t s) -> waygate::Io& { return loop.io(s); },
                              waygate::make_stage_logger, nullptr, nullptr};
  try {
    waygate::Pipeline p(config, catalog, res);
    FAIL();
  } catch (const waygate::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("t.toml:3:1: stage 'x': key 'plugin': unknown plugin 'nope'", 0), 0u) << e.what();
  }
  auto bad_key = waygate::parse_host_config(
      fmt::format("[[stage]]\nname = 'x'\nplugin = 'probe'\n  actoin = 'drop'\n"), "t.toml");
  bad_key.plugin_path = {WAYGATE_TEST_PLUGINS};
  try {
    waygate::Pipeline p(bad_key, catalog, res);
    FAIL();
  } catch (const waygate::ConfigError& e) {
    EXPECT_STREQ(e.what(), "t.toml:4:3: stage 'x': key 'actoin': unknown key");
  }
  // More than one worker: every stage's plugin must say it runs per worker (the probe does; the
  // client is one user's tunnel to its connectors).
  auto two = waygate::parse_host_config(
      "[host]\nworkers = 2\n[[stage]]\nname = 'x'\nplugin = 'probe'\n[[stage]]\nname = 'n'\nplugin = 'client'\n", "t.toml");
  two.plugin_path = {WAYGATE_TEST_PLUGINS, WAYGATE_BUILD_PLUGINS};
  try {
    waygate::Pipeline p(two, catalog, res);
    FAIL();
  } catch (const waygate::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("t.toml:8:1: stage 'n': key 'plugin': 'client' runs on one worker only, and "
                                          "[host] workers = 2", 0), 0u) << e.what();
  }
}

// A UDP datagram with whole headers, 10.0.0.1:1000 > 10.0.0.2:53: what a trace reads and libpcap
// filters.
std::vector<std::uint8_t> udp(std::uint8_t tag) {
  return {0x45, 0, 0, 29, 0, tag, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
          0x03, 0xe8, 0, 53, 0, 9, 0, 0, tag};
}

boost::json::object json_of(const waygate::Response& r) { return boost::json::parse(r.body).as_object(); }

// "stage verdict[ reason]" for each step of the trace's first packet.
std::vector<std::string> steps_of(const boost::json::object& read) {
  std::vector<std::string> out;
  for (auto& v : read.at("packets").as_array()[0].at("steps").as_array()) {
    const auto& s = v.as_object();
    std::string line = std::string(s.at("stage").as_string()) + " " + std::string(s.at("verdict").as_string());
    if (!s.at("reason").as_string().empty()) line += " " + std::string(s.at("reason").as_string());
    out.push_back(line);
  }
  return out;
}

TEST(Trace, FollowsAPacketThroughEveryStageToItsDropAndSaysWhatChanged) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\nsocket = 0\n[[stage]]\nname = 'b'\nplugin = 'probe'\naction = 'drop'\n");
  const auto started = h.watch("POST", "/v1/trace", R"({"count": 1})");
  ASSERT_EQ(started.status, 201u) << started.body;
  h.send(h.left_, udp(1));
  EXPECT_TRUE(h.receive(h.right_).empty());
  auto read = json_of(h.watch("GET", "/v1/trace/1"));
  EXPECT_EQ(read.at("state"), "done");
  EXPECT_EQ(read.at("traced"), 1);
  EXPECT_EQ(steps_of(read), (std::vector<std::string>{"left received", "a pass", "b drop probe_drop"}));
  const auto& packet = read.at("packets").as_array()[0].as_object();
  EXPECT_EQ(packet.at("packet"), "UDP 10.0.0.1:1000 > 10.0.0.2:53");
  EXPECT_EQ(packet.at("steps").as_array()[1].at("changed"), "socket -");  // a wrote the socket (no directory here)
  EXPECT_GE(packet.at("steps").as_array()[1].at("micros").to_number<double>(), 0.0);
  EXPECT_EQ(h.watch("GET", "/v1/trace/1").status, 404u);  // ended and read: gone
}

TEST(Trace, AReplyTravelsBackAndTheEdgeTakesIt) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n[[stage]]\nname = 'b'\nplugin = 'probe'\naction = 'reply'\n");
  ASSERT_EQ(h.watch("POST", "/v1/trace", R"({"count": 1})").status, 201u);
  h.send(h.left_, udp(2));
  EXPECT_EQ(h.receive(h.left_), udp(2));
  EXPECT_EQ(steps_of(json_of(h.watch("GET", "/v1/trace/1"))),
            (std::vector<std::string>{"left received", "a pass", "b reply", "a pass", "left taken"}));
}

TEST(Trace, KeepsOnlyWhatItsFilterMatchesAndRefusesABadOne) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n");
  ASSERT_EQ(h.watch("POST", "/v1/trace", R"({"filter": "udp port 54"})").status, 201u);
  ASSERT_EQ(h.watch("POST", "/v1/trace", R"({"filter": "udp port 53"})").status, 201u);
  for (std::uint8_t i = 0; i < 3; ++i) h.send(h.left_, udp(i));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.receive(h.right_).size(), 29u);
  EXPECT_EQ(json_of(h.watch("DELETE", "/v1/trace/1")).at("traced"), 0);
  const auto matched = json_of(h.watch("DELETE", "/v1/trace/2"));
  EXPECT_EQ(matched.at("traced"), 3);
  EXPECT_EQ(steps_of(matched), (std::vector<std::string>{"left received", "a pass", "right taken"}));
  const auto bad = h.watch("POST", "/v1/trace", R"({"filter": "udp prot 53"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("udp prot 53"), std::string::npos) << bad.body;
  EXPECT_EQ(h.watch("POST", "/v1/trace", R"({"at": "a"})").status, 400u);  // a trace has no link
}

TEST(Trace, AReaderThatNeverReadsLosesPacketsCountedNotTraffic) {
  Harness h("[[stage]]\nname = 'a'\nplugin = 'probe'\n");
  ASSERT_EQ(h.watch("POST", "/v1/trace", R"({"count": 1000})").status, 201u);
  constexpr int kSent = 300;
  int through = 0;
  for (int i = 0; i < kSent; ++i) {
    h.send(h.left_, udp(static_cast<std::uint8_t>(i)));
    if (i % 100 == 99)  // what a socketpair holds
      while (!h.receive(h.right_).empty()) ++through;
  }
  EXPECT_EQ(through, kSent);
  const auto read = json_of(h.watch("DELETE", "/v1/trace/1"));
  EXPECT_EQ(read.at("traced"), waygate::Tracer::kRing);
  EXPECT_EQ(read.at("lost"), kSent - static_cast<int>(waygate::Tracer::kRing));
  EXPECT_EQ(read.at("packets").as_array().size(), waygate::Tracer::kRing);
}

}  // namespace
