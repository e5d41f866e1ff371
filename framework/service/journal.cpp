#include "journal.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
// The journal keeps where a line was logged from when asked; here that would always be this sink.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace waygate {

namespace {

struct Current {
  std::string_view stage;
  std::span<const LogField> fields;
};
thread_local Current current;

int priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
  }
}

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    // Built per line, but a line is an event (plugins never log per packet), and the base sink's
    // mutex makes the buffers shared.
    std::size_t n = 0;
    add(n, "MESSAGE=", std::string_view(msg.payload.data(), msg.payload.size()));
    add(n, "PRIORITY=", std::to_string(priority(msg.level)));
    add(n, "SYSLOG_IDENTIFIER=", "waygate");
    if (!current.stage.empty()) add(n, "WAYGATE_STAGE=", current.stage);
    for (const LogField& f : current.fields) {
      if (n == texts_.size()) break;
      std::string name = "WAYGATE_";
      for (char c : f.name) name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
      add(n, name + "=", f.value);
    }
    std::array<iovec, kMax> iov{};
    for (std::size_t i = 0; i < n; ++i) iov[i] = {texts_[i].data(), texts_[i].size()};
    // A journal that refuses the line has nowhere better to say so than stderr, which is it.
    if (sd_journal_sendv(iov.data(), static_cast<int>(n)) < 0)
      std::fprintf(stderr, "%.*s\n", static_cast<int>(msg.payload.size()), msg.payload.data());
  }
  void flush_() override {}

 private:
  static constexpr std::size_t kMax = 16;
  void add(std::size_t& n, std::string_view name, std::string_view value) {
    if (n == kMax) return;
    texts_[n].assign(name).append(value);
    ++n;
  }
  std::array<std::string, kMax> texts_;
};

}  // namespace

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return ::fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void log_to_journal() {
  auto logger = spdlog::default_logger();
  logger->sinks().clear();
  logger->sinks().push_back(std::make_shared<JournalSink>());
}

JournalFields::JournalFields(std::string_view stage, std::span<const LogField> fields) {
  current = {stage, fields};
}

JournalFields::~JournalFields() { current = {}; }

}  // namespace waygate
