// The host's part of a config file: every error names file, line, column and key.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "host_config.hpp"

using waygate::ConfigError;
using waygate::parse_host_config;

namespace {

std::string error_of(std::string_view toml) {
  try {
    parse_host_config(toml, "c.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(HostConfig, ReadsStagesInOrder) {
  auto c = parse_host_config(R"(
[host]
admin = ""
plugin_path = ["plugins", "/abs"]
[[stage]]
name = "inside"
plugin = "tun"
mtu = 1400
[[stage]]
name = "outside"
plugin = "tun"
)", "/etc/waygate/c.toml");
  ASSERT_EQ(c.stages.size(), 2u);
  EXPECT_EQ(c.stages[0].name, "inside");
  EXPECT_EQ(c.stages[1].name, "outside");
  EXPECT_EQ(c.admin, "");
  EXPECT_EQ(c.plugin_path, (std::vector<std::string>{"/etc/waygate/plugins", "/abs"}));
  EXPECT_EQ(c.stages[0].table.integer("mtu", 0, 9000), 1400);  // the plugin's keys stay for it
}

TEST(HostConfig, UnknownKeys) {
  EXPECT_EQ(error_of("[host]\nadmin = ''\ncolour = 1\n[[stage]]\nname='a'\nplugin='tun'\n"),
            "c.toml:3:1: [host]: key 'colour': unknown key");
  EXPECT_EQ(error_of("stages = 1\n[[stage]]\nname='a'\nplugin='tun'\n"), "c.toml:1:1: key 'stages': unknown key");
}

TEST(HostConfig, WrongType) {
  EXPECT_EQ(error_of("[host]\nbuffers = 'many'\n[[stage]]\nname='a'\nplugin='tun'\n"),
            "c.toml:2:1: [host]: key 'buffers': expected an integer, got a string");
  EXPECT_EQ(error_of("[[stage]]\nname = 5\nplugin='tun'\n"),
            "c.toml:2:1: key 'name': expected a string, got an integer");
}

TEST(HostConfig, ThePacketPathsNiceIsLeftAloneUnlessSet) {
  const char* stage = "[[stage]]\nname='a'\nplugin='tun'\n";
  EXPECT_FALSE(parse_host_config(stage, "c.toml").nice);
  EXPECT_EQ(parse_host_config(std::string("[host]\nnice = -10\n") + stage, "c.toml").nice, -10);
  EXPECT_EQ(error_of(std::string("[host]\nnice = -21\n") + stage),
            "c.toml:2:1: [host]: key 'nice': expected an integer from -20 to 19, got -21");
}

TEST(HostConfig, DuplicateStageName) {
  EXPECT_EQ(error_of("[[stage]]\nname = 'a'\nplugin = 'tun'\n\n[[stage]]\n  name = 'a'\nplugin = 'tun'\n"),
            "c.toml:6:3: key 'name': stage 'a' is defined twice (first at c.toml:2:1)");
}

TEST(HostConfig, StagesRequired) {
  EXPECT_NE(error_of("[host]\nadmin = ''\n").find("no [[stage]] table"), std::string::npos);
  EXPECT_EQ(error_of("[[stage]]\nname = 'a'\n"), "c.toml:1:1: key 'plugin': missing (a string is required)");
  EXPECT_NE(error_of("[[stage]]\nname = 'Bad Name'\nplugin='tun'\n").find("c.toml:2:1: key 'name'"), std::string::npos);
}

TEST(HostConfig, SameShape) {
  auto a = parse_host_config("[[stage]]\nname='a'\nplugin='tun'\nmtu=1400\n", "c.toml");
  auto b = parse_host_config("[[stage]]\nname='a'\nplugin='tun'\nmtu=1300\n", "c.toml");
  auto c = parse_host_config("[[stage]]\nname='b'\nplugin='tun'\n", "c.toml");
  EXPECT_TRUE(waygate::same_shape(a, b));
  EXPECT_FALSE(waygate::same_shape(a, c));
}

// The connector's name, in what says which connector did what: [host] connector, the one
// [directory] gives, or the machine's host name.
TEST(HostConfig, TheConnectorsName) {
  const std::string stage = "\n[[stage]]\nname = \"stats\"\nplugin = \"stats\"\n";
  EXPECT_EQ(parse_host_config("[host]\nconnector = \"exit-a\"\n" + stage, "c.toml").connector, "exit-a");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string machine(host);
  EXPECT_EQ(parse_host_config(stage, "c.toml").connector, machine.substr(0, machine.find('.')));
  EXPECT_EQ(parse_host_config("[directory]\netcd = [\"http://10.0.0.1:2379\"]\nconnector = \"c1\"\n" + stage, "c.toml").connector,
            "c1");
  EXPECT_NE(error_of("[host]\nconnector = \"Exit A\"\n" + stage).find("a connector name is"), std::string::npos);
  EXPECT_NE(error_of("[host]\nconnector = \"c2\"\n[directory]\netcd = [\"http://10.0.0.1:2379\"]\nconnector = \"c1\"\n" + stage)
                .find("one name, kept in [directory]"),
            std::string::npos);
}


}  // namespace

namespace {
const char* kStage = "[[stage]]\nname = 'a'\nplugin = 'tun'\n";
}

TEST(HostConfig, KeepsNetworkCapabilitiesByDefault) {
  auto c = parse_host_config(std::string("[host]\nadmin = ''\n") + kStage, "c.toml");
  EXPECT_EQ(c.capabilities, (std::vector<std::string>{"cap_net_admin", "cap_net_raw"}));
  EXPECT_EQ(c.user, "");
  // A listener below 1024 is bound after the drop; a stage in another namespace goes back there.
  auto d = parse_host_config(std::string("[host]\nadmin = ''\napi = ['10.64.0.1:80']\n") +
                             "[[stage]]\nname = 'a'\nplugin = 'tun'\nnetns = 'x'\n", "c.toml");
  EXPECT_EQ(d.capabilities,
            (std::vector<std::string>{"cap_net_admin", "cap_net_raw", "cap_net_bind_service", "cap_sys_admin"}));
}

TEST(HostConfig, CapabilitiesAndUser) {
  auto c = parse_host_config(std::string("[host]\nadmin = ''\nuser = 'nobody'\ncapabilities = ['NET_ADMIN']\n") + kStage,
                             "c.toml");
  EXPECT_EQ(c.capabilities, (std::vector<std::string>{"cap_net_admin"}));
  EXPECT_EQ(c.user, "nobody");
  EXPECT_NE(c.uid, 0u);
  EXPECT_EQ(error_of(std::string("[host]\ncapabilities = ['net_fly']\n") + kStage),
            "c.toml:2:1: [host]: key 'capabilities': 'cap_net_fly' is not a capability (see capabilities(7))");
  EXPECT_EQ(error_of(std::string("[host]\nuser = 'no-such-user-here'\n") + kStage),
            "c.toml:2:1: [host]: key 'user': no user 'no-such-user-here' on this system");
  EXPECT_EQ(error_of(std::string("[host]\nuser = 'root'\n") + kStage),
            "c.toml:2:1: [host]: key 'user': 'root' is root: name an unprivileged user");
  EXPECT_EQ(error_of(std::string("[host]\ngroup = 'nogroup'\n") + kStage),
            "c.toml:2:1: [host]: key 'group': a group needs a user");
}

// A FIFO named as the admin token (mode 600, so the mode check passes) used to hold the start, and
// a reload's control thread, in open() until someone wrote to it; SIGTERM could not stop it.
TEST(HostConfig, SecretFilesMustBeRegularFiles) {
  char dir[] = "/tmp/host-config-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/token";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string error =
      error_of(std::string("[host]\nadmin_token_file = '") + fifo + "'\n[[stage]]\nname = 'a'\nplugin = 'tun'\n");
  ::unlink(fifo.c_str());
  ::rmdir(dir);
  EXPECT_EQ(error, "c.toml:2:1: [host]: key 'admin_token_file': token file " + fifo + " is not a regular file");
}

// [directory]: the directory's tables live in etcd; the file then names the members and this
// connector, and holds none of those tables itself.
TEST(HostConfig, DirectoryInEtcd) {
  auto c = parse_host_config(R"(
[directory]
etcd = ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
prefix = "/corp"
connector = "connector-1"
[[stage]]
name = "stats"
plugin = "stats"
)", "c.toml");
  ASSERT_TRUE(c.etcd.has_value());
  EXPECT_EQ(c.etcd->members.size(), 2u);
  EXPECT_EQ(c.etcd->prefix, "/corp/");
  EXPECT_EQ(c.etcd->connector, "connector-1");
  EXPECT_TRUE(c.directory->identities.empty());  // read from etcd by the host, not here

  const std::string stage = "\n[[stage]]\nname = \"stats\"\nplugin = \"stats\"\n";
  EXPECT_NE(error_of("[directory]\netcd = [\"http://10.0.0.1:2379\"]\nconnector = \"c1\"\n[[identity]]\nname = \"a\"\n" + stage)
                .find("the directory comes from etcd ([directory])"),
            std::string::npos);
  EXPECT_NE(error_of("[directory]\netcd = [\"10.0.0.1:2379\"]\nconnector = \"c1\"\n" + stage).find("expected http://HOST:PORT"),
            std::string::npos);
  EXPECT_NE(error_of("[directory]\nconnector = \"c1\"\n" + stage).find("key 'etcd': missing"), std::string::npos);
  EXPECT_NE(error_of("[directory]\netcd = [\"http://10.0.0.1:2379\"]\n" + stage).find("key 'connector'"), std::string::npos);
  EXPECT_NE(error_of("[directory]\netcd = [\"https://10.0.0.1:2379\"]\nconnector = \"c1\"\n" + stage).find("name the cluster's ca"),
            std::string::npos);
  EXPECT_NE(error_of("[directory]\netcd = [\"https://10.0.0.1:2379\"]\nconnector = \"c1\"\nca = \"ca.pem\"\ncert = \"c.pem\"\n" + stage)
                .find("needs both cert and key"),
            std::string::npos);
}

// The overlay addresses recorded in state_dir are read with the file: one from a newer format stops
// `waygate run` and `check` with the refusal, and is left for the version that wrote it.
TEST(HostConfig, OverlayAddressesOfANewerFormatAreRefused) {
  char dir[] = "/tmp/host-config-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/overlay-addresses";
  const std::string newer = "# waygate overlay-addresses 2\n";
  std::ofstream(file) << newer;
  std::string error = "no error";
  try {
    parse_host_config(std::string("[host]\nstate_dir = '") + dir + "'\n[[stage]]\nname = 'a'\nplugin = 'tun'\n", "c.toml");
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  std::ifstream in(file);
  const std::string after(std::istreambuf_iterator<char>(in), {});
  ::unlink(file.c_str());
  ::rmdir(dir);
  EXPECT_NE(error.find(file + ": overlay-addresses state format 2, but this waygate reads up to 1"), std::string::npos) << error;
  EXPECT_EQ(after, newer);
}
