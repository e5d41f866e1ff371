#include "waygate/state_version.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

namespace waygate {

void check_state_version(const std::string& path, std::string_view kind, int found, int newest,
                         std::string_view remedy) {
  if (found < 0) throw std::runtime_error(fmt::format("{}: {} state format {} is not a version", path, kind, found));
  if (found > newest)
    throw std::runtime_error(fmt::format(
        "{}: {} state format {}, but this waygate reads up to {} (written by a newer version? downgrade refused; {})",
        path, kind, found, newest, remedy));
}

std::string state_header(std::string_view kind, int version) {
  return fmt::format("# waygate {} {}", kind, version);
}

std::optional<int> state_header_version(const std::string& path, std::string_view kind, std::string_view line) {
  const std::string start = fmt::format("# waygate {} ", kind);
  if (!line.starts_with(start)) return std::nullopt;
  const std::string_view number = line.substr(start.size());
  const bool digits = std::all_of(number.begin(), number.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (number.empty() || number.size() > 9 || !digits)
    throw std::runtime_error(fmt::format("{}: the header line '{}' does not end in a version", path, line));
  return std::stoi(std::string(number));
}

}  // namespace waygate
