#include "privileges.hpp"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

namespace waygate {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

using Caps = std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&cap_free)>;

Caps current() {
  Caps caps(cap_get_proc(), &cap_free);
  if (!caps) fail("read capabilities");
  return caps;
}

bool holds(cap_t caps, cap_value_t value, cap_flag_t set) {
  cap_flag_value_t v = CAP_CLEAR;
  return cap_get_flag(caps, value, set, &v) == 0 && v == CAP_SET;
}

std::vector<cap_value_t> values(const std::vector<std::string>& names) {
  std::vector<cap_value_t> out;
  for (const auto& name : names) {
    cap_value_t v;
    if (cap_from_name(name.c_str(), &v) == 0) out.push_back(v);  // checked when the config was read
  }
  return out;
}

}  // namespace

void keep_capabilities_across_user_change(const HostConfig& config) {
  if (config.user.empty()) return;
  if (::prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) fail("keep capabilities across the change of user");
}

void become_user(const HostConfig& config, bool own_state_dir) {
  if (config.user.empty()) return;
  // The state folder was just made by root; files there are replaced (written beside, renamed) by
  // whoever runs now.
  if (own_state_dir && !config.state_dir.empty() && ::chown(config.state_dir.c_str(), config.uid, config.gid) != 0)
    fail("make the state folder " + config.state_dir + " the user's");
  if (::setgroups(1, &config.gid) != 0) fail("set the groups of user " + config.user);
  if (::setresgid(config.gid, config.gid, config.gid) != 0) fail("become group " + std::to_string(config.gid));
  if (::setresuid(config.uid, config.uid, config.uid) != 0) fail("become user " + config.user);
}

void restrict_thread(const HostConfig& config) {
  const std::vector<cap_value_t> keep = values(config.capabilities);
  auto kept = [&](cap_value_t v) { return std::find(keep.begin(), keep.end(), v) != keep.end(); };
  Caps now = current();

  // A change of user empties the effective set; cutting the bounding set needs CAP_SETPCAP in it.
  const int bits = cap_max_bits();
  Caps raised(cap_dup(now.get()), &cap_free);
  for (cap_value_t v = 0; v < bits; ++v)
    if (holds(now.get(), v, CAP_PERMITTED)) cap_set_flag(raised.get(), CAP_EFFECTIVE, 1, &v, CAP_SET);
  if (cap_set_proc(raised.get()) != 0) fail("raise permitted capabilities");
  if (holds(now.get(), CAP_SETPCAP, CAP_PERMITTED))
    for (cap_value_t v = 0; v < bits; ++v)
      if (!kept(v) && CAP_IS_SUPPORTED(v) && cap_drop_bound(v) != 0) fail("drop a capability from the bounding set");

  Caps only(cap_init(), &cap_free);
  std::vector<cap_value_t> have;
  for (cap_value_t v : keep)
    if (holds(now.get(), v, CAP_PERMITTED)) have.push_back(v);
  for (cap_flag_t set : {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE})
    if (!have.empty()) cap_set_flag(only.get(), set, static_cast<int>(have.size()), have.data(), CAP_SET);
  if (cap_set_proc(only.get()) != 0) fail("keep only the configured capabilities");
  // Ambient: a command spawned by a user that is not root keeps these (and only these).
  for (cap_value_t v : have)
    if (cap_set_ambient(v, CAP_SET) != 0) fail("raise an ambient capability");
  ::prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
}

std::string thread_capabilities() {
  Caps now = current();
  std::string out;
  for (cap_value_t v = 0; v < cap_max_bits(); ++v) {
    if (!holds(now.get(), v, CAP_EFFECTIVE)) continue;
    char* name = cap_to_name(v);
    if (!out.empty()) out += ',';
    out += name != nullptr ? name : std::to_string(v);
    cap_free(name);
  }
  return out.empty() ? "none" : out;
}

}  // namespace waygate
