// The shaper stage in the rig: limits hold to the byte over time on the fake clock, a socket's
// rate is shared fairly whatever each identity offers, and a quota used up refuses, answers,
// audits and starts again with the next period; its use survives a reload and a restart.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/json.hpp>

#include "waygate/net/headers.hpp"
#include "waygate/testing/packets.hpp"
#include "waygate/testing/rig.hpp"
#include "waygate/testing/scratch_folder.hpp"

namespace {

using waygate::Direction;
using waygate::Listener;
using waygate::Meta;
using waygate::testing::Rig;
using waygate::testing::RigOptions;
namespace json = boost::json;
namespace net = waygate::net;
using namespace std::chrono_literals;

const char* kDirectory = R"(
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
groups = ["staff"]
[[identity]]
name = "bob"
public_key = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w="
groups = ["contractors"]
[[identity]]
name = "carol"
public_key = "Yb8Ri0vLMdTL7u9XSj3hS0M8zMHnGSKsCufJIcF2I2c="
groups = ["contractors"]
[[socket]]
name = "corporate-exit"
type = "exit_node"
)";
constexpr std::uint32_t alice = 0, bob = 1, carol = 2, exit_node = 0;

std::unique_ptr<Rig> shaper(const std::string& keys) {
  RigOptions o;
  o.directory = kDirectory;
  o.buffers = 4096;
  auto r = Rig::load(WAYGATE_SHAPER_PLUGIN, keys, o);
  r->start();
  return r;
}

Meta of(std::uint32_t identity) {
  Meta m;
  m.identity = identity;
  m.socket = exit_node;
  return m;
}

// Pushes `count` packets of 1000 bytes of `who` in direction d; returns how many came through.
std::size_t offer(Rig& r, Direction d, std::uint32_t who, std::size_t count) {
  const auto packet = waygate::testing::udp("198.51.100.10", 443, "10.64.0.2", 40000, std::string(972, 'x'));
  std::size_t passed = 0;
  while (count > 0) {
    const std::size_t n = std::min<std::size_t>(count, 200);
    r.push(d, std::vector<std::vector<std::uint8_t>>(n, packet), of(who));
    passed += r.take(d).size();
    count -= n;
  }
  return passed;
}

TEST(Shaper, AnIdentityLimitHoldsOverTimeAndOthersAreUntouched) {
  auto r = shaper(R"(
[[limit]]
identity = "bob"
down = "8mbit"
)");
  // 8 Mbit/s is 1,000 packets of 1000 bytes a second; the burst saves 100 ms of it.
  std::size_t passed = 0;
  for (int step = 0; step < 100; ++step) {  // 2 seconds, offering 5 times the rate
    passed += offer(*r, Direction::inbound, bob, 100);
    r->advance(20ms);
  }
  EXPECT_NEAR(static_cast<double>(passed), 2000 + 100, 30);
  EXPECT_EQ(r->drops("rate_limited"), 10000 - passed);
  EXPECT_EQ(offer(*r, Direction::outbound, bob, 500), 500u);  // the other direction has no limit
  EXPECT_EQ(offer(*r, Direction::inbound, alice, 500), 500u);
}

TEST(Shaper, AGroupLimitIsTheGroupsTogether) {
  auto r = shaper(R"(
[[limit]]
group = "contractors"
up = "8mbit"
burst = "10ms"
)");
  std::size_t passed = 0;
  for (int step = 0; step < 100; ++step) {
    passed += offer(*r, Direction::outbound, bob, 50) + offer(*r, Direction::outbound, carol, 50);
    r->advance(10ms);
  }
  EXPECT_NEAR(static_cast<double>(passed), 1000 + 20, 30);  // one second of 8 Mbit/s between them
}

