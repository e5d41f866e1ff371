// Writing a file that must never be seen half written (state kept across restarts: address
// assignments, the stats history, a client's exit-node selection): the text goes to a temporary
// file beside it, is synced, and is renamed over the old one, whose folder is then synced too.
// And reading one back. For start, stop, reload and commands: never on a packet path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace waygate {

// Creates the folder if it is missing. Throws std::system_error naming the file; the old file is
// then left as it was.
void write_file_atomically(const std::string& path, std::string_view text, mode_t mode = 0640);

// The whole file; nullopt when there is none. One that is there but cannot be read throws
// std::system_error naming it: taken for "none", its state would be replaced by an empty one.
std::optional<std::string> read_file_if_present(const std::string& path);

}  // namespace waygate
