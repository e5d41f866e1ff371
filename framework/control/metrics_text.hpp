// Every counter of the process in the Prometheus text exposition format.
#pragma once

#include <string>

#include "counter_registry.hpp"

namespace waygate {

std::string prometheus_text(const CounterRegistry& registry);

}  // namespace waygate
