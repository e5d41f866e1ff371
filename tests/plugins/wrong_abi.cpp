// A plugin that claims the next SDK ABI version, as one built against a newer SDK would.
#include "waygate/plugin.hpp"

namespace {
waygate::Plugin* create(waygate::Context&) { return nullptr; }
}  // namespace

extern "C" const waygate::PluginInfo waygate_future_info{waygate::kAbiVersion + 1, "future", "9.9",
                                                         &create, false};
BOOST_DLL_ALIAS(waygate_future_info, waygate_plugin)
