// The directory as etcd keeps it: one key per object under a prefix, so that one change touches
// one key, each value the object's TOML table as an operator writes it in a connector's file.
//   PREFIX overlay            [overlay]
//   PREFIX identity/NAME      an [[identity]]
//   PREFIX socket/NAME        a [[socket]]
//   PREFIX policy/NAME        a [[policy]]
// and PREFIX pushed, which every push rewrites (who, when), so that two pushes from the same read
// cannot both land.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace waygate {

using DirectoryKeys = std::map<std::string, std::string>;  // key below the prefix -> TOML

// The directory tables of a connector's (or a directory-only) TOML file, one entry per object,
// after checking them as a connector would; throws ConfigError naming the file, line and key.
DirectoryKeys directory_keys(const std::string& file);
// The same keys back as one TOML document, objects in key order (what `directory pull` prints and
// a connector would read).
std::string directory_toml(const DirectoryKeys& keys);

inline constexpr std::string_view kPushedKey = "pushed";

}  // namespace waygate
