// The SDK's ABI version. A plugin records the version it was compiled against; the host refuses a
// plugin whose version differs from its own, naming both. It is derived from the public headers
// by the build (sdk/cmake/WaygateAbi.cmake): whatever changes what a plugin compiles against
// changes it, so a plugin is never loaded by a host whose types it would misread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "waygate/abi_version.hpp"  // made by the build: kAbiVersion

namespace waygate {

// How versions are written for people: 8 hex digits, "3f2a91c0".
inline std::string abi_text(std::uint32_t version) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", version);
  return text;
}

}  // namespace waygate
