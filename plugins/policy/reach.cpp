#include "reach.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace waygate::policy {

namespace {

net::Prefix host(const net::Address& a) { return net::Prefix::of(a, static_cast<std::uint8_t>(a.size() * 8)); }

std::vector<std::string> texts(const std::vector<net::Prefix>& prefixes) {
  std::vector<std::string> out;
  for (auto& p : prefixes) out.push_back(p.to_string());
  return out;
}

}  // namespace

void Reach::build(const Directory& d, const std::vector<net::Address>& own) {
  own_ = own;
  tables_.assign(d.sockets.size(), Table{});
  std::vector<net::Prefix> pools;
  for (auto& pool : {d.overlay.pool4, d.overlay.pool6})
    if (pool) pools.push_back(*pool);
  for (std::size_t s = 0; s < d.sockets.size(); ++s) {
    const Socket& sock = d.sockets[s];
    if (sock.type != SocketType::exit_node) continue;
    // In rising precedence: where two entries have the same prefix, the later decides.
    auto entries = net::internet_entries();
    for (auto& p : pools)
      entries.push_back({p, {false, p.to_string() + " is the overlay: other clients are not reached through an exit node"}});
    for (auto& a : own) entries.push_back({host(a), {false, a.to_string() + " is an address of the connector itself"}});
    for (auto& a : sock.dns)
      entries.push_back({host(a), {true, a.to_string() + " is a DNS server socket '" + sock.name + "' hands its clients"}});
    for (auto& p : sock.allow)
      entries.push_back({p, {true, "allowed by socket '" + sock.name + "': allow " + p.to_string()}});
    for (auto& p : sock.deny)
      entries.push_back({p, {false, "denied by socket '" + sock.name + "': deny " + p.to_string()}});
    Table& t = tables_[s];
    t.exit_node = true;
    t.map = net::PrefixMap<net::Reachability>(std::move(entries));
    std::string text = "the internet";
    if (!sock.allow.empty()) text += fmt::format(", and {}", fmt::join(texts(sock.allow), ", "));
    std::vector<std::string> outside = texts(sock.deny);
    if (!pools.empty()) outside.push_back(fmt::format("the overlay ({})", fmt::join(texts(pools), ", ")));
    outside.push_back(fmt::format("the connector's own {} address{}", own.size(), own.size() == 1 ? "" : "es"));
    t.summary = fmt::format("{}; not {}", text, fmt::join(outside, ", "));
  }
}

net::Reachability Reach::explain(std::uint32_t socket, const net::Address& destination) const {
  const Table& t = tables_[socket];
  if (!t.exit_node) return {true, "a subnet router reaches its routes"};
  const auto* e = t.map.find(destination);
  if (e == nullptr) return {false, destination.to_string() + " is not an IP address"};
  return e->value;
}

std::string Reach::summary(std::uint32_t socket) const {
  const Table& t = tables_[socket];
  return t.exit_node ? t.summary : "its routes";
}

}  // namespace waygate::policy
