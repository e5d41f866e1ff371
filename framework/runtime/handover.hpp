// Packets one worker hands to another (Context::hand_over): a copy of each waits in the receiving
// worker's inbox until its loop turns. The inbox is the only thing the workers share on the packet
// path, and only for what steering sent to the wrong worker (a handshake whose peer another worker
// owns, a reply on a TUN queue the kernel chose): a lock a packet and a wake-up a turn, never on
// traffic that arrived where it belongs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "waygate/packet.hpp"

namespace waygate {

class Handover {
 public:
  // A packet as it waits: its stage (position in the pipeline, and its name's hash in case the
  // receiving worker's pipeline has another shape by then), tag, metadata and bytes.
  struct Item {
    std::uint32_t stage = 0;
    std::size_t name = 0;
    std::uint32_t tag = 0;
    Meta meta;
    std::vector<std::uint8_t> bytes;  // kept between uses: copying in does not allocate once warm
  };

  // `capacity`: packets an inbox holds before hand-overs to it fail.
  explicit Handover(unsigned workers, std::size_t capacity = 4096);
  ~Handover();
  Handover(const Handover&) = delete;
  Handover& operator=(const Handover&) = delete;

  unsigned workers() const { return static_cast<unsigned>(inboxes_.size()); }
  // How worker `to` is woken (its loop's eventfd); set before any worker runs.
  void set_bell(unsigned to, std::function<void()> bell);

  // Copies `p` into `to`'s inbox; false when it is full (or `to` is `from`, or out of range).
  bool post(unsigned from, unsigned to, std::uint32_t stage, std::size_t name, std::uint32_t tag, const Packet& p);
  // Wakes every worker `from` posted to since its last ring: once a turn, not once a packet.
  void ring(unsigned from);
  // Hands each packet waiting for `to` to `deliver`, in the order posted.
  void take(unsigned to, const std::function<void(const Item&)>& deliver);

 private:
  struct Inbox;
  std::vector<std::unique_ptr<Inbox>> inboxes_;
  std::size_t capacity_;
};

}  // namespace waygate
