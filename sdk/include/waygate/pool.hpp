// A fixed set of packet buffers carved from one allocation, handed out and taken back in O(1).
// One pool per worker thread: it is not thread-safe and needs no lock. alloc() returns nullptr
// when every buffer is in use; the caller counts that as a drop instead of waiting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "waygate/packet.hpp"

namespace waygate {

class Pool {
 public:
  Pool(std::size_t count, std::size_t buffer_size, std::size_t headroom)
      : buffer_size_(buffer_size),
        headroom_(headroom),
        memory_(new std::uint8_t[count * buffer_size]),
        packets_(count) {
    free_.reserve(count);
    for (std::size_t i = count; i-- > 0;) {
      packets_[i] = Packet(memory_.get() + i * buffer_size, static_cast<std::uint32_t>(buffer_size),
                           static_cast<std::uint32_t>(i));
      free_.push_back(&packets_[i]);
    }
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  Packet* alloc() {
    if (free_.empty()) return nullptr;
    Packet* p = free_.back();
    free_.pop_back();
    p->reset(headroom_);
    return p;
  }
  void free(Packet* p) { free_.push_back(p); }

  // Whether p is one of this pool's (an edge may queue I/O on packets of its own).
  bool owns(const Packet* p) const {
    return std::greater_equal<>()(p, packets_.data()) && std::less<>()(p, packets_.data() + packets_.size());
  }

  // The packet with this index (Packet::index()), for I/O that names buffers by number.
  Packet* at(std::uint32_t index) { return &packets_[index]; }

  std::size_t capacity() const { return packets_.size(); }
  std::size_t available() const { return free_.size(); }
  std::size_t buffer_size() const { return buffer_size_; }
  std::size_t headroom() const { return headroom_; }
  // The whole buffer area, for registering it with the kernel once.
  std::uint8_t* memory() { return memory_.get(); }

 private:
  std::size_t buffer_size_;
  std::size_t headroom_;
  std::unique_ptr<std::uint8_t[]> memory_;
  std::vector<Packet> packets_;
  std::vector<Packet*> free_;
};

}  // namespace waygate
