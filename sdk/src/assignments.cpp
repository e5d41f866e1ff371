// The state folder's record of pool addresses (see waygate/directory.hpp).
#include "waygate/directory.hpp"

#include <filesystem>
#include <sstream>

#include "waygate/files.hpp"
#include "waygate/state_version.hpp"

namespace waygate {

namespace {

constexpr const char* kFile = "overlay-addresses";
// 0: one line per identity, "<public key> <address> [<address>]". 1: the same under a header line.
constexpr int kVersion = 1;

}  // namespace

Assignments read_assignments(const std::string& state_dir) {
  Assignments out;
  if (state_dir.empty()) return out;
  const std::string path = (std::filesystem::path(state_dir) / kFile).string();
  const std::optional<std::string> text = read_file_if_present(path);
  if (!text) return out;
  auto take = [&out](const std::string& line) {
    std::istringstream words(line);
    std::string key, address;
    if (!(words >> key)) return;
    while (words >> address)
      if (auto a = net::parse_address(address)) out[key].push_back(*a);
  };
  std::istringstream lines(*text);
  std::string line;
  std::getline(lines, line);
  const std::optional<int> header = state_header_version(path, kFile, line);
  check_state_version(path, kFile, header.value_or(0), kVersion);
  if (!header) take(line);  // a file from before versions: its first line is an identity's
  while (std::getline(lines, line)) take(line);
  return out;
}

void write_assignments(const std::string& state_dir, const Assignments& assignments) {
  if (state_dir.empty()) return;
  std::filesystem::path dir(state_dir);
  std::string text = state_header(kFile, kVersion) + "\n";
  for (auto& [key, addresses] : assignments) {
    text += key;
    for (auto& a : addresses) text += " " + a.to_string();
    text += "\n";
  }
  write_file_atomically((dir / kFile).string(), text, 0644);
}

}  // namespace waygate
