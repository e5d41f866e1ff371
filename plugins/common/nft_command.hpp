// Running `nft -f -` on a script, for the plugins that install nftables tables (the egress edge's,
// the client's lockdown) and for the doctors that list them.
//
// The nft command rather than libnftables: Debian ships the library's headers only in
// libnftables-dev, one more build dependency for a few calls made at start and stop, while the
// command is in the nftables package these hosts need anyway; its error text is the same.
#pragma once

#include <string>

namespace waygate {

// Runs nft on the script in the calling thread's network namespace and returns what it printed (a
// `list` script's listing); throws std::runtime_error with nft's own message on failure. For
// start, stop, reload, commands and doctors: never on a packet path.
std::string run_nft(const std::string& script);

}  // namespace waygate
