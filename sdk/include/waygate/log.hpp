// Logging for plugins. The host routes it to its own logger (with the stage's name); the test rig
// keeps the lines for assertions. Formatting uses fmt and happens only when the level is enabled.
// Logging is for events, never for per-packet paths.
//
// An event about one identity, socket or peer names it in fields as well as in its text:
//   log.event(Level::info, {{"identity", name}, {"socket", socket}}, "access {}", text);
// Under systemd the journal keeps each field as WAYGATE_<NAME> (WAYGATE_IDENTITY=alice), so
// `journalctl WAYGATE_IDENTITY=alice` finds every line about alice; a terminal shows the text.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace waygate {

enum class Level { trace, debug, info, warn, error };

// A field's name is lower case ("identity", "socket", "peer"); its value is the text.
struct LogField {
  std::string_view name;
  std::string_view value;
};

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(Level level) const = 0;
  virtual void write(Level level, std::string_view message) = 0;
  // A logger that cannot keep fields writes the message alone.
  virtual void write_event(Level level, std::string_view message, std::span<const LogField> fields) {
    (void)fields;
    write(level, message);
  }

  template <class... A>
  void log(Level level, fmt::format_string<A...> format, A&&... args) {
    if (enabled(level)) write(level, fmt::format(format, std::forward<A>(args)...));
  }
  template <class... A>
  void event(Level level, std::initializer_list<LogField> fields, fmt::format_string<A...> format, A&&... args) {
    if (enabled(level))
      write_event(level, fmt::format(format, std::forward<A>(args)...), std::span(fields.begin(), fields.size()));
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
