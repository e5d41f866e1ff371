#include "handover.hpp"

#include <utility>

namespace waygate {

struct Handover::Inbox {
  std::mutex mutex;
  std::vector<Item> items;  // the first `used` wait; the rest keep their buffers for later
  std::size_t used = 0;
  std::vector<Item> taking;  // the receiver's, swapped with `items` to take them out of the lock
  std::function<void()> bell;
  // Touched by this inbox's worker only, as a poster: whom it posted to since it last rang.
  std::vector<bool> owed;
};

Handover::Handover(unsigned workers, std::size_t capacity) : capacity_(capacity) {
  for (unsigned i = 0; i < workers; ++i) {
    auto inbox = std::make_unique<Inbox>();
    inbox->owed.assign(workers, false);
    inboxes_.push_back(std::move(inbox));
  }
}

Handover::~Handover() = default;

void Handover::set_bell(unsigned to, std::function<void()> bell) { inboxes_.at(to)->bell = std::move(bell); }

bool Handover::post(unsigned from, unsigned to, std::uint32_t stage, std::size_t name, std::uint32_t tag,
                    const Packet& p) {
  if (to == from || to >= inboxes_.size() || from >= inboxes_.size()) return false;
  Inbox& in = *inboxes_[to];
  {
    std::lock_guard lock(in.mutex);
    if (in.used == capacity_) return false;
    if (in.used == in.items.size()) in.items.emplace_back();
    Item& item = in.items[in.used++];
    item.stage = stage;
    item.name = name;
    item.tag = tag;
    item.meta = p.meta;
    item.bytes.assign(p.data(), p.data() + p.size());
  }
  inboxes_[from]->owed[to] = true;
  return true;
}

void Handover::ring(unsigned from) {
  auto& owed = inboxes_.at(from)->owed;
  for (unsigned to = 0; to < owed.size(); ++to) {
    if (!owed[to]) continue;
    owed[to] = false;
    if (inboxes_[to]->bell) inboxes_[to]->bell();
  }
}

void Handover::take(unsigned to, const std::function<void(const Item&)>& deliver) {
  Inbox& in = *inboxes_.at(to);
  std::size_t n = 0;
  {
    std::lock_guard lock(in.mutex);
    if (in.used == 0) return;
    // What the receiver took last time (its buffers warm) goes back as the inbox's spare items.
    std::swap(in.items, in.taking);
    n = in.used;
    in.used = 0;
  }
  for (std::size_t i = 0; i < n; ++i) deliver(in.taking[i]);
}

}  // namespace waygate
