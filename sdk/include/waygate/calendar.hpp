// Calendar periods in a named time zone, for what resets by the day or the month as a person
// there counts them (a data quota, say): the zone is a tz database name, as a policy's daily
// window takes ("Europe/Berlin", "UTC"), and daylight saving is the database's business.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace waygate {

enum class Period { day, month };

// Whether the tz database knows the zone.
bool known_zone(std::string_view zone);

// The start of the period holding `at`, and the start of the next one, as UTC instants. An
// unknown zone throws std::runtime_error (check it with known_zone() when reading a config).
std::chrono::sys_seconds period_start(std::chrono::sys_seconds at, std::string_view zone, Period period);
std::chrono::sys_seconds next_period(std::chrono::sys_seconds at, std::string_view zone, Period period);

}  // namespace waygate
