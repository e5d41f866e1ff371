// POST /v1/sockets without a host: the request body read strictly, the table appended as text
// (the file's own text untouched, strings escaped so nothing can be smuggled into the file), and
// the file replaced only when the new text loads.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "socket_file.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace {

using namespace waygate;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SocketFile, BodyIsReadStrictly) {
  NewSocket s = parse_new_socket(R"({"name":"home-exit","description":"At home","connector":"c1"})");
  EXPECT_EQ(s.name, "home-exit");
  EXPECT_EQ(s.description, "At home");
  EXPECT_EQ(s.connector, "c1");
  EXPECT_EQ(parse_new_socket(R"({"name":"x","description":null})").description, "");
  EXPECT_THROW(parse_new_socket("not json"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket("[1]"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket(R"({"description":"no name"})"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket(R"({"name":"Home Exit"})"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket(R"({"name":"a\"b"})"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket(R"({"name":7})"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket(R"({"name":")" + std::string(65, 'a') + R"("})"), std::invalid_argument);
  // What it reaches beyond the internet and keeps out within it: lists of strings, checked as
  // prefixes when the new file loads.
  NewSocket wide = parse_new_socket(R"({"name":"x","allow":["10.0.0.0/8","fd00::/8"],"deny":[]})");
  EXPECT_EQ(wide.allow, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_TRUE(wide.deny.empty());
  EXPECT_THROW(parse_new_socket(R"({"name":"x","allow":"10.0.0.0/8"})"), std::invalid_argument);
  EXPECT_THROW(parse_new_socket(R"({"name":"x","deny":[8]})"), std::invalid_argument);
}

TEST(SocketFile, AllowAndDenyAreWrittenAndChecked) {
  NewSocket s{"corp", "", "", {"10.0.0.0/8"}, {"10.9.0.0/16"}};
  auto d = Directory::load(Config::parse(with_socket("", s), "t.toml"));
  ASSERT_EQ(d->sockets.size(), 1u);
  EXPECT_EQ(d->sockets[0].allow, std::vector<net::Prefix>{*net::Prefix::parse("10.0.0.0/8")});
  EXPECT_EQ(d->sockets[0].deny, std::vector<net::Prefix>{*net::Prefix::parse("10.9.0.0/16")});
  s.allow = {"10.1.2.3/8"};  // refused where every file is: in the loader, naming the key
  EXPECT_THROW(Directory::load(Config::parse(with_socket("", s), "t.toml")), ConfigError);
}

TEST(SocketFile, TableIsAppendedAndStringsCannotBreakOut) {
  const std::string text = "# the operator's comment\n[[socket]]\nname = \"corporate-exit\"\ntype = \"exit_node\"  # and another";
  const std::string sneaky = "a\"\n[[policy]]\nname = \"everyone\"\norganization_wide = true\npermissions = [\"network\"]\n#'''";
  std::string next = with_socket(text, {"home-exit", sneaky, "c1", {}, {}});
  EXPECT_EQ(next.substr(0, text.size()), text);  // the old text, byte for byte
  auto d = Directory::load(Config::parse(next, "t.toml"));
  ASSERT_EQ(d->sockets.size(), 2u);
  EXPECT_EQ(d->sockets[1].name, "home-exit");
  EXPECT_EQ(d->sockets[1].type, SocketType::exit_node);
  EXPECT_EQ(d->sockets[1].description, sneaky);  // all of it a string, no policy added
  EXPECT_EQ(d->sockets[1].connectors, std::vector<std::string>{"c1"});
  EXPECT_TRUE(d->policies.empty());
}

struct TempFile {
  TempFile() {
    folder = std::filesystem::temp_directory_path() / ("socket_file_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    path = (folder / "connector.toml").string();
    std::ofstream(path) << "# keep me\n[host]\nadmin = \"\"\n";
    ::chmod(path.c_str(), 0604);
  }
  ~TempFile() { std::filesystem::remove_all(folder); }
  std::filesystem::path folder;
  std::string path;
};

TEST(SocketFile, WrittenOnlyWhenTheNewFileLoads) {
  TempFile f;
  const std::string before = read(f.path);
  bool applied = false;
  auto refuse = [](const std::string&) -> std::function<std::string()> { throw std::runtime_error("t.toml:5:1: no"); };
  Response r = create_socket(f.path, R"({"name":"home-exit"})", refuse);
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("t.toml:5:1: no"), std::string::npos) << r.body;
  EXPECT_EQ(read(f.path), before);
  EXPECT_EQ(create_socket(f.path, R"({"name":"Bad"})", refuse).status, 400u);

  std::string checked;
  r = create_socket(f.path, R"({"name":"home-exit","description":"At home"})",
                    [&](const std::string& text) -> std::function<std::string()> {
                      checked = text;
                      return [&] { applied = true; return std::string(); };
                    });
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_TRUE(applied);
  EXPECT_EQ(read(f.path), checked);  // what was checked is what was written
  EXPECT_EQ(checked.substr(0, before.size()), before);
  struct stat st{};
  ASSERT_EQ(::stat(f.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);  // the file's mode is kept
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(f.folder), {}), 1);  // no temporary left

  // Written but not applied (the worker refused it): said so, as an error.
  r = create_socket(f.path, R"({"name":"other"})",
                    [](const std::string&) -> std::function<std::string()> { return [] { return std::string("busy"); }; });
  EXPECT_EQ(r.status, 500u);
  EXPECT_NE(r.body.find("written, but not applied: busy"), std::string::npos) << r.body;
}

}  // namespace
