#include "listeners.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "waygate/files.hpp"
#include "waygate/net/headers.hpp"

namespace waygate::egress {

namespace {

constexpr const char* kTcpListen = "0A";  // the kernel's TCP_LISTEN, as /proc/net/tcp prints it

// "0100007F" (IPv4) or 32 digits (IPv6): 32-bit words printed as the host reads them, so the
// bytes in memory of each word are the address's, in order.
bool parse_address(const std::string& hex, std::uint8_t* out, std::size_t size) {
  if (hex.size() != size * 2) return false;
  for (std::size_t word = 0; word < size / 4; ++word) {
    std::uint32_t value = 0;
    try {
      value = static_cast<std::uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
    } catch (const std::exception&) {
      return false;
    }
    std::memcpy(out + word * 4, &value, 4);
  }
  return true;
}

template <std::size_t N>
bool among(const std::vector<std::array<std::uint8_t, N>>& addresses, const std::array<std::uint8_t, N>& a) {
  const bool any = std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
  return any || std::find(addresses.begin(), addresses.end(), a) != addresses.end();
}

}  // namespace

std::vector<std::string> listeners_in_nat_ports(const Settings& s, const std::string& kind, const std::string& text) {
  std::vector<std::string> out;
  const bool v6 = kind.back() == '6';
  const bool tcp = kind.starts_with("tcp");
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // the heading
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    if (tcp && state != kTcpListen) continue;
    const auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    unsigned port = 0;
    try {
      port = static_cast<unsigned>(std::stoul(local.substr(colon + 1), nullptr, 16));
    } catch (const std::exception&) {
      continue;
    }
    if (port < s.ports.first || port > s.ports.last) continue;
    std::string where;
    if (v6) {
      Address6 a{};
      if (!parse_address(local.substr(0, colon), a.data(), a.size()) || !among(s.egress6, a)) continue;
      where = fmt::format("[{}]:{}", net::Address::v6(std::span<const std::uint8_t, 16>(a)).to_string(), port);
    } else {
      Address4 a{};
      if (!parse_address(local.substr(0, colon), a.data(), a.size()) || !among(s.egress4, a)) continue;
      where = fmt::format("{}:{}", net::Address::v4(std::span<const std::uint8_t, 4>(a)).to_string(), port);
    }
    out.push_back(fmt::format("{} {}", tcp ? "TCP" : "UDP", where));
  }
  return out;
}

std::vector<std::string> listeners_in_nat_ports(const Settings& s) {
  std::vector<std::string> out;
  for (const char* kind : {"udp", "udp6", "tcp", "tcp6"}) {
    // A kernel without IPv6 has no udp6 or tcp6: nothing listens there.
    const std::optional<std::string> text = read_file_if_present(std::string("/proc/net/") + kind);
    if (text)
      for (auto& l : listeners_in_nat_ports(s, kind, *text)) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace waygate::egress
