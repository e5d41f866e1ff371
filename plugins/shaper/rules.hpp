// The stage's table, read and resolved against the directory:
//
//   [[stage.limit]]   identity, group or socket = NAME; up, down = "20mbit"; burst = "100ms";
//                     fair = true (a socket's rate shared fairly among its identities)
//   [[stage.quota]]   identity or group (each member its own) = NAME; socket = NAME (else all);
//                     bytes = "10GB"; per = "day" | "month"; timezone = "Europe/Berlin"
//
// Directions are numbered as the stage indexes them: 0 up (outbound, from clients), 1 down.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "waygate/calendar.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace waygate::shaper {

inline constexpr std::uint32_t kNone = 0xffffffffu;

struct BucketSpec {
  std::string who;  // "identity 'bob'", "group 'contractors'", "socket 'corporate-exit'"
  int direction = 0;
  double rate = 0;   // bytes a second
  double depth = 0;  // bytes
};

struct QuotaSpec {
  std::string identity, socket;  // socket "" for all of the identity's traffic
  std::uint32_t socket_id = kNone;
  std::uint64_t bytes = 0;
  Period per = Period::month;
  std::string zone = "UTC";
};

struct Rules {
  std::vector<BucketSpec> buckets;
  // Per identity and direction: the buckets its packets draw from whatever their socket (its
  // own, its groups').
  std::vector<std::array<std::vector<std::uint32_t>, 2>> draws;
  // Per socket and direction: the socket's bucket when its rate is not shared fairly, else kNone.
  std::vector<std::array<std::uint32_t, 2>> socket_bucket;
  // Per socket and direction: the rate (bytes a second) shared fairly among its identities, 0 if
  // none; and the burst those shares allow, in seconds of their rate.
  std::vector<std::array<double, 2>> fair_rate;
  std::vector<double> fair_burst;
  std::vector<QuotaSpec> quotas;
  std::vector<std::vector<std::uint32_t>> quotas_of;  // per identity
};

// Throws ConfigError naming the key.
Rules read_rules(const Config& c, const Directory& d);

// "20mbit", "1.5gbit", "800kbit", "1000bit" (bits a second, powers of 1000): bytes a second.
std::optional<double> parse_rate(std::string_view text);
// "10GB", "500MB", "2TB", "512MiB", "1GiB", "4096" (bytes).
std::optional<std::uint64_t> parse_bytes(std::string_view text);
// 2500000 bytes a second as "20mbit".
std::string rate_text(double bytes_per_second);

}  // namespace waygate::shaper
