// The client's pieces that need no root: its config and the errors it names, the selection file,
// the lockdown table and the resolver file it would write, and the stage in the rig (packets pass
// untouched; a broken selection file is an error in the log, never a crash). Routes, the resolver
// and lockdown on a real host are in tests/integration/client_exit.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "selection.hpp"
#include "settings.hpp"
#include "waygate/testing/rig.hpp"

using waygate::Config;
using waygate::ConfigError;
using waygate::Direction;
using namespace waygate::client;

namespace {

std::string temp(const std::string& name) {
  return fmt::format("{}/client-{}-{}", ::testing::TempDir(), ::getpid(), name);
}

Settings read(const std::string& toml) { return Settings::read(Config::parse(toml, "client.toml"), "exit"); }

std::string error_of(const std::string& toml) {
  try {
    read(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const char* kGood = R"(device = "waygate0"
[[connector]]
name = "connector-1"
api = "10.64.0.1"
[[connector]]
name = "connector-2"
api = "[fd65::1]:8080"
)";

}  // namespace

TEST(ClientSettings, ReadsConnectorsAndDefaults) {
  Settings s = read(kGood);
  EXPECT_EQ(s.device, "waygate0");
  EXPECT_EQ(s.stage, "exit");
  ASSERT_EQ(s.connectors.size(), 2u);
  EXPECT_EQ(s.connectors[0].api, "10.64.0.1:80");  // port 80 unless said
  EXPECT_EQ(s.connectors[1].api, "[fd65::1]:8080");
  EXPECT_EQ(s.resolv_conf, "/etc/resolv.conf");
  EXPECT_TRUE(s.dns);
}

TEST(ClientSettings, ErrorsNameTheKeyAndLine) {
  EXPECT_NE(error_of("[[connector]]\nname = \"c\"\napi = \"10.64.0.1\"\n").find("key 'device'"), std::string::npos);
  EXPECT_NE(error_of("device = \"waygate0\"\n").find("connector"), std::string::npos);
  std::string bad_api = error_of("device = \"d\"\n[[connector]]\nname = \"c\"\napi = \"vpn.example.com\"\n");
  EXPECT_NE(bad_api.find("client.toml:4:"), std::string::npos) << bad_api;
  EXPECT_NE(bad_api.find("key 'api'"), std::string::npos) << bad_api;
  EXPECT_NE(error_of("device = \"d\"\n[[connector]]\nname = \"c\"\napi = \"10.64.0.1:99999\"\n").find("key 'api'"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kGood) + "[[connector]]\nname = \"connector-1\"\napi = \"10.66.0.1\"\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kGood) + "colour = \"blue\"\n").find("colour"), std::string::npos);
}

TEST(ClientSelection, SurvivesTheFileWithWhatWasInstalled) {
  std::string path = temp("selection.json");
  EXPECT_FALSE(load_selection(path).has_value());
  Selection s{"connector-1", "corporate-exit", {"192.0.2.1:51820", "192.0.2.2:51820"}, {"0.0.0.0/1", "128.0.0.0/1"}, {"198.51.100.53"}, true, std::nullopt};
  s.installed = Installed{{{"192.0.2.1/32", "eth0", "192.0.2.254"}, {"0.0.0.0/1", "waygate0", ""}},
                          "/etc/resolv.conf", "nameserver 192.0.2.53\n", "nameserver 198.51.100.53\n", "waygate_exit"};
  save_selection(path, s);
  auto back = load_selection(path);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->exit_node, "corporate-exit");
  EXPECT_EQ(back->routes, s.routes);
  EXPECT_EQ(back->endpoints, s.endpoints);
  EXPECT_TRUE(back->lockdown);
  ASSERT_TRUE(back->installed.has_value());
  EXPECT_EQ(back->installed->routes, s.installed->routes);
  EXPECT_EQ(back->installed->resolver_before, "nameserver 192.0.2.53\n");
  EXPECT_EQ(back->installed->lockdown_table, "waygate_exit");

