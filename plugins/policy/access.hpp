// The stage's cached verdicts: for each identity, may it use each socket, which exit node it
// uses, and where it last connected from. Evaluated when the directory changes, when an
// identity's endpoint changes and when a policy's time conditions turn; the packet path only
// reads a byte per (identity, socket). Decisions that change are reported to `on_change` (the
// audit log).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "waygate/verdict.hpp"
#include "waygate/directory.hpp"
#include "waygate/net/prefix_map.hpp"
#include "waygate/packet.hpp"

namespace waygate::policy {

// An identity's exit-node choice: a socket id, or one of these.
inline constexpr std::uint32_t kAutomatic = kNoId;      // the first exit node it may use
inline constexpr std::uint32_t kOff = kNoId - 1;        // none: its traffic has no exit

struct Change {
  std::uint32_t identity, socket;
  const Verdict* verdict;
  const Endpoint* endpoint;
};

class Access {
 public:
  std::function<void(const Change&)> on_change;
  std::function<std::string(const net::Address&)> country_of;  // "" when unknown

  // A new directory: verdicts are re-evaluated; selections and endpoints follow identities and
  // sockets by name.
  void reset(std::shared_ptr<const Directory> d, std::chrono::sys_seconds now);
  // Re-evaluates every identity already seen (a time window turned).
  void reevaluate(std::chrono::sys_seconds now);
  // The packet path's check that the identity's endpoint is the one it was evaluated for.
  bool endpoint_is(std::uint32_t identity, const Endpoint& e) const {
    return rows_[identity].seen && rows_[identity].endpoint == e;
  }
  void set_endpoint(std::uint32_t identity, const Endpoint& e, std::chrono::sys_seconds now);

  bool granted(std::uint32_t identity, std::uint32_t socket) const {
    return allowed_[static_cast<std::size_t>(identity) * sockets_ + socket] != 0;
  }
  // The socket a destination is bound to: the subnet router whose prefix holds it (most specific
  // first), else the identity's exit node. kNoId: none. A subnet router's prefix binds its
  // destinations even for an identity it denies, so its networks are never reached through the
  // exit node instead.
  std::uint32_t socket_for(std::uint32_t identity, const net::Address& destination) const;
  std::uint32_t exit_node(std::uint32_t identity) const;  // kNoId: none

  std::uint32_t selection(std::uint32_t identity) const { return rows_[identity].selected; }
  void select(std::uint32_t identity, std::uint32_t choice) { rows_[identity].selected = choice; }
  // By overlay address, for inbound packets without Meta::identity and for API requests.
  std::uint32_t identity_at(const net::Address& a) const {
    auto it = by_address_.find(a);
    return it == by_address_.end() ? kNoId : it->second;
  }
  Situation situation(std::uint32_t identity, std::chrono::sys_seconds now) const;
  const Directory& directory() const { return *directory_; }
  bool has_time_conditions() const { return timed_; }
  // Which policies' time conditions hold now; re-evaluate when it differs from the last.
  std::vector<bool> time_signature(std::chrono::sys_seconds now) const;

 private:
  struct Row {
    bool seen = false;  // has sent a packet: its decisions are audited
    Endpoint endpoint;
    std::string country;
    std::uint32_t selected = kAutomatic;
    std::vector<std::int8_t> reported;  // per socket: what was last audited (-1: nothing yet)
  };
  struct AddressHash {
    std::size_t operator()(const net::Address& a) const {
      std::size_t h = 0;
      for (auto b : a.raw()) h = h * 131 + b;
      return h;
    }
  };
  void evaluate_row(std::uint32_t identity, std::chrono::sys_seconds now);

  std::shared_ptr<const Directory> directory_ = std::make_shared<const Directory>();
  std::vector<Row> rows_;
  std::vector<std::uint8_t> allowed_;  // identity-major, one byte per socket
  std::size_t sockets_ = 0;
  net::PrefixMap<std::uint32_t> subnet_routes_;  // the subnet routers' prefixes: which socket
  std::vector<std::uint32_t> exit_nodes_;                             // in file order
  std::unordered_map<net::Address, std::uint32_t, AddressHash> by_address_;
  bool timed_ = false;
};

}  // namespace waygate::policy
