// The format version of a file kept across restarts (the state folder's files, a stage's history
// or quota use). A package upgrade keeps them, and a downgrade may meet one a newer build wrote, so
// a file is read only in a format this build knows (its newest, or an older one it still reads)
// and refused otherwise, by name: never reset, never half read. Version 0 is a file from before
// versions (no header line, no "version" field): what an older package left behind, still read.
// Writers always write their newest.
//
// A line-based file begins with a header line, "# waygate overlay-addresses 1"; a JSON file has a
// "version" field. Each format keeps its number beside its reader and writer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace waygate {

// Returns when this build reads `found` (at most `newest`); else throws std::runtime_error:
//   "PATH: KIND state format 3, but this waygate reads up to 2 (written by a newer version?
//    downgrade refused; REMEDY)"
// A negative `found` is refused too. The default remedy suits state that can be rebuilt; a file
// whose loss leaves something behind says what to do instead.
void check_state_version(const std::string& path, std::string_view kind, int found, int newest,
                         std::string_view remedy = "move the file away to start afresh");

// "# waygate KIND VERSION" (no newline).
std::string state_header(std::string_view kind, int version);

// The version `line` says when it is KIND's header; nullopt when it is not one (a file from
// before versions begins with its data). Throws std::runtime_error naming `path` for a header
// whose version does not read.
std::optional<int> state_header_version(const std::string& path, std::string_view kind, std::string_view line);

}  // namespace waygate
