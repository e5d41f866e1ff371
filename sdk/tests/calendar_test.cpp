#include "waygate/calendar.hpp"

#include <gtest/gtest.h>

#include "waygate/utc.hpp"

namespace waygate {
namespace {

using std::chrono::sys_seconds;

sys_seconds at(std::string_view utc) { return std::chrono::floor<std::chrono::seconds>(*parse_utc(utc)); }
std::string text(sys_seconds t) { return format_utc(UtcTime{t}); }

TEST(Calendar, ADayStartsAtLocalMidnight) {
  EXPECT_EQ(text(period_start(at("2026-12-03T13:00:00Z"), "UTC", Period::day)), "2026-12-03T00:00:00Z");
  EXPECT_EQ(text(next_period(at("2026-12-03T13:00:00Z"), "UTC", Period::day)), "2026-12-04T00:00:00Z");
  // 00:30 UTC is already 01:30 in Berlin (winter): the day began at 23:00 UTC the day before.
  EXPECT_EQ(text(period_start(at("2026-12-03T00:30:00Z"), "Europe/Berlin", Period::day)), "2026-12-02T23:00:00Z");
  // 23:30 UTC on the 2nd is the 3rd in Tokyo.
  EXPECT_EQ(text(period_start(at("2026-12-02T23:30:00Z"), "Asia/Tokyo", Period::day)), "2026-12-02T15:00:00Z");
}

TEST(Calendar, AMonthRunsToTheFirstOfTheNext) {
  EXPECT_EQ(text(period_start(at("2026-12-31T22:59:59Z"), "Europe/Berlin", Period::month)), "2026-11-30T23:00:00Z");
  EXPECT_EQ(text(next_period(at("2026-12-31T22:59:59Z"), "Europe/Berlin", Period::month)), "2026-12-31T23:00:00Z");
  EXPECT_EQ(text(period_start(at("2026-12-31T23:00:00Z"), "Europe/Berlin", Period::month)), "2026-12-31T23:00:00Z");
  EXPECT_EQ(text(next_period(at("2027-02-10T00:00:00Z"), "UTC", Period::month)), "2027-03-01T00:00:00Z");
}

TEST(Calendar, DaylightSavingDaysAreShortOrLong) {
  // Berlin's spring day of 2027 (28 March) has 23 hours, its autumn day (31 October) 25.
  auto spring = period_start(at("2027-03-28T12:00:00Z"), "Europe/Berlin", Period::day);
  EXPECT_EQ(next_period(spring, "Europe/Berlin", Period::day) - spring, std::chrono::hours(23));
  auto autumn = period_start(at("2027-10-31T12:00:00Z"), "Europe/Berlin", Period::day);
  EXPECT_EQ(next_period(autumn, "Europe/Berlin", Period::day) - autumn, std::chrono::hours(25));
}

TEST(Calendar, UnknownZonesAreNamed) {
  EXPECT_TRUE(known_zone("America/Sao_Paulo"));
  EXPECT_FALSE(known_zone("Mars/Olympus_Mons"));
  EXPECT_THROW(period_start(at("2026-12-03T00:00:00Z"), "Mars/Olympus_Mons", Period::day), std::runtime_error);
}

}  // namespace
}  // namespace waygate