// Two identities through one socket limited to 8 Mbit/s (1,000 packets a second), alice offering
// `a` packets every 10 ms and bob `b` (a divisor of `a`); what each got in the last two of four seconds.
std::pair<double, double> share(bool fair, std::size_t a, std::size_t b) {
  auto r = shaper(std::string(R"(
[[limit]]
socket = "corporate-exit"
down = "8mbit"
fair = )") + (fair ? "true" : "false"));
  double got_a = 0, got_b = 0;
  for (int step = 0; step < 400; ++step) {
    // Interleaved, as packets of two clients arrive: a few of each in turn.
    // Interleaved as two clients' packets arrive: bob's spread evenly among alice's.
    for (std::size_t k = 0; k < a; ++k) {
      const std::size_t pa = offer(*r, Direction::inbound, alice, 1);
      const std::size_t pb = (k + 1) % (a / b) == 0 ? offer(*r, Direction::inbound, bob, 1) : 0;
      if (step >= 200) got_a += static_cast<double>(pa), got_b += static_cast<double>(pb);
    }
    r->advance(10ms);
  }
  return {got_a / 2, got_b / 2};  // packets a second
}

TEST(Shaper, ASocketsRateIsSharedFairlyWhateverEachOffers) {
  // Alice offers 8 times what bob does, both more than the socket has: half each when fair...
  auto [a, b] = share(true, 40, 5);
  EXPECT_NEAR(a, 500, 50);
  EXPECT_NEAR(b, 500, 50);
  // ...and in proportion to what they offer when not.
  auto [a2, b2] = share(false, 40, 5);
  EXPECT_GT(a2, 4 * b2);
  // What bob does not use, alice may: he offers 200 a second and gets them all, and alice the
  // rest but the quarter of his use kept free for him to grow into.
  auto [a3, b3] = share(true, 40, 2);
  EXPECT_NEAR(b3, 200, 10);
  EXPECT_NEAR(a3, 750, 30);
}

struct Files : waygate::testing::ScratchFolder {
  Files() : ScratchFolder("shaper-test") {}
  std::string path(const char* name) const { return file(name); }
};

using waygate::testing::read_text;

json::object quota_of(Rig& r, std::string_view identity) {
  auto body = json::parse(r.request(Listener::admin, "GET", "/v1/shaper").body).as_object();
  for (auto& q : body["quotas"].as_array())
    if (q.at("identity").as_string() == identity) return q.as_object();
  return {};
}

TEST(Shaper, AQuotaUsedUpRefusesAnswersAuditsAndRenewsNextPeriod) {
  Files f;
  auto r = shaper(R"(
audit_log = ")" + f.path("audit.log") + R"("
[[quota]]
identity = "bob"
bytes = "10KB"
per = "day"
)");
  EXPECT_EQ(offer(*r, Direction::outbound, bob, 10), 10u);  // 10 x 1000 bytes: all of it
  EXPECT_EQ(offer(*r, Direction::inbound, bob, 1), 0u);
  EXPECT_EQ(offer(*r, Direction::outbound, alice, 5), 5u);  // alice has none
  // An outbound packet is answered from its destination: administratively prohibited.
  r->push(Direction::outbound, waygate::testing::tcp("10.64.0.3", 40000, "198.51.100.10", 443, net::tcpflag::syn),
          of(bob));
  EXPECT_TRUE(r->take(Direction::outbound).empty());
  auto answers = r->take(Direction::inbound);
  ASSERT_EQ(answers.size(), 1u);
  const auto icmp = net::parse_packet(answers[0].bytes);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp.info.src.to_string(), "198.51.100.10");
  EXPECT_EQ(icmp.info.dst.to_string(), "10.64.0.3");
  EXPECT_EQ(icmp.info.icmp_type, net::icmp4::dest_unreachable);
  EXPECT_EQ(icmp.info.icmp_code, 13);
  EXPECT_EQ(r->drops("quota_exhausted"), 2u);
  r->poll();  // the audit line lands
  const std::string audit = read_text(f.path("audit.log"));
  EXPECT_NE(audit.find(R"("event":"quota_exhausted","identity":"bob")"), std::string::npos) << audit;
  EXPECT_NE(audit.find(R"("until":"2026-01-02T00:00:00Z")"), std::string::npos) << audit;
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 1);  // once a period
  EXPECT_TRUE(quota_of(*r, "bob")["exhausted"].as_bool());

  r->advance(24h);  // the rig's calendar starts at 2026-01-01 00:00 UTC
  EXPECT_EQ(offer(*r, Direction::outbound, bob, 3), 3u);
  EXPECT_EQ(quota_of(*r, "bob")["used"].to_number<std::uint64_t>(), 3000u);
  EXPECT_EQ(quota_of(*r, "bob")["start"].as_string(), "2026-01-02T00:00:00Z");
}

