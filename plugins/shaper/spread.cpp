#include "spread.hpp"

#include <algorithm>

namespace waygate::shaper {

void hand_report(Context& ctx, std::uint32_t generation, std::uint32_t report, const std::vector<Record>& records,
                 std::uint32_t tag) {
  const Record header{Record::header, ctx.worker(), generation, report, 0};
  for (unsigned to = 0; to < ctx.workers(); ++to) {
    if (to == ctx.worker()) continue;
    std::size_t from = 0;
    do {
      Packet* p = ctx.pool().alloc();
      if (p == nullptr) return;
      p->reset(0);
      const std::size_t n = std::min(records.size() - from, p->tailroom() / sizeof(Record) - 1);
      p->resize((n + 1) * sizeof(Record));
      std::memcpy(p->data(), &header, sizeof header);
      if (n > 0) std::memcpy(p->data() + sizeof header, records.data() + from, n * sizeof(Record));
      if (!ctx.hand_over(to, p, tag)) ctx.pool().free(p);
      from += n;
    } while (from < records.size());
  }
}

double part(double mine, double everyone, unsigned workers, double rate) {
  const double sliver = rate / 64 / workers;  // bytes a second
  return (mine + sliver) / (everyone + sliver * workers);
}

}  // namespace waygate::shaper
