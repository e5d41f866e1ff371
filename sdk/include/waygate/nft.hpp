// Running an nftables script, for the stages that install tables of their own (the egress edge's,
// the client's lockdown) and for the commands that list them. In process, through libnftables, as
// `nft -f -` would run it, with its error text.
#pragma once

#include <string>

namespace waygate {

// Runs the script in the calling thread's network namespace and returns what it printed (a `list`
// script's listing); throws std::runtime_error with nftables' own message on failure. For start,
// stop, reload, commands and doctors: never on a packet path (it talks to the kernel over netlink
// and waits for the answer).
std::string run_nft(const std::string& script);

}  // namespace waygate
