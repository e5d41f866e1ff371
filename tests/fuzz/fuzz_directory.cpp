// fuzz-sources: sdk/src/config.cpp sdk/src/directory.cpp sdk/src/assignments.cpp sdk/src/state_version.cpp sdk/src/files.cpp
// fuzz-flags: -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DUSE_OS_TZDB=1 -ltomlplusplus -ldate-tz -lfmt
//
// Arbitrary text as a connector's config file through the SDK's TOML reader and the directory
// loader (sdk/src/directory.cpp): it either loads or throws ConfigError, never anything else. What
// loads must hold together: every id a policy names is inside the directory, no overlay address
// is given twice, every identity has at most one address per family and pool addresses lie in
// their pool.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "waygate/config.hpp"
#include "waygate/directory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace waygate;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::shared_ptr<const Directory> d;
  try {
    d = Directory::load(Config::parse(text, "fuzz.toml"));
  } catch (const ConfigError&) {
    return 0;
  }
  std::set<net::Address> seen(d->overlay.connector.begin(), d->overlay.connector.end());
  if (seen.size() != d->overlay.connector.size()) __builtin_trap();
  for (auto& id : d->identities) {
    int v4 = 0, v6 = 0;
    for (auto& a : id.addresses) {
      if (!seen.insert(a).second) __builtin_trap();
      (a.is_v4() ? v4 : v6)++;
    }
    if (v4 > 1 || v6 > 1) __builtin_trap();
  }
  for (auto& [key, addresses] : d->assigned)
    for (auto& a : addresses) {
      const auto& pool = a.is_v4() ? d->overlay.pool4 : d->overlay.pool6;
      if (!pool || !pool->contains(a)) __builtin_trap();
    }
  for (auto& p : d->policies) {
    for (auto s : p.sockets)
      if (s >= d->sockets.size()) __builtin_trap();
    for (auto i : p.conditions.identities)
      if (i >= d->identities.size()) __builtin_trap();
  }
  return 0;
}
