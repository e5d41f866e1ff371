// The threads a stage may spread one burst's independent work over (sealing and opening packets),
// the calling worker among them. run() hands the items out in chunks and returns only when every
// item is done, so nothing is reordered: the stage works on the burst in place, in parallel, and
// then goes on with it, in order, alone. Work running on the crew touches only its own items and
// its member's scratch: no counters, no pool, no I/O, no plugin state.
#pragma once

#include <cstddef>

namespace waygate {

class Crew {
 public:
  // Items [begin, end), on the crew's member `member`: 0 is the caller, 1..size()-1 the crew's
  // own threads. Per-thread scratch (a cipher context) is indexed by it.
  using Work = void (*)(void* self, unsigned member, std::size_t begin, std::size_t end);

  virtual ~Crew() = default;
  // How many threads may run work at once, the caller included: 1 when there is no crew.
  virtual unsigned size() const = 0;
  // Runs `work` over items [0, items); small jobs stay on the caller.
  virtual void run(std::size_t items, Work work, void* self) = 0;

  // for_each(n, f): f(member, i) for every item i.
  template <class F>
  void for_each(std::size_t items, F& f) {
    run(items,
        [](void* self, unsigned member, std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) (*static_cast<F*>(self))(member, i);
        },
        &f);
  }
};

}  // namespace waygate
