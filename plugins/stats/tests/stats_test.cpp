// The stats stage in the rig: counters move by exactly the traffic pushed, per socket and per
// identity and each way; active clients; a sample every 10 s on the fake clock; the series
// survives a restart through the history file; the admin API and the `waygate stats` table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "gathered.hpp"
#include "stats_command.hpp"
#include "waygate/testing/rig.hpp"

namespace {

using waygate::Direction;
using waygate::Listener;
using waygate::Meta;
using waygate::testing::Rig;
using waygate::testing::RigOptions;
namespace json = boost::json;
using namespace std::chrono_literals;

const char* kDirectory = R"(
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
[[identity]]
name = "bob"
public_key = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w="
[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
)";

std::unique_ptr<Rig> stats(const std::string& keys = "") {
  RigOptions o;
  o.directory = kDirectory;
  auto r = Rig::load(WAYGATE_STATS_PLUGIN, keys, o);
  r->start();
  return r;
}

Meta on(std::uint32_t identity, std::uint32_t socket) {
  Meta m;
  m.identity = identity;
  m.socket = socket;
  return m;
}

void send(Rig& r, Direction d, std::size_t bytes, std::size_t count, Meta m) {
  std::vector<std::vector<std::uint8_t>> burst(count, std::vector<std::uint8_t>(bytes, 0x45));
  r.push(d, burst, m);
  EXPECT_EQ(r.take(d).size(), count);  // everything passes
}

TEST(Stats, CountersMoveByExactlyTheTraffic) {
  auto r = stats();
  send(*r, Direction::outbound, 100, 3, on(0, 0));
  send(*r, Direction::inbound, 1000, 2, on(0, 0));
  send(*r, Direction::outbound, 60, 1, on(1, 1));
  EXPECT_EQ(r->counter("socket_bytes_total", {{"socket", "corporate-exit"}, {"direction", "outbound"}}), 300);
  EXPECT_EQ(r->counter("socket_bytes_total", {{"socket", "corporate-exit"}, {"direction", "inbound"}}), 2000);
  EXPECT_EQ(r->counter("socket_packets_total", {{"socket", "corporate-exit"}, {"direction", "inbound"}}), 2);
  EXPECT_EQ(r->counter("socket_bytes_total", {{"socket", "lab"}, {"direction", "outbound"}}), 60);
  EXPECT_EQ(r->counter("identity_bytes_total", {{"identity", "alice"}, {"direction", "inbound"}}), 2000);
  EXPECT_EQ(r->counter("identity_packets_total", {{"identity", "bob"}, {"direction", "outbound"}}), 1);
  // Packets of no socket or identity pass, counted nowhere.
  send(*r, Direction::outbound, 10, 1, Meta{});
  EXPECT_EQ(r->counter("socket_packets_total", {{"socket", "corporate-exit"}, {"direction", "outbound"}}), 3);
}

TEST(Stats, SamplesEveryTenSecondsWithActiveClients) {
  auto r = stats("active = \"1m\"");
  send(*r, Direction::outbound, 100, 3, on(0, 0));
  send(*r, Direction::outbound, 100, 1, on(1, 0));
  r->advance(10s);
  send(*r, Direction::inbound, 500, 1, on(0, 0));
  r->advance(10s);
  EXPECT_EQ(r->counter("socket_clients", {{"socket", "corporate-exit"}}), 2);
  r->advance(60s);  // nobody sent for a minute: not active any more
  EXPECT_EQ(r->counter("socket_clients", {{"socket", "corporate-exit"}}), 0);
  auto body = json::parse(r->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit").body);
  auto& samples = body.at("samples").as_array();
  ASSERT_EQ(samples.size(), 8u);
  // 2026-01-01T00:00:10Z: 400 bytes and 4 packets out, 2 clients.
  EXPECT_EQ(samples[0], json::parse("[1767225610, 400, 0, 4, 0, 2]"));
  EXPECT_EQ(samples[1], json::parse("[1767225620, 0, 500, 0, 1, 2]"));
  EXPECT_EQ(samples[7].at(5), 0);
  EXPECT_EQ(r->request(Listener::admin, "GET", "/v1/stats/series?socket=nowhere").status, 404u);
  // since: the samples after it; anything but unix seconds is refused (it once went to atoll).
  auto later = json::parse(r->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit&since=1767225611").body);
  EXPECT_EQ(later.at("samples").as_array().size(), 7u);
  for (const char* bad : {"abc", "99999999999999999999", "10s", ""})
    EXPECT_EQ(r->request(Listener::admin, "GET", std::string("/v1/stats/series?socket=corporate-exit&since=") + bad).status, 400u)
        << bad;
}

// A reload between two samples (a socket added, as the portal does) loses nothing of what moved.
TEST(Stats, AReloadBetweenSamplesKeepsWhatMoved) {
  auto r = stats();
  send(*r, Direction::outbound, 100, 3, on(0, 0));
  r->reconfigure("", std::string(kDirectory) + "[[socket]]\nname = \"home-exit\"\ntype = \"exit_node\"\n");
  send(*r, Direction::outbound, 100, 1, on(0, 0));
  send(*r, Direction::outbound, 50, 1, on(0, 2));
  r->advance(10s);
  auto samples = [&](const char* socket) {
    return json::parse(r->request(Listener::admin, "GET", std::string("/v1/stats/series?socket=") + socket).body)
        .at("samples").as_array();
  };
  ASSERT_EQ(samples("corporate-exit").size(), 1u);
  EXPECT_EQ(samples("corporate-exit")[0].at(1), 400);
  EXPECT_EQ(samples("home-exit")[0].at(1), 50);
}

TEST(Stats, HistorySurvivesARestart) {
  char dir[] = "/tmp/waygate-stats-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/history.json";
  {
    auto r = stats("history = \"" + file + "\"");
    send(*r, Direction::outbound, 100, 3, on(0, 0));
    r->advance(30s);
    r->stop();  // a clean stop saves
  }
  auto r = stats("history = \"" + file + "\"");
  auto samples = json::parse(r->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit").body).at("samples");
  ASSERT_EQ(samples.as_array().size(), 3u);
  EXPECT_EQ(samples.at(0).at(1), 300);
  r->advance(10s);
  samples = json::parse(r->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit").body).at("samples");
  EXPECT_EQ(samples.as_array().size(), 4u);  // and it goes on
  r->stop();
  ::unlink(file.c_str());
  ::rmdir(dir);
}

// The history file's format version (waygate/state_version.hpp): what earlier versions wrote is
// read, a save says the version, a newer format is refused by name and left as it was.
struct HistoryFile {
  HistoryFile() {
    char dir[] = "/tmp/waygate-stats-XXXXXX";
    folder = ::mkdtemp(dir);
    path = folder + "/history.json";
  }
  ~HistoryFile() {
    ::unlink(path.c_str());
    ::rmdir(folder.c_str());
  }
  void write(const std::string& text) const { std::ofstream(path) << text; }
  std::string read() const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string folder, path;
};

TEST(StatsHistory, AFileAsEarlierVersionsWroteItIsRead) {
  HistoryFile f;
  f.write(R"({"version":1,"interval":10,"sockets":{"corporate-exit":[[1767225590,300,200,3,2,1]]}})");
  auto r = stats("history = \"" + f.path + "\"");
  auto samples = json::parse(r->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit").body).at("samples");
  ASSERT_EQ(samples.as_array().size(), 1u);
  EXPECT_EQ(samples.at(0), json::parse("[1767225590,300,200,3,2,1]"));
}

TEST(StatsHistory, IsSavedWithItsFormatVersion) {
  HistoryFile f;
  auto r = stats("history = \"" + f.path + "\"");
  r->stop();
  EXPECT_EQ(json::parse(f.read()).at("version"), 1) << f.read();
}

TEST(StatsHistory, ANewerFormatIsRefusedByNameAndLeftAsItWas) {
  HistoryFile f;
  const std::string newer = R"({"version":2,"interval":10,"sockets":{"corporate-exit":{"samples":[]}}})";
  f.write(newer);
  RigOptions o;
  o.directory = kDirectory;
  try {
    Rig::load(WAYGATE_STATS_PLUGIN, "history = \"" + f.path + "\"", o);
    FAIL() << "a newer history was read";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(f.path + ": traffic-history state format 2, but this waygate reads up to 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(f.read(), newer);
  f.write(R"({"interval":10,"sockets":{}})");  // every history has said its version
  EXPECT_THROW(Rig::load(WAYGATE_STATS_PLUGIN, "history = \"" + f.path + "\"", o), waygate::ConfigError);
}

// Two workers ([host] workers = 2): each instance counts what its worker carried; /v1/stats
// gathers them into the sums (without the gather the first worker knows only its share); the
// first worker samples the sums into the series, clients as every worker's gauge says.
TEST(Stats, TwoWorkersCountTheirShareAndTheFirstSamplesTheSums) {
  RigOptions o;
  o.directory = kDirectory;
  auto w = Rig::load_workers(2, WAYGATE_STATS_PLUGIN, "", o);
  for (auto& r : w) r->start();
  send(*w[0], Direction::outbound, 300, 1, on(0, 0));  // alice, on the first worker
  send(*w[1], Direction::outbound, 500, 1, on(1, 0));  // bob, on the second
  send(*w[1], Direction::inbound, 1000, 2, on(1, 0));
  EXPECT_EQ(w[0]->counter("socket_bytes_total", {{"socket", "corporate-exit"}, {"direction", "outbound"}}), 300);
  EXPECT_EQ(w[1]->counter("socket_bytes_total", {{"socket", "corporate-exit"}, {"direction", "outbound"}}), 500);

  std::vector<waygate::Response> answers;
  for (auto& r : w) answers.push_back(r->request(Listener::admin, "GET", "/v1/stats"));
  EXPECT_EQ(json::parse(answers[0].body).at("sockets").at(0).at("bytes").at("outbound"), 300) << "the first worker's share";
  auto all = waygate::stats::gather_totals(answers);
  ASSERT_EQ(all.status, 200u) << all.body;
  auto body = json::parse(all.body);
  const auto& exit = body.at("sockets").at(0);
  EXPECT_EQ(exit.at("bytes").at("outbound"), 800);
  EXPECT_EQ(exit.at("bytes").at("inbound"), 2000);
  EXPECT_EQ(exit.at("packets").at("outbound"), 2);
  EXPECT_EQ(exit.at("clients"), 2);
  const auto& bob = body.at("identities").at(1);
  EXPECT_EQ(bob.at("socket"), "corporate-exit");
  EXPECT_EQ(bob.at("active"), true);
  EXPECT_EQ(bob.at("bytes").at("inbound"), 2000);
  EXPECT_EQ(body.at("identities").at(0).at("bytes").at("outbound"), 300);
  answers[1].status = 500;
  EXPECT_EQ(waygate::stats::gather_totals(answers).status, 500u) << "a worker that failed fails the whole";

  w[1]->advance(10s);  // the second worker's gauge first, as its timer may fire first
  w[0]->advance(10s);
  EXPECT_EQ(w[0]->counter("socket_clients", {{"socket", "corporate-exit"}}), 1);
  EXPECT_EQ(w[1]->counter("socket_clients", {{"socket", "corporate-exit"}}), 1);
  auto series = json::parse(w[0]->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit").body);
  ASSERT_EQ(series.at("samples").as_array().size(), 1u);
  EXPECT_EQ(series.at("samples").at(0), json::parse("[1767225610, 800, 2000, 2, 2, 2]"));
  auto none = json::parse(w[1]->request(Listener::admin, "GET", "/v1/stats/series?socket=corporate-exit").body);
  EXPECT_TRUE(none.at("samples").as_array().empty()) << "the first worker keeps the series";
}

TEST(Stats, ApiAndTable) {
  auto r = stats();
  send(*r, Direction::outbound, 1024, 2, on(0, 0));
  send(*r, Direction::inbound, 1500, 1000, on(0, 0));
  auto res = r->request(Listener::admin, "GET", "/v1/stats");
  ASSERT_EQ(res.status, 200u);
  auto body = json::parse(res.body);
  EXPECT_EQ(body.at("sockets").at(0).at("name"), "corporate-exit");
  EXPECT_EQ(body.at("sockets").at(0).at("bytes").at("inbound"), 1500000);
  EXPECT_EQ(body.at("identities").at(0).at("socket"), "corporate-exit");
  EXPECT_EQ(body.at("identities").at(1).at("idle_seconds"), nullptr);
  EXPECT_EQ(waygate::stats::stats_table(res.body),
            "EXIT NODE / SOCKET       CLIENTS       UPLOAD     DOWNLOAD    PKTS UP  PKTS DOWN  DROPPED SESSIONS\n"
            "corporate-exit                 1      2.0 KiB      1.4 MiB          2       1000        0        0\n"
            "lab                            0          0 B          0 B          0          0        0        0\n"
            "\n"
            "CLIENT                   EXIT NODE / SOCKET         UPLOAD     DOWNLOAD       IDLE  DROPPED\n"
            "alice                    corporate-exit            2.0 KiB      1.4 MiB        0 s        0\n"
            "bob                      -                             0 B          0 B      never        0\n");
}

// What other stages count about the same sockets and identities, read from the metrics: drops by
// reason (summed over stages), NAT sessions, handshakes (an identity's count for its socket).
TEST(Stats, ShowsDropsSessionsAndHandshakesOtherStagesCount) {
  auto r = stats();
  auto set = [&](const char* name, waygate::MetricKind kind, const waygate::Labels& labels, std::uint64_t v) {
    r->set_metric(name, kind, labels, v);
  };
  using waygate::MetricKind;
  set("waygate_socket_drops_total", MetricKind::counter, {{"socket", "corporate-exit"}, {"stage", "nat"}, {"reason", "no_session"}}, 4);
  set("waygate_socket_drops_total", MetricKind::counter, {{"socket", "corporate-exit"}, {"stage", "egress"}, {"reason", "no_session"}}, 1);
  set("waygate_socket_drops_total", MetricKind::counter, {{"socket", "lab"}, {"stage", "policy"}, {"reason", "denied"}}, 2);
  set("waygate_identity_drops_total", MetricKind::counter, {{"identity", "bob"}, {"stage", "policy"}, {"reason", "denied"}}, 2);
  set("waygate_socket_drops_total", MetricKind::counter, {{"socket", "gone"}, {"stage", "nat"}, {"reason", "x"}}, 9);
  set("waygate_nat_socket_sessions", MetricKind::gauge, {{"stage", "nat"}, {"socket", "corporate-exit"}}, 3);
  set("waygate_wireguard_peer_handshakes_total", MetricKind::counter, {{"stage", "tunnel"}, {"peer", "alice"}}, 2);
  set("waygate_wireguard_peer_handshakes_total", MetricKind::counter, {{"stage", "tunnel"}, {"peer", "laptop"}}, 7);
  r->push(Direction::outbound, std::vector<std::uint8_t>(100, 0x45), on(0, 0));  // alice is on corporate-exit

  auto body = json::parse(r->request(Listener::admin, "GET", "/v1/stats").body);
  auto& exit = body.at("sockets").at(0);
  EXPECT_EQ(json::serialize(exit.at("drops")), R"({"no_session":5})");
  EXPECT_EQ(exit.at("nat_sessions"), 3);
  EXPECT_EQ(exit.at("handshakes"), 2);
  auto& lab = body.at("sockets").at(1);
  EXPECT_EQ(json::serialize(lab.at("drops")), R"({"denied":2})");
  EXPECT_EQ(lab.at("handshakes"), 0);
  EXPECT_EQ(body.at("identities").at(0).at("handshakes"), 2);
  EXPECT_EQ(json::serialize(body.at("identities").at(1).at("drops")), R"({"denied":2})");
  const std::string table = waygate::stats::stats_table(r->request(Listener::admin, "GET", "/v1/stats").body);
  EXPECT_NE(table.find("          1          0        5        3\n"), std::string::npos) << table;  // dropped, sessions
  EXPECT_NE(table.find("never        2\n"), std::string::npos) << table;  // bob's drops
  r->advance(10s);  // the per-socket handshakes as a gauge, each sample
  EXPECT_EQ(r->counter("socket_handshakes", {{"socket", "corporate-exit"}}), 2);
}

}  // namespace

namespace {

TEST(StatsCommand, QuotasShowTheirUseAgainstTheirSize) {
  const std::string shaper =
      R"({"limits":[],"fair":[],"quotas":[{"identity":"bob","socket":"","bytes":10000000000,"used":10000000000,)"
      R"("per":"day","timezone":"UTC","start":"2026-12-03T00:00:00Z","end":"2026-12-04T00:00:00Z","exhausted":true},)"
      R"({"identity":"carol","socket":"corporate-exit","bytes":1073741824,"used":1536,"per":"month",)"
      R"("timezone":"Europe/Berlin","start":"2026-11-30T23:00:00Z","end":"2026-12-31T23:00:00Z","exhausted":false}]})";
  EXPECT_EQ(waygate::stats::quota_table(shaper),
            "\nQUOTA                    EXIT NODE / SOCKET           USED           OF    PER UNTIL                 \n"
            "bob                      (all)                     9.3 GiB      9.3 GiB    day 2026-12-04T00:00:00Z   used up\n"
            "carol                    corporate-exit            1.5 KiB      1.0 GiB  month 2026-12-31T23:00:00Z  \n");
  EXPECT_EQ(waygate::stats::quota_table(R"({"limits":[],"fair":[],"quotas":[]})"), "");
}

}  // namespace

// stats --all: two connectors' answers as one, by name; an identity that moved has traffic on both.
TEST(StatsCommand, ConnectorsAnswersMergeByName) {
  const std::string one = R"({"sockets": [{"name": "exit", "clients": 1, "bytes": {"outbound": 100, "inbound": 1000},
      "packets": {"outbound": 1, "inbound": 2}, "drops": {"denied": 2}, "nat_sessions": 3}],
    "identities": [{"name": "alice", "socket": "exit", "bytes": {"outbound": 100, "inbound": 1000}, "idle_seconds": 30,
      "drops": {}}]})";
  const std::string two = R"({"sockets": [{"name": "exit", "clients": 1, "bytes": {"outbound": 50, "inbound": 500},
      "packets": {"outbound": 4, "inbound": 8}, "drops": {"denied": 1, "no_route": 1}, "nat_sessions": 4}],
    "identities": [{"name": "alice", "socket": null, "bytes": {"outbound": 50, "inbound": 500}, "idle_seconds": 2,
      "drops": {}}, {"name": "bob", "socket": null, "bytes": {"outbound": 0, "inbound": 0}, "idle_seconds": null,
      "drops": {}}]})";
  const boost::json::value merged = boost::json::parse(waygate::stats::merged_stats({one, two}));
  const auto& exit = merged.at("sockets").at(0);
  EXPECT_EQ(exit.at("bytes").at("outbound").to_number<int>(), 150);
  EXPECT_EQ(exit.at("clients").to_number<int>(), 2);
  EXPECT_EQ(exit.at("drops").at("denied").to_number<int>(), 3);
  EXPECT_EQ(exit.at("drops").at("no_route").to_number<int>(), 1);
  EXPECT_EQ(exit.at("nat_sessions").to_number<int>(), 7);
  const auto& alice = merged.at("identities").at(0);
  EXPECT_EQ(alice.at("bytes").at("inbound").to_number<int>(), 1500);
  EXPECT_EQ(alice.at("socket"), "exit");
  EXPECT_EQ(alice.at("idle_seconds").to_number<int>(), 2);  // the least idle
  EXPECT_EQ(merged.at("identities").as_array().size(), 2u);
  EXPECT_NE(waygate::stats::stats_table(waygate::stats::merged_stats({one, two})).find("bob"), std::string::npos);
}
