// Loading plugins: a missing file, a shared object that is no plugin, and a plugin of another ABI
// version are each a clear LoadError naming the file.
#include <gtest/gtest.h>

#include <fstream>

#include "loader.hpp"
#include "plugin_catalog.hpp"

using waygate::LoadError;
using waygate::PluginLibrary;

namespace {

std::string error_of(const std::string& path) {
  try {
    PluginLibrary::open(path);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "no error";
}

const std::string kTest = WAYGATE_TEST_PLUGINS;

TEST(Loader, LoadsAStockPlugin) {
  auto lib = PluginLibrary::open(std::string(WAYGATE_BUILD_PLUGINS) + "/waygate-tun.so");
  EXPECT_STREQ(lib->info().name, "tun");
  EXPECT_EQ(lib->info().abi, waygate::kAbiVersion);
}

TEST(Loader, MissingFile) {
  EXPECT_EQ(error_of("/nonexistent/waygate-x.so"), "plugin /nonexistent/waygate-x.so: no such file");
}

TEST(Loader, MissingSymbol) {
  std::string path = kTest + "/waygate-no-symbol.so";
  EXPECT_EQ(error_of(path), "plugin " + path +
                                ": no symbol 'waygate_plugin': not a Waygate plugin (register it with WAYGATE_PLUGIN)");
}

TEST(Loader, WrongAbiNamesBothVersions) {
  std::string path = kTest + "/waygate-wrong-abi.so";
  std::string e = error_of(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("built for Waygate SDK ABI " + waygate::abi_text(waygate::kAbiVersion + 1)), std::string::npos) << e;
  EXPECT_NE(e.find("this host uses ABI " + waygate::abi_text(waygate::kAbiVersion)), std::string::npos) << e;
}

TEST(Loader, NotAnElfFileSaysWhy) {
  std::string path = ::testing::TempDir() + "/waygate-text.so";
  std::ofstream(path) << "not a shared object\n";
  std::string e = error_of(path);
  EXPECT_NE(e.find("cannot load"), std::string::npos) << e;
  EXPECT_NE(e.find("waygate-text.so"), std::string::npos) << e;
}

TEST(Catalog, FindsByNameOnThePathAndCaches) {
  waygate::PluginCatalog catalog({});
  auto a = catalog.find("probe", {"/nonexistent", kTest});
  auto b = catalog.find("probe", {kTest});
  EXPECT_EQ(a, b);
  try {
    catalog.find("nope", {"/nonexistent"});
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_STREQ(e.what(), "unknown plugin 'nope': no waygate-nope.so in /nonexistent");
  }
}

}  // namespace
