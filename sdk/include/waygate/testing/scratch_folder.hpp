// A folder of a test's own for the files a plugin (or the host) reads and writes: state files,
// configs, logs. Removed with everything in it when the test ends.
//
//   waygate::testing::ScratchFolder folder("quota-test");
//   std::ofstream(folder.file("usage")) << "...";
//   EXPECT_EQ(waygate::testing::read_text(folder.file("usage")), "...");
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace waygate::testing {

class ScratchFolder {
 public:
  // Under the system's temporary folder, named after `what` and the process (tests run in
  // parallel, each in a process of its own).
  explicit ScratchFolder(std::string_view what)
      : path_(std::filesystem::temp_directory_path() / (std::string(what) + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole text of a file; "" when there is none.
inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace waygate::testing
