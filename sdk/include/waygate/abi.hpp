// The SDK's ABI version. A plugin records the version it was compiled against; the host refuses a
// plugin whose version differs from its own, naming both. Bump it whenever a public header changes
// the layout of a type or the signature of a virtual function that crosses the plugin boundary.
#pragma once

#include <cstdint>

namespace waygate {

// 2: Context::directory() and Context::serve(); 3: BurstSink::dropped() (drops by socket and
// identity), Context::metrics(),
// and Config's table path with record_keys()/asked() (the schema `waygate check --keys` prints);
// 4: Io::send_segments() and Io::receive_segments() (UDP GSO and GRO); 5: Context::crew() and
// Plugin::flush() (a burst's crypto spread over threads); 6: Directory::warnings, and Socket's
// allow and deny (what an exit node reaches beyond and within the internet).
inline constexpr std::uint32_t kAbiVersion = 6;

}  // namespace waygate
