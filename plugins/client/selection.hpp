// The client's exit-node selection, and everything it changes on the client's host: the routes
// the exit node hands out (on the TUN device), a bypass route that keeps the connector's own
// address on the path it had (or the tunnel would carry itself), the resolver pointed at the exit
// node's DNS servers, and with lockdown an nftables table that lets nothing out but the tunnel.
//
// The selection is kept in a file (the client stage's `state`), with what was installed, so that
// whoever removes it — `waygate client off`, the client host at a clean stop, or at its next start
// after a crash — removes exactly that and nothing else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "routes.hpp"
#include "settings.hpp"

namespace waygate::client {

// What install() changed, so that uninstall() undoes that and only that.
struct Installed {
  std::vector<Route> routes;    // added by us (one already there is not ours), bypass first
  std::string resolver;         // the resolver file, when it was rewritten ("" when not):
  std::string resolver_before;  // ...what it held before,
  std::string resolver_ours;    // ...and what we wrote (restored only while it still holds that)
  std::string lockdown_table;   // "" when none
};

struct Selection {
  std::string connector;
  std::string exit_node;
  // The tunnel endpoints of the connector in use, "192.0.2.1:51820", and of those the tunnel may
  // move the exit node to: each gets a bypass route and, with lockdown, a way out.
  std::vector<std::string> endpoints;
  std::vector<std::string> routes;  // as the connector hands them out for the exit node
  std::vector<std::string> dns;
  bool lockdown = false;
  std::optional<Installed> installed;
};

// The file is JSON with a "version" (waygate/state_version.hpp); one without is from before
// versions, and read. nullopt when there is no file; throws std::runtime_error naming the file if
// it does not read, is from a newer format, or is there but cannot be read.
std::optional<Selection> load_selection(const std::string& path);
void save_selection(const std::string& path, const Selection& s);
void forget_selection(const std::string& path);

// Installs the selection on this host (the calling thread's network namespace). The bypass goes
// first, while the kernel still has its own path to the endpoint. On failure, what it did is
// undone and it throws. Needs CAP_NET_ADMIN, and write access to the resolver file.
void install(Selection& s, const Settings& settings);
// Removes what s.installed says, in reverse order, and clears it; returns what it could not do.
std::vector<std::string> uninstall(Selection& s);

// The pieces, for the tests to read.
std::string lockdown_table(const std::string& stage);
std::string lockdown_script(const std::string& table, const std::string& device, const std::vector<std::string>& endpoints);
// The resolver file pointing at `dns`, keeping the old file's search and options lines.
std::string resolver_text(const std::string& before, const std::vector<std::string>& dns, const std::string& exit_node);

}  // namespace waygate::client
