#include "waygate/calendar.hpp"

#include <stdexcept>

#include <date/tz.h>

namespace waygate {

namespace {

// The first local midnight of the period holding local time `t`, or of the one after it.
date::local_seconds local_start(date::local_seconds t, Period period, bool next) {
  const auto day = date::floor<date::days>(t);
  if (period == Period::day) return date::local_seconds{day + date::days{next ? 1 : 0}};
  const date::year_month_day ymd{day};
  auto month = ymd.year() / ymd.month();
  if (next) month += date::months{1};
  return date::local_seconds{date::local_days{month / 1}};
}

std::chrono::sys_seconds to_sys(const date::time_zone* tz, date::local_seconds t) {
  // A midnight that daylight saving skips begins the day at the first moment that exists; one
  // that happens twice, at the first of the two.
  return tz->to_sys(t, date::choose::earliest);
}

const date::time_zone* zone_of(std::string_view zone) {
  try {
    return date::locate_zone(zone);
  } catch (const std::exception&) {
    throw std::runtime_error("unknown time zone '" + std::string(zone) + "'");
  }
}

std::chrono::sys_seconds boundary(std::chrono::sys_seconds at, std::string_view zone, Period period, bool next) {
  const date::time_zone* tz = zone_of(zone);
  return to_sys(tz, local_start(tz->to_local(at), period, next));
}

}  // namespace

bool known_zone(std::string_view zone) {
  try {
    date::locate_zone(zone);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::chrono::sys_seconds period_start(std::chrono::sys_seconds at, std::string_view zone, Period period) {
  return boundary(at, zone, period, false);
}

std::chrono::sys_seconds next_period(std::chrono::sys_seconds at, std::string_view zone, Period period) {
  return boundary(at, zone, period, true);
}

}  // namespace waygate
