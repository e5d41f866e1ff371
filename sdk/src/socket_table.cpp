#include "waygate/net/socket_table.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include "waygate/files.hpp"

namespace waygate::net {

namespace {

template <typename T>
std::optional<T> hex(std::string_view digits) {
  T value{};
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return value;
}

// "0100007F:0035" (IPv4) or 32 digits and the port (IPv6). The address is 32-bit words printed as
// the host reads them, so each word's bytes in memory are the address's, in order.
std::optional<SocketEntry> parse_local(std::string_view field) {
  const auto colon = field.find(':');
  if (colon == std::string_view::npos || (colon != 8 && colon != 32)) return std::nullopt;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t word = 0; word < colon / 8; ++word) {
    const auto value = hex<std::uint32_t>(field.substr(word * 8, 8));
    if (!value) return std::nullopt;
    std::memcpy(bytes.data() + word * 4, &*value, 4);
  }
  const auto port = hex<std::uint16_t>(field.substr(colon + 1));
  if (!port) return std::nullopt;
  SocketEntry e;
  e.local = colon == 8 ? Address::v4(std::span<const std::uint8_t, 4>(bytes.data(), 4))
                       : Address::v6(std::span<const std::uint8_t, 16>(bytes));
  e.port = *port;
  return e;
}

}  // namespace

std::vector<SocketEntry> parse_socket_table(std::string_view text) {
  std::vector<SocketEntry> out;
  std::istringstream lines{std::string(text)};
  std::string line;
  std::getline(lines, line);
  // UDP's heading ends with "drops", the count that ends each of its lines.
  std::istringstream heading(line);
  std::string word, final_word;
  while (heading >> word) final_word = word;
  const bool drops = final_word == "drops";
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, last, field;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    auto entry = parse_local(local);
    const auto st = hex<std::uint8_t>(state);
    if (!entry || !st) continue;
    entry->state = *st;
    while (fields >> field) last = field;
    if (drops) entry->drops = std::strtoull(last.c_str(), nullptr, 10);
    out.push_back(*entry);
  }
  return out;
}

std::vector<SocketEntry> socket_table(std::string_view kind) {
  const std::optional<std::string> text = read_file_if_present("/proc/thread-self/net/" + std::string(kind));
  return text ? parse_socket_table(*text) : std::vector<SocketEntry>{};
}

}  // namespace waygate::net
