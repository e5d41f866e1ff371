// Keys as operators handle them: 32 bytes in the base64 of `wg genkey` (44 characters), read
// from key files that nobody but their owner may read. waygate genkey/pubkey/genpsk behave like
// wg genkey | wg pubkey, so the two tools mix.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto.hpp"

namespace waygate::wg {

std::string to_base64(const Key& key);
// Exactly 44 characters of standard base64 for 32 bytes (surrounding whitespace ignored).
std::optional<Key> from_base64(std::string_view text);

// Reads a key file: one base64 key. Throws std::runtime_error naming the file when it cannot be
// read, holds no valid key, or is readable or writable by group or others (mode & 077), as a
// private key must not be.
Key read_key_file(const std::string& path);

// The commands `waygate genkey`, `waygate pubkey` (stdin to stdout) and `waygate genpsk`.
int genkey_command(int argc, char** argv);
int pubkey_command(int argc, char** argv);
int genpsk_command(int argc, char** argv);

}  // namespace waygate::wg
