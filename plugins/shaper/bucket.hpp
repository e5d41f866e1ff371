// A token bucket: `rate` bytes a second, up to `depth` bytes saved up. A packet conforms while
// the bucket is not in debt and then takes its whole size, so a coalesced train of 64 KiB passes
// a small bucket whole and the debt is paid before the next one (the average stays the rate).
#pragma once

#include <algorithm>
#include <cstddef>

#include "waygate/timer.hpp"

namespace waygate::shaper {

class Bucket {
 public:
  Bucket() = default;
  Bucket(double bytes_per_second, double depth, Time now)
      : rate_(bytes_per_second / 1e9), depth_(depth), tokens_(depth), last_(now) {}

  // Refills for the time since the last call; cheap enough per packet.
  void refill(Time now) {
    if (now <= last_) return;
    tokens_ = std::min(depth_, tokens_ + static_cast<double>((now - last_).count()) * rate_);
    last_ = now;
  }
  bool conforms() const { return tokens_ >= 0; }
  void take(std::size_t bytes) { tokens_ -= static_cast<double>(bytes); }

  // A new rate from now on (fair shares move every interval); what is saved up stays.
  void set_rate(double bytes_per_second, double depth) {
    rate_ = bytes_per_second / 1e9;
    depth_ = depth;
    tokens_ = std::min(tokens_, depth_);
  }
  double rate() const { return rate_ * 1e9; }  // bytes a second

 private:
  double rate_ = 0;  // bytes a nanosecond
  double depth_ = 0;
  double tokens_ = 0;
  Time last_{0};
};

}  // namespace waygate::shaper
