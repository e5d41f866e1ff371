// UTC times as configs, logs and commands write them: "2026-01-31", "2026-01-31T08:00:00Z" or
// with milliseconds "2026-01-31T08:00:00.123Z". Parsed strictly, digit by digit (no locale, no
// floating point: a fuzzer once drove a general-purpose date parser into undefined behaviour), and
// written back the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace waygate {

using UtcTime = std::chrono::sys_time<std::chrono::milliseconds>;

inline std::optional<UtcTime> parse_utc(std::string_view s) {
  auto digits = [&](std::size_t at, std::size_t n) -> int {
    if (at + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  if (y < 0 || mo < 0 || d < 0 || s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                         std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  UtcTime t{std::chrono::sys_days{date}};
  if (s.size() == 10) return t;
  const int h = digits(11, 2), mi = digits(14, 2), sec = digits(17, 2);
  if (s[10] != 'T' || s.size() < 20 || s[13] != ':' || s[16] != ':' || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      sec < 0 || sec > 59)
    return std::nullopt;
  t += std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(sec);
  if (s.size() == 20 && s[19] == 'Z') return t;
  const int ms = digits(20, 3);
  if (s.size() == 24 && s[19] == '.' && ms >= 0 && s[23] == 'Z') return t + std::chrono::milliseconds(ms);
  return std::nullopt;
}

// "2026-01-31T08:00:00Z", or with milliseconds.
inline std::string format_utc(UtcTime t, bool milliseconds = false) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss<std::chrono::milliseconds> time{t - day};
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(date.year()),
                                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                                time.hours().count(), time.minutes().count(), time.seconds().count());
  if (milliseconds) out += fmt::format(".{:03}", time.subseconds().count());
  return out + "Z";
}

}  // namespace waygate
