// Logging for plugins. The host routes it to its own logger (with the stage's name); the test rig
// keeps the lines for assertions. Formatting uses fmt and happens only when the level is enabled.
// Logging is for events, never for per-packet paths.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace waygate {

enum class Level { trace, debug, info, warn, error };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(Level level) const = 0;
  virtual void write(Level level, std::string_view message) = 0;

  template <class... A>
  void log(Level level, fmt::format_string<A...> format, A&&... args) {
    if (enabled(level)) write(level, fmt::format(format, std::forward<A>(args)...));
  }
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... a) { log(Level::debug, f, std::forward<A>(a)...); }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... a) { log(Level::info, f, std::forward<A>(a)...); }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... a) { log(Level::warn, f, std::forward<A>(a)...); }
  template <class... A>
  void error(fmt::format_string<A...> f, A&&... a) { log(Level::error, f, std::forward<A>(a)...); }
};

}  // namespace waygate
