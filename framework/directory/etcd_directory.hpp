// A connector whose directory lives in etcd ([directory] in its file): reading it, keeping the last
// good one in state_dir, and saying in etcd what became of each.
#pragma once

#include <string>

#include "etcd_answers.hpp"
#include "host_config.hpp"

namespace waygate {

// Fills config.directory (and its revision and text) from etcd, the identities' pool addresses
// given out there by transaction (PREFIX addresses/), or, when no member answers, from
// the copy kept by keep_directory(): a connector restarted during an outage starts from the last
// directory it ran. Throws ConfigError when the directory in etcd does not check (naming the key
// and object), std::runtime_error when neither etcd nor a copy has one. No-op without [directory].
// `everything`: the whole prefix as a watch keeps it (etcd_watch.hpp), taken instead of reading
// etcd again; etcd is asked only to claim addresses, and read again when a claim is overtaken.
// Claims::none: the addresses are worked out as the connector would give them, and nothing is
// written (for commands that only look: check, doctor).
enum class Claims { make, none };
void load_directory(HostConfig& config, const Snapshot* everything = nullptr, Claims claims = Claims::make);

// Keeps the directory now running, for load_directory() to fall back on: state_dir/directory.toml.
void keep_directory(const HostConfig& config);

// Writes PREFIXstatus/CONNECTOR: the revision it runs, and the error that refused a newer one ("" if
// none). Best effort: etcd away, it is logged and skipped.
void report_directory(const HostConfig& running, std::int64_t refused_revision, const std::string& error);

}  // namespace waygate
