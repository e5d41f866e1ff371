#include "fair_share.hpp"

#include <algorithm>
#include <vector>

namespace waygate::shaper {

double fair_level(std::span<const double> demands, double capacity) {
  double total = 0;
  for (double d : demands) total += d;
  if (total <= capacity) return capacity;
  // Fill from the smallest demand up: each one below the level takes what it asks, the rest
  // share what is left equally.
  std::vector<double> sorted(demands.begin(), demands.end());
  std::sort(sorted.begin(), sorted.end());
  double left = capacity;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const double level = left / static_cast<double>(sorted.size() - i);
    if (sorted[i] >= level) return level;
    left -= sorted[i];
  }
  return capacity;  // not reached: the demands exceed the capacity
}

}  // namespace waygate::shaper
