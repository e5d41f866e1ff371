#include "access.hpp"

#include <algorithm>

namespace waygate::policy {

namespace {

net::Address address_of(const Endpoint& e) {
  if (e.addr.sa.sa_family == AF_INET)
    return net::Address::v4(std::span<const std::uint8_t, 4>(
        reinterpret_cast<const std::uint8_t*>(&e.addr.v4.sin_addr), 4));
  if (e.addr.sa.sa_family == AF_INET6)
    return net::Address::v6(std::span<const std::uint8_t, 16>(e.addr.v6.sin6_addr.s6_addr, 16));
  return {};
}

}  // namespace

void Access::reset(std::shared_ptr<const Directory> d, std::chrono::sys_seconds now) {
  // Ids are positions in the file: carry each identity's state over by name, and its selection
  // and audited decisions by socket name.
  std::unordered_map<std::string, Row> old;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    Row& r = rows_[i];
    auto socket_named = [&](std::uint32_t s) { return d->socket_by_name(directory_->sockets[s].name); };
    if (r.selected != kAutomatic && r.selected != kOff) {
      r.selected = socket_named(r.selected);
      if (r.selected == kNoId) r.selected = kOff;  // its exit node is gone: no silent switch
    }
    std::vector<std::int8_t> reported(d->sockets.size(), -1);
    for (std::uint32_t s = 0; s < r.reported.size(); ++s)
      if (auto now_at = socket_named(s); now_at != kNoId) reported[now_at] = r.reported[s];
    r.reported = std::move(reported);
    old.emplace(directory_->identities[i].name, std::move(r));
  }
  directory_ = std::move(d);
  const Directory& dir = *directory_;
  sockets_ = dir.sockets.size();
  rows_.assign(dir.identities.size(), Row{});
  allowed_.assign(rows_.size() * sockets_, 0);
  by_address_.clear();
  for (std::size_t i = 0; i < dir.identities.size(); ++i) {
    for (auto& a : dir.identities[i].addresses) by_address_[a] = static_cast<std::uint32_t>(i);
    auto it = old.find(dir.identities[i].name);
    if (it != old.end()) rows_[i] = std::move(it->second);
    else rows_[i].reported.assign(sockets_, -1);
  }
  exit_nodes_.clear();
  // Of two subnet routers routing the same prefix, the first in the file: the later entry of a
  // PrefixMap decides a tie, so they go in last to first.
  std::vector<net::PrefixMap<std::uint32_t>::Entry> routes;
  for (std::size_t s = sockets_; s-- > 0;) {
    const Socket& sock = dir.sockets[s];
    if (sock.type == SocketType::subnet_router)
      for (auto& p : sock.routes) routes.push_back({p, static_cast<std::uint32_t>(s)});
  }
  subnet_routes_ = net::PrefixMap<std::uint32_t>(std::move(routes));
  for (std::size_t s = 0; s < sockets_; ++s)
    if (dir.sockets[s].type == SocketType::exit_node) exit_nodes_.push_back(static_cast<std::uint32_t>(s));
  timed_ = std::any_of(dir.policies.begin(), dir.policies.end(),
                       [](const Policy& p) { return waygate::has_time_conditions(p); });
  for (std::size_t i = 0; i < rows_.size(); ++i) evaluate_row(static_cast<std::uint32_t>(i), now);
}

void Access::reevaluate(std::chrono::sys_seconds now) {
  for (std::size_t i = 0; i < rows_.size(); ++i) evaluate_row(static_cast<std::uint32_t>(i), now);
}

void Access::set_endpoint(std::uint32_t identity, const Endpoint& e, std::chrono::sys_seconds now) {
  Row& r = rows_[identity];
  r.seen = true;
  r.endpoint = e;
  net::Address a = address_of(e);
  r.country = country_of && a.family() != net::Family::none ? country_of(a) : "";
  evaluate_row(identity, now);
}

Situation Access::situation(std::uint32_t identity, std::chrono::sys_seconds now) const {
  const Row& r = rows_[identity];
  return {address_of(r.endpoint), r.country, now};
}

void Access::evaluate_row(std::uint32_t identity, std::chrono::sys_seconds now) {
  Row& r = rows_[identity];
  Situation here = situation(identity, now);
  for (std::uint32_t s = 0; s < sockets_; ++s) {
    const bool granted = grants(*directory_, identity, s, here);
    allowed_[identity * sockets_ + s] = granted;
    if (r.seen && r.reported[s] != static_cast<std::int8_t>(granted)) {
      r.reported[s] = granted;
      // In words only when it changed for an identity that is here: what the audit log says.
      const Verdict v = evaluate(*directory_, identity, s, here);
      if (on_change) on_change({identity, s, &v, &r.endpoint});
    }
  }
}

std::uint32_t Access::exit_node(std::uint32_t identity) const {
  std::uint32_t chosen = rows_[identity].selected;
  if (chosen == kOff) return kNoId;
  if (chosen != kAutomatic) return granted(identity, chosen) ? chosen : kNoId;
  for (auto s : exit_nodes_)
    if (granted(identity, s)) return s;
  return kNoId;
}

std::uint32_t Access::socket_for(std::uint32_t identity, const net::Address& destination) const {
  if (const auto* route = subnet_routes_.find(destination)) return route->value;
  return exit_node(identity);
}

std::vector<bool> Access::time_signature(std::chrono::sys_seconds now) const {
  std::vector<bool> out;
  for (auto& p : directory_->policies) out.push_back(in_time(p, now));
  return out;
}

}  // namespace waygate::policy
