// The NAT log, for the compliance question "who had this public address and port at that time?":
// one JSON line per session start and end, written by the stage through a Journal, and
// `waygate nat-lookup` that answers the question from the log files.
//   {"time":"2026-11-25T10:44:55.123Z","event":"start","connector":"c1","identity":"alice",
//    "socket":"corporate-exit","protocol":"udp","inside":"10.64.0.2:5353","remote":"203.0.113.5:53",
//    "outside":"198.51.100.1:40001"}
// `connector` is the one that translated. One of a pair logs the sessions it holds for the other
// too (as the standby learns them, with the active's name), so that either log answers for the
// pair, and a session the other began and this one carried on after a failover has its start
// and its end in this one's log.
#pragma once

#include <string>

#include "engine.hpp"
#include "waygate/directory.hpp"

namespace waygate::nat {

// Names come from the directory when the ids are in it (else the id, or null for none).
void format_session(std::string& out, const SessionEvent& e, const Directory& d, std::string_view connector);

// `waygate nat-lookup ADDRESS:PORT --at TIME (--log FILE... | -c CONFIG)`: several logs (a pair's
// two) are read as one.
int nat_lookup_command(int argc, char** argv);

}  // namespace waygate::nat
