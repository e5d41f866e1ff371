#include "listeners.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <span>

#include <fmt/format.h>

#include "waygate/files.hpp"
#include "waygate/net/socket_table.hpp"

namespace waygate::egress {

namespace {

// 0.0.0.0 and :: stand for every address, an egress address among them.
template <std::size_t N>
bool among(const std::vector<std::array<std::uint8_t, N>>& addresses, std::span<const std::uint8_t> a) {
  const bool any = std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
  return any || std::any_of(addresses.begin(), addresses.end(),
                            [&](const auto& e) { return std::equal(e.begin(), e.end(), a.begin(), a.end()); });
}

}  // namespace

std::vector<std::string> listeners_in_nat_ports(const Settings& s, const std::string& kind, const std::string& text) {
  std::vector<std::string> out;
  const bool tcp = kind.starts_with("tcp");
  for (const net::SocketEntry& e : net::parse_socket_table(text)) {
    if ((tcp && e.state != net::kTcpListen) || e.port < s.ports.first || e.port > s.ports.last) continue;
    const bool v6 = e.local.family() == net::Family::v6;
    if (v6 ? !among(s.egress6, e.local.bytes()) : !among(s.egress4, e.local.bytes())) continue;
    const std::string address = v6 ? "[" + e.local.to_string() + "]" : e.local.to_string();
    out.push_back(fmt::format("{} {}:{}", tcp ? "TCP" : "UDP", address, e.port));
  }
  return out;
}

std::vector<std::string> listeners_in_nat_ports(const Settings& s) {
  std::vector<std::string> out;
  for (const char* kind : {"udp", "udp6", "tcp", "tcp6"}) {
    // A kernel without IPv6 has no udp6 or tcp6: nothing listens there.
    const std::optional<std::string> text = read_file_if_present(std::string("/proc/thread-self/net/") + kind);
    if (text)
      for (auto& l : listeners_in_nat_ports(s, kind, *text)) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace waygate::egress
