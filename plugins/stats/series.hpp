// A time series at a fixed interval in a fixed ring: 8,640 samples of 10 s hold 24 hours in
// ~400 KiB per socket, whatever the traffic. The newest overwrites the oldest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace waygate::stats {

// What moved during one interval ending at `time` (Unix seconds); index 0 outbound (from
// clients), 1 inbound (to clients).
struct Sample {
  std::int64_t time = 0;
  std::uint64_t bytes[2] = {0, 0};
  std::uint64_t packets[2] = {0, 0};
  std::uint32_t clients = 0;
};

class Series {
 public:
  explicit Series(std::size_t capacity = 8640) : ring_(capacity) {}
  void push(const Sample& s) {
    ring_[(first_ + size_) % ring_.size()] = s;
    if (size_ < ring_.size()) ++size_;
    else first_ = (first_ + 1) % ring_.size();
  }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return ring_.size(); }
  const Sample& operator[](std::size_t i) const { return ring_[(first_ + i) % ring_.size()]; }  // oldest first

 private:
  std::vector<Sample> ring_;
  std::size_t first_ = 0, size_ = 0;
};

}  // namespace waygate::stats
