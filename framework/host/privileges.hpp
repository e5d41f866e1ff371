// Least privilege. Setup (devices, sockets, nftables, sysctls) needs root; the running connector
// needs only what its stages do at run time, which [host] capabilities names (see
// host_config.cpp for the default). Once the pipeline runs, the host becomes [host] user, if
// named, and every thread keeps just those capabilities: effective, permitted, inheritable and
// ambient (so the commands a stage runs, nft, have them even under a user that is not root), and
// the bounding set cut to them, so not even an exec can get another back.
//
// Capabilities belong to each thread, not to the process: each thread drops its own
// (restrict_thread), while the user change is made once for every thread (glibc's set*id reach
// them all) and keeps their permitted sets only because keep_capabilities_across_user_change()
// ran before the worker thread was started.
#pragma once

#include <string>

#include "host_config.hpp"

namespace waygate {

// Before any other thread is started, when a user is configured: the threads' permitted
// capabilities survive the change of user.
void keep_capabilities_across_user_change(const HostConfig& config);
// Switches every thread to config.user and config.gid (supplementary groups: that one only), and
// makes the state folder theirs if this start created it (never a folder that was there: a
// mistaken state_dir must not hand a system folder away). Throws std::system_error. No-op
// without a user.
void become_user(const HostConfig& config, bool own_state_dir);
// The calling thread keeps config.capabilities (those it has) and nothing else. Throws
// std::system_error.
void restrict_thread(const HostConfig& config);
// "cap_net_admin,cap_net_raw" as the calling thread holds them (effective set), for the log.
std::string thread_capabilities();

}  // namespace waygate
