// The web portal's files (framework/control/portal/), bundled by esbuild from its npm packages at
// build time and compiled into the binary: the host serves them with nothing read at run time.
#pragma once

#include <span>
#include <string_view>

namespace waygate::portal {

struct Asset {
  std::string_view name;          // "index.html", "portal.js", "portal.css"
  std::string_view content_type;
  std::string_view body;
};

std::span<const Asset> assets();

}  // namespace waygate::portal
