// Every counter of the process in the Prometheus text exposition format.
#pragma once

#include <string>

#include "waygate/counters.hpp"

namespace waygate {

std::string prometheus_text(const CounterRegistry& registry);

}  // namespace waygate
