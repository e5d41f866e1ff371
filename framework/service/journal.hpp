// Where the host's log lines go: to the terminal (stderr), or, when systemd runs the host with
// stderr connected to the journal, to the journal itself with fields a terminal line cannot carry:
// PRIORITY, SYSLOG_IDENTIFIER=waygate, WAYGATE_STAGE for a stage's line, and the fields a stage
// names for an event (WAYGATE_IDENTITY, WAYGATE_SOCKET, WAYGATE_PEER; see waygate/log.hpp).
#pragma once

#include <span>
#include <string_view>

#include "waygate/log.hpp"

namespace waygate {

// True when stderr is the journal's stream: $JOURNAL_STREAM names its device and inode, which
// systemd sets for a service whose StandardError= is the journal.
bool stderr_is_journal();
// Replaces the default logger's sink with one writing to the journal natively.
void log_to_journal();

// The fields of the line the calling thread is about to log; the journal sink adds them to that
// line. Set for one spdlog call by a stage's logger: spdlog's default logger is synchronous, so
// the line is written before the scope ends.
class JournalFields {
 public:
  JournalFields(std::string_view stage, std::span<const LogField> fields);
  ~JournalFields();
  JournalFields(const JournalFields&) = delete;
  JournalFields& operator=(const JournalFields&) = delete;
};

}  // namespace waygate
