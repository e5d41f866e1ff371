// The directory as etcd keeps it: one key per object under PREFIX directory/, so that one change
// touches one key, each value the object's TOML table as an operator writes it in a connector's
// file. Beside it, PREFIX status/CONNECTOR: what each connector made of it, and PREFIX addresses/
// (below).
//   PREFIX directory/overlay            [overlay]
//   PREFIX directory/identity/NAME      an [[identity]]
//   PREFIX directory/socket/NAME        a [[socket]]
//   PREFIX directory/policy/NAME        a [[policy]]
// and PREFIX directory/pushed, which every push rewrites (who, when), so that two pushes from the
// same read cannot both land.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace waygate {

using DirectoryKeys = std::map<std::string, std::string>;  // key below the prefix -> TOML

// The directory tables of a connector's (or a directory-only) TOML file, one entry per object,
// after checking them as a connector would; throws ConfigError naming the file, line and key.
DirectoryKeys directory_keys(const std::string& file);
// The same of a TOML text; `origin` names it in errors.
DirectoryKeys directory_keys(std::string_view text, const std::string& origin);
// The same keys back as one TOML document, objects in key order (what `directory pull` prints and
// a connector would read).
std::string directory_toml(const DirectoryKeys& keys);

inline constexpr std::string_view kPushedKey = "pushed";

// Where the directory's keys are, below a connector's [directory] prefix.
inline std::string directory_prefix(const std::string& prefix) { return prefix + "directory/"; }
// The overlay addresses given out from the pools: PREFIX addresses/ADDRESS, its value the public
// key of the identity that holds it. One key per address, so that a transaction that creates it
// is what makes it one identity's (etcd_directory.hpp).
inline std::string addresses_prefix(const std::string& prefix) { return prefix + "addresses/"; }

}  // namespace waygate