TEST(Shaper, QuotaUseSurvivesAReloadAndARestart) {
  Files f;
  const std::string keys = R"(
usage = ")" + f.path("usage") + R"("
[[quota]]
group = "contractors"
bytes = "100KB"
per = "month"
timezone = "Europe/Berlin"
)";
  {
    auto r = shaper(keys);
    offer(*r, Direction::outbound, bob, 30);
    offer(*r, Direction::inbound, carol, 5);
    r->reconfigure(keys + "\n[[limit]]\nidentity = \"alice\"\nup = \"1mbit\"\n");
    EXPECT_EQ(quota_of(*r, "bob")["used"].to_number<std::uint64_t>(), 30000u);
    // Written in the background every 30 s, whole: a process killed now would find this.
    offer(*r, Direction::outbound, bob, 10);
    r->advance(31s);
    r->poll();
    EXPECT_NE(read_text(f.path("usage")).find(R"("identity":"bob","socket":"","start":"2025-12-31T23:00:00Z","bytes":40000)"),
              std::string::npos)
        << read_text(f.path("usage"));
    offer(*r, Direction::outbound, bob, 20);
    r->stop();
  }
  auto again = shaper(keys);
  EXPECT_EQ(quota_of(*again, "bob")["used"].to_number<std::uint64_t>(), 60000u);
  EXPECT_EQ(quota_of(*again, "carol")["used"].to_number<std::uint64_t>(), 5000u);
  EXPECT_EQ(offer(*again, Direction::outbound, bob, 50), 40u);  // 40 KB left this month
}

// The usage file's format version (waygate/state_version.hpp).
const std::string kBobsQuota = "\n[[quota]]\nidentity = \"bob\"\nbytes = \"100KB\"\nper = \"month\"\ntimezone = \"Europe/Berlin\"\n";
const char* kBobsUse = R"({"identity":"bob","socket":"","start":"2025-12-31T23:00:00Z","bytes":40000})";

TEST(Shaper, AUsageFileFromBeforeVersionsIsRead) {
  Files f;
  std::ofstream(f.path("usage")) << kBobsUse << "\n";
  auto r = shaper("usage = \"" + f.path("usage") + "\"" + kBobsQuota);
  EXPECT_EQ(quota_of(*r, "bob")["used"].to_number<std::uint64_t>(), 40000u);
}

TEST(Shaper, UsageIsWrittenUnderAHeader) {
  Files f;
  {
    auto r = shaper("usage = \"" + f.path("usage") + "\"" + kBobsQuota);
    offer(*r, Direction::outbound, bob, 1);
    r->advance(31s);
    r->poll();
    EXPECT_NE(read_text(f.path("usage")).find("# waygate quota-usage 1\n"), std::string::npos) << read_text(f.path("usage"));
    r->stop();
  }
  EXPECT_EQ(read_text(f.path("usage")).rfind("# waygate quota-usage 1\n{", 0), 0u) << read_text(f.path("usage"));
  auto again = shaper("usage = \"" + f.path("usage") + "\"" + kBobsQuota);
  EXPECT_EQ(quota_of(*again, "bob")["used"].to_number<std::uint64_t>(), 1000u);
}

TEST(Shaper, AUsageFileOfANewerFormatIsRefusedAndLeftAsItWas) {
  Files f;
  // Anywhere in the file: a snapshot's lines land in any order.
  const std::string newer = std::string(kBobsUse) + "\n# waygate quota-usage 2\n";
  std::ofstream(f.path("usage")) << newer;
  RigOptions o;
  o.directory = kDirectory;
  try {
    Rig::load(WAYGATE_SHAPER_PLUGIN, "usage = \"" + f.path("usage") + "\"" + kBobsQuota, o);
    FAIL() << "a newer usage file was read";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(f.path("usage") + ": quota-usage state format 2, but this waygate reads up to 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_text(f.path("usage")), newer);
}

TEST(Shaper, ABrokenUsageFileIsRefusedByName) {
  Files f;
  {
    std::ofstream out(f.path("usage"));
    out << R"({"identity":"bob","socket":"","start":"2026-01-01T00:00:00Z","bytes":1})" "\n" << "{\"identity\":\n";
  }
  RigOptions o;
  o.directory = kDirectory;
  try {
    Rig::load(WAYGATE_SHAPER_PLUGIN, "usage = \"" + f.path("usage") + "\"\n[[quota]]\nidentity = \"bob\"\nbytes = \"1GB\"", o);
    FAIL() << "a broken usage file was accepted";
  } catch (const waygate::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("usage:2: not a JSON object"), std::string::npos) << e.what();
  }
}

}  // namespace

