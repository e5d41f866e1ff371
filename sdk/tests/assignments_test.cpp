// The state folder's `overlay-addresses`: a file from before versions is read, one written now
// carries its header, and one from a newer format is refused and left as it was.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "waygate/directory.hpp"

namespace waygate {
namespace {

constexpr const char* kAlice = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=";
constexpr const char* kBob = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w=";

struct StateFolder {
  StateFolder() : dir(std::filesystem::temp_directory_path() / ("assignments-test-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir);
  }
  ~StateFolder() { std::filesystem::remove_all(dir); }
  std::string file() const { return (dir / "overlay-addresses").string(); }
  std::filesystem::path dir;
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

net::Address ip(const char* text) { return *net::parse_address(text); }

TEST(Assignments, AFileFromBeforeVersionsIsRead) {
  StateFolder f;
  std::ofstream(f.file()) << kAlice << " 10.64.0.2 fd64::2\n" << kBob << " 10.64.0.3\n";
  Assignments a = read_assignments(f.dir.string());
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[kAlice], (std::vector<net::Address>{ip("10.64.0.2"), ip("fd64::2")}));
  EXPECT_EQ(a[kBob], std::vector<net::Address>{ip("10.64.0.3")});
}

TEST(Assignments, AreWrittenUnderAHeaderAndReadBack) {
  StateFolder f;
  const Assignments a{{kAlice, {ip("10.64.0.2"), ip("fd64::2")}}, {kBob, {ip("10.64.0.3")}}};
  write_assignments(f.dir.string(), a);
  EXPECT_EQ(read(f.file()), std::string("# waygate overlay-addresses 1\n") + kBob + " 10.64.0.3\n" + kAlice +
                                " 10.64.0.2 fd64::2\n");  // by key
  EXPECT_EQ(read_assignments(f.dir.string()), a);
}

TEST(Assignments, ANewerFormatIsRefusedAndLeftAsItWas) {
  StateFolder f;
  const std::string newer = std::string("# waygate overlay-addresses 2\n") + kAlice + " 10.64.0.2 since=2026-01-01\n";
  std::ofstream(f.file()) << newer;
  try {
    read_assignments(f.dir.string());
    FAIL() << "a newer format was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(f.file() + ": overlay-addresses state format 2, but this waygate reads up to 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read(f.file()), newer);
}

TEST(Assignments, NoFileIsNoneAndAFileThatCannotBeReadIsAnError) {
  StateFolder f;
  EXPECT_TRUE(read_assignments(f.dir.string()).empty());
  EXPECT_TRUE(read_assignments("").empty());
  std::filesystem::create_directory(f.file());  // there, but not a file to read
  EXPECT_THROW(read_assignments(f.dir.string()), std::runtime_error);
}

}  // namespace
}  // namespace waygate
