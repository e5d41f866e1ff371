// The overlay addresses handed out from the pools, kept in the state folder so an identity keeps
// its address across restarts: one line per identity, "<public key> <address> [<address>]".
// Written whole to a temporary file, synced and renamed, so a crash leaves the old or the new.
#pragma once

#include <string>

#include "waygate/directory.hpp"

namespace waygate {

// Empty when the folder or the file does not exist yet; lines that do not parse are skipped (the
// identity then gets a fresh address).
Assignments read_assignments(const std::string& state_dir);
// Creates the folder if needed; throws std::system_error when the file cannot be written.
void write_assignments(const std::string& state_dir, const Assignments& assignments);

}  // namespace waygate