// Two workers ([host] workers = 2), each seeing its own clients' packets, as their peers' keys
// decide (here bob's or alice's on the first, carol's or bob's on the second).
std::vector<std::unique_ptr<Rig>> shapers(const std::string& keys) {
  RigOptions o;
  o.directory = kDirectory;
  o.buffers = 4096;
  auto w = Rig::load_workers(2, WAYGATE_SHAPER_PLUGIN, keys, o);
  for (auto& r : w) r->start();
  return w;
}
// 10 ms on both workers' clocks, and the reports they handed each other.
void tick(const std::vector<std::unique_ptr<Rig>>& w) {
  for (auto& r : w) r->advance(10ms);
  for (auto& r : w) r->poll();
}

// A group's rate is its members' together, split between the workers by what each asks: bob
// alone on the first gets all of it (an even split would give him half), and with carol sending
// as much on the second they get half each.
TEST(Shaper, TwoWorkersShareAGroupsRateByWhatEachAsks) {
  auto w = shapers("[[limit]]\ngroup = \"contractors\"\nup = \"8mbit\"\nburst = \"10ms\"\n");
  double alone = 0, bob_got = 0, carol_got = 0;
  for (int step = 0; step < 100; ++step) {
    const auto got = offer(*w[0], Direction::outbound, bob, 50);
    if (step >= 50) alone += static_cast<double>(got);
    tick(w);
  }
  EXPECT_NEAR(alone * 2, 1000, 80) << "packets a second, bob alone";
  for (int step = 0; step < 100; ++step) {
    const auto b = offer(*w[0], Direction::outbound, bob, 50), c = offer(*w[1], Direction::outbound, carol, 50);
    if (step >= 50) bob_got += static_cast<double>(b), carol_got += static_cast<double>(c);
    tick(w);
  }
  EXPECT_NEAR((bob_got + carol_got) * 2, 1000, 80) << "packets a second between them";
  EXPECT_NEAR(bob_got * 2, 500, 80);
  EXPECT_NEAR(carol_got * 2, 500, 80);
}

// A socket's fair level is computed over both workers' identities: alice (first worker) offering
// eight times what bob (second) does, both more than the socket has, get half each.
TEST(Shaper, TwoWorkersShareASocketFairly) {
  auto w = shapers("[[limit]]\nsocket = \"corporate-exit\"\ndown = \"8mbit\"\nfair = true\n");
  double a = 0, b = 0;
  for (int step = 0; step < 400; ++step) {
    const auto pa = offer(*w[0], Direction::inbound, alice, 40), pb = offer(*w[1], Direction::inbound, bob, 5);
    if (step >= 200) a += static_cast<double>(pa), b += static_cast<double>(pb);
    tick(w);
  }
  EXPECT_NEAR(a / 2, 500, 60);
  EXPECT_NEAR(b / 2, 500, 60);
}

// A quota counts bob's use on both workers: once it is used up together, both refuse him; the
// first worker writes the one audit line and the usage file.
TEST(Shaper, TwoWorkersCountAQuotaTogether) {
  Files f;
  auto w = shapers("audit_log = \"" + f.path("audit.log") + "\"\nusage = \"" + f.path("usage") +
                   "\"\n[[quota]]\nidentity = \"bob\"\nbytes = \"10KB\"\nper = \"day\"\n");
  EXPECT_EQ(offer(*w[0], Direction::outbound, bob, 5), 5u);
  EXPECT_EQ(offer(*w[1], Direction::outbound, bob, 4), 4u);
  for (int i = 0; i < 6; ++i) tick(w);  // a report each way
  EXPECT_EQ(quota_of(*w[0], "bob")["used"].to_number<std::uint64_t>(), 9000u);
  EXPECT_EQ(offer(*w[1], Direction::outbound, bob, 3), 1u) << "the tenth thousand, then no more";
  for (int i = 0; i < 6; ++i) tick(w);
  EXPECT_EQ(offer(*w[0], Direction::outbound, bob, 2), 0u) << "the first worker knows it is used up";
  EXPECT_TRUE(quota_of(*w[0], "bob")["exhausted"].as_bool());
  for (auto& r : w) r->stop();
  const std::string audit = read_text(f.path("audit.log"));
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 1) << audit;
  EXPECT_NE(audit.find(R"("event":"quota_exhausted","identity":"bob")"), std::string::npos) << audit;
  EXPECT_NE(read_text(f.path("usage")).find(R"("identity":"bob","socket":"","start":"2026-01-01T00:00:00Z","bytes":10000)"),
            std::string::npos)
      << read_text(f.path("usage"));
}
