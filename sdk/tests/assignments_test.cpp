// The state folder's `overlay-addresses`: a file from before versions is read, one written now
// carries its header, and one from a newer format is refused and left as it was.
#include <gtest/gtest.h>

#include <fstream>

#include "waygate/directory.hpp"
#include "waygate/testing/scratch_folder.hpp"

namespace waygate {
namespace {

constexpr const char* kAlice = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=";
constexpr const char* kBob = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w=";

// The state folder, and its file of overlay addresses.
struct StateFolder : waygate::testing::ScratchFolder {
  StateFolder() : ScratchFolder("assignments-test") {}
  std::string file() const { return ScratchFolder::file("overlay-addresses"); }
};

using waygate::testing::read_text;

net::Address ip(const char* text) { return *net::parse_address(text); }

TEST(Assignments, AFileFromBeforeVersionsIsRead) {
  StateFolder f;
  std::ofstream(f.file()) << kAlice << " 10.64.0.2 fd64::2\n" << kBob << " 10.64.0.3\n";
  Assignments a = read_assignments(f.path().string());
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[kAlice], (std::vector<net::Address>{ip("10.64.0.2"), ip("fd64::2")}));
  EXPECT_EQ(a[kBob], std::vector<net::Address>{ip("10.64.0.3")});
}

TEST(Assignments, AreWrittenUnderAHeaderAndReadBack) {
  StateFolder f;
  const Assignments a{{kAlice, {ip("10.64.0.2"), ip("fd64::2")}}, {kBob, {ip("10.64.0.3")}}};
  write_assignments(f.path().string(), a);
  EXPECT_EQ(read_text(f.file()), std::string("# waygate overlay-addresses 1\n") + kBob + " 10.64.0.3\n" + kAlice +
                                " 10.64.0.2 fd64::2\n");  // by key
  EXPECT_EQ(read_assignments(f.path().string()), a);
}

TEST(Assignments, ANewerFormatIsRefusedAndLeftAsItWas) {
  StateFolder f;
  const std::string newer = std::string("# waygate overlay-addresses 2\n") + kAlice + " 10.64.0.2 since=2026-01-01\n";
  std::ofstream(f.file()) << newer;
  try {
    read_assignments(f.path().string());
    FAIL() << "a newer format was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(f.file() + ": overlay-addresses state format 2, but this waygate reads up to 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_text(f.file()), newer);
}

TEST(Assignments, NoFileIsNoneAndAFileThatCannotBeReadIsAnError) {
  StateFolder f;
  EXPECT_TRUE(read_assignments(f.path().string()).empty());
  EXPECT_TRUE(read_assignments("").empty());
  std::filesystem::create_directory(f.file());  // there, but not a file to read
  EXPECT_THROW(read_assignments(f.path().string()), std::runtime_error);
}

}  // namespace
}  // namespace waygate
