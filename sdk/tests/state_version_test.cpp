// State files' format versions: a header line says its kind and version, a version this build
// reads passes, a newer one is refused naming the file and both versions.
#include "waygate/state_version.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace waygate {
namespace {

std::string refusal(int found, int newest) {
  try {
    check_state_version("/var/lib/waygate/overlay-addresses", "overlay-addresses", found, newest);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(StateVersion, ThisAndOlderVersionsAreRead) {
  EXPECT_EQ(refusal(0, 2), "");  // a file from before versions
  EXPECT_EQ(refusal(1, 2), "");
  EXPECT_EQ(refusal(2, 2), "");
}

TEST(StateVersion, ANewerVersionIsRefusedNamingFileAndVersions) {
  EXPECT_EQ(refusal(3, 2),
            "/var/lib/waygate/overlay-addresses: overlay-addresses state format 3, but this waygate reads up to 2 "
            "(written by a newer version? downgrade refused; move the file away to start afresh)");
  EXPECT_NE(refusal(-1, 2).find("is not a version"), std::string::npos);
}

TEST(StateVersion, ARemedyOtherThanStartingAfreshIsSaid) {
  try {
    check_state_version("/s", "selection", 2, 1, "it records routes: remove them first");
    FAIL() << "a newer version was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("downgrade refused; it records routes: remove them first)"), std::string::npos)
        << e.what();
  }
}

TEST(StateVersion, AHeaderLineSaysItsKindAndVersion) {
  EXPECT_EQ(state_header("usage", 1), "# waygate usage 1");
  EXPECT_EQ(state_header_version("/s", "usage", state_header("usage", 12)), 12);
  // Not this kind's header: data of a file from before versions.
  EXPECT_EQ(state_header_version("/s", "usage", "{\"identity\":\"bob\"}"), std::nullopt);
  EXPECT_EQ(state_header_version("/s", "usage", "# waygate history 1"), std::nullopt);
  EXPECT_EQ(state_header_version("/s", "usage", ""), std::nullopt);
  for (const char* bad : {"# waygate usage ", "# waygate usage x", "# waygate usage -1", "# waygate usage 1 2",
                          "# waygate usage 99999999999"})
    EXPECT_THROW(state_header_version("/s", "usage", bad), std::runtime_error) << bad;
}

}  // namespace
}  // namespace waygate
