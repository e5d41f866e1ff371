// The state folder's record of pool addresses (see waygate/directory.hpp).
#include "waygate/directory.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "waygate/files.hpp"

namespace waygate {

namespace {

constexpr const char* kFile = "overlay-addresses";

}  // namespace

Assignments read_assignments(const std::string& state_dir) {
  Assignments out;
  if (state_dir.empty()) return out;
  std::ifstream in(std::filesystem::path(state_dir) / kFile);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, text;
    if (!(words >> key)) continue;
    while (words >> text)
      if (auto a = net::parse_address(text)) out[key].push_back(*a);
  }
  return out;
}

void write_assignments(const std::string& state_dir, const Assignments& assignments) {
  if (state_dir.empty()) return;
  std::filesystem::path dir(state_dir);
  std::string text;
  for (auto& [key, addresses] : assignments) {
    text += key;
    for (auto& a : addresses) text += " " + a.to_string();
    text += "\n";
  }
  write_file_atomically((dir / kFile).string(), text, 0644);
}

}  // namespace waygate
