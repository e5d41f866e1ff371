// Max-min fair shares ("water filling"): `capacity` divided among demands so that no one gets
// more than it asks and whoever asks more than the level gets the level, the same for all of
// them. It is what deficit round robin gives over time, computed once an interval instead of per
// packet, and it lets the stage drop at the level rather than queue behind it.
#pragma once

#include <span>

namespace waygate::shaper {

// The level L with sum(min(demand, L)) == capacity; when the demands all fit, the capacity
// itself (nobody is held below what the socket has). Demands and capacity share a unit.
double fair_level(std::span<const double> demands, double capacity);

}  // namespace waygate::shaper
