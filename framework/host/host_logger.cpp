#include "host_logger.hpp"

#include <spdlog/spdlog.h>

#include "journal.hpp"

namespace waygate {

namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

class StageLogger final : public Logger {
 public:
  explicit StageLogger(std::string stage) : stage_(std::move(stage)) {}
  bool enabled(Level level) const override { return spdlog::should_log(to_spdlog(level)); }
  void write(Level level, std::string_view message) override { write_event(level, message, {}); }
  void write_event(Level level, std::string_view message, std::span<const LogField> fields) override {
    JournalFields named(stage_, fields);
    spdlog::log(to_spdlog(level), "[{}] {}", stage_, message);
  }

 private:
  std::string stage_;
};

}  // namespace

std::unique_ptr<Logger> make_stage_logger(const std::string& stage) {
  return std::make_unique<StageLogger>(stage);
}

void set_log_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

}  // namespace waygate
