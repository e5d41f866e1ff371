// Secrets — private keys, tokens — live in files only their owner may access. read_secret_file
// reads one whole (up to `limit` bytes), trimmed of surrounding white space, and refuses with an
// error naming the file one that group or others may access (checked on the descriptor opened,
// not on the path), one that is not a regular file (a FIFO would block), one it cannot read, an
// empty one and an overlong one. wipe() clears a copy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace waygate {

// `what` names the file in errors: "key file", "token file".
std::string read_secret_file(const std::string& path, std::string_view what, std::size_t limit = 4096);
void wipe(std::string& secret);

}  // namespace waygate