  std::ofstream(path) << "{\"connector\": 1}";
  try {
    load_selection(path);
    FAIL() << "a broken selection file loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  forget_selection(path);
  EXPECT_FALSE(load_selection(path).has_value());
}

// The selection file's format version (waygate/state_version.hpp).
namespace {

const char* kSelectionBeforeVersions =
    R"({"connector":"connector-1","exit_node":"corporate-exit","endpoints":["192.0.2.1:51820"],"routes":["0.0.0.0/1"],)"
    R"("dns":["198.51.100.53"],"lockdown":true,"installed":null})";
const char* kSelectionOfANewerFormat =
    R"({"version":2,"connectors":[{"name":"connector-1"}],"exit_node":"corporate-exit","installed":{"routes":[]}})";

std::string contents(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(ClientSelection, AFileFromBeforeVersionsIsRead) {
  std::string path = temp("old-selection.json");
  std::ofstream(path) << kSelectionBeforeVersions << "\n";
  auto s = load_selection(path);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->connector, "connector-1");
  EXPECT_EQ(s->endpoints, std::vector<std::string>{"192.0.2.1:51820"});
  EXPECT_TRUE(s->lockdown);
  EXPECT_FALSE(s->installed.has_value());
  forget_selection(path);
}

TEST(ClientSelection, IsSavedWithItsFormatVersion) {
  std::string path = temp("saved-selection.json");
  save_selection(path, Selection{"connector-1", "corporate-exit", {"192.0.2.1:51820"}, {}, {}, false, std::nullopt});
  EXPECT_EQ(contents(path).rfind(R"({"version":1,)", 0), 0u) << contents(path);
  forget_selection(path);
}

TEST(ClientSelection, ANewerFormatIsRefusedAndLeftAsItWas) {
  std::string path = temp("newer-selection.json");
  std::ofstream(path) << kSelectionOfANewerFormat;
  try {
    load_selection(path);
    FAIL() << "a newer selection was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": exit-node-selection state format 2, but this waygate reads up to 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(contents(path), kSelectionOfANewerFormat);
  forget_selection(path);
}

TEST(ClientSelection, LockdownLetsOutOnlyTheTunnel) {
  EXPECT_EQ(lockdown_table("corp-exit"), "waygate_corp_exit");
  EXPECT_EQ(lockdown_script("waygate_exit", "waygate0", {"192.0.2.1:51820"}),
            "table inet waygate_exit\ndelete table inet waygate_exit\ntable inet waygate_exit {\n"
            "\tchain output {\n\t\ttype filter hook output priority filter; policy drop;\n"
            "\t\toifname \"lo\" accept\n\t\toifname \"waygate0\" accept\n"
            "\t\tip daddr 192.0.2.1 udp dport 51820 accept\n"
            "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept\n"
            "\t\tudp sport 68 udp dport 67 accept\n\t\tudp sport 546 udp dport 547 accept\n"
            "\t\tcounter comment \"outside the tunnel: dropped\"\n\t}\n"
            "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n"
            "\t\toifname \"waygate0\" accept\n\t\tcounter comment \"outside the tunnel: dropped\"\n\t}\n}\n");
  // An exit node on two connectors: a way out to each.
  const std::string two = lockdown_script("t", "wg0", {"[2001:db8::1]:51820", "192.0.2.2:51821"});
  EXPECT_NE(two.find("ip6 daddr 2001:db8::1 udp dport 51820 accept\n\t\tip daddr 192.0.2.2 udp dport 51821 accept"),
            std::string::npos);
}

TEST(ClientSelection, ResolverKeepsSearchAndOptions) {
  std::string text = resolver_text("nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n# a comment\n",
                                   {"198.51.100.53", "2001:db8::53"}, "corporate-exit");
  EXPECT_NE(text.find("exit node corporate-exit"), std::string::npos);
  EXPECT_NE(text.find("\nnameserver 198.51.100.53\nnameserver 2001:db8::53\nsearch corp.example\noptions edns0\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("192.0.2.53"), std::string::npos);
}

TEST(ClientStage, PassesPacketsUntouchedAndSurvivesABrokenSelection) {
  std::string state = temp("stage-selection.json");
  std::ofstream(state) << "not json";
  auto rig = waygate::testing::Rig::load(WAYGATE_CLIENT_PLUGIN, fmt::format("state = \"{}\"\n{}", state, kGood));
  rig->start();
  bool logged = false;
  for (auto& line : rig->log()) logged |= line.find(state) != std::string::npos;
  EXPECT_TRUE(logged) << "a selection file that does not read is said in the log";

  std::vector<std::uint8_t> packet(60, 0x45);
  rig->push(Direction::outbound, packet);
  rig->push(Direction::inbound, packet);
  auto out = rig->take(Direction::outbound), in = rig->take(Direction::inbound);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(out[0].bytes, packet);
  EXPECT_EQ(in[0].bytes, packet);
  rig->stop();
  std::remove(state.c_str());
}

TEST(ClientStage, LeavesASelectionOfANewerFormatAsItWas) {
  std::string state = temp("stage-newer-selection.json");
  std::ofstream(state) << kSelectionOfANewerFormat;
  auto rig = waygate::testing::Rig::load(WAYGATE_CLIENT_PLUGIN, fmt::format("state = \"{}\"\n{}", state, kGood));
  rig->start();
  rig->stop();
  bool logged = false;
  for (auto& line : rig->log()) logged |= line.find(state + ": exit-node-selection state format 2") != std::string::npos;
  EXPECT_TRUE(logged) << "the refusal is said in the log";
  EXPECT_EQ(contents(state), kSelectionOfANewerFormat);
  std::remove(state.c_str());
}
