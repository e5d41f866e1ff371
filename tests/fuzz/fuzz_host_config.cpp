// fuzz-sources: framework/config/host_config.cpp sdk/src/config.cpp sdk/src/directory.cpp sdk/src/assignments.cpp sdk/src/state_version.cpp sdk/src/files.cpp sdk/src/secret.cpp
// fuzz-flags: -Iframework/config -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DUSE_OS_TZDB=1 -ltomlplusplus -ldate-tz -lfmt -lcap
//
// Arbitrary text as a whole connector file through the host's reader (framework/config/
// host_config.cpp: [host], [[stage]] and the directory): it loads or throws ConfigError, never
// anything else, and what loads holds together: at least one stage, stage names valid and
// unique, sizes in their ranges, every capability one libcap knows, no user that is root, and an
// admin listener beyond loopback only with a token.
#include <sys/capability.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "host_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace waygate;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  HostConfig c;
  try {
    c = parse_host_config(text, "/nonexistent/fuzz.toml");
  } catch (const ConfigError&) {
    return 0;
  }
  if (c.stages.empty()) __builtin_trap();
  std::set<std::string> names;
  for (const auto& s : c.stages) {
    if (s.name.empty() || s.name.size() > 32 || !names.insert(s.name).second) __builtin_trap();
    for (char ch : s.name)
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) __builtin_trap();
  }
  if (c.buffers < 256 || c.buffer_size < 1024 || c.headroom > 512 || c.ring_entries < 64) __builtin_trap();
  for (const auto& name : c.capabilities) {
    cap_value_t v;
    if (cap_from_name(name.c_str(), &v) != 0) __builtin_trap();
  }
  if (!c.user.empty() && c.uid == 0) __builtin_trap();
  const bool loopback = c.admin.empty() || c.admin.rfind("127.", 0) == 0 || c.admin.rfind("[::1]:", 0) == 0 ||
                        c.admin.rfind("localhost:", 0) == 0;
  if (!loopback && c.admin_token.empty()) __builtin_trap();
  return 0;
}
