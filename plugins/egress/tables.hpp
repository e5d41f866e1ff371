// The nftables tables the egress edge installs in its namespace, as `nft -f` script text (built
// here, so the tests compare it with golden text), and running nft on one. Each table is named
// after the stage ("waygate_<stage>", family inet) and owned by it: every script first creates the
// table if it is missing and deletes it, then creates it whole, in one transaction, so a start
// replaces a table left by a crashed run and a failed script changes nothing.
// Scripts run through the SDK's run_nft (waygate/nft.hpp).
#pragma once

#include <string>
#include <string_view>

#include "waygate/nft.hpp"  // run_nft
#include "settings.hpp"
#include "waygate/log.hpp"

namespace waygate::egress {

std::string table_name(std::string_view stage);

// Shared mode: TCP and UDP to the egress addresses within the port range are Waygate's. The
// input hook drops them, so the kernel never answers them with a RST or a port-unreachable
// (the packet socket has its copy already: packet taps run before netfilter); conntrack skips
// them both ways (notrack at the raw priority), so translated flows neither fill the kernel's
// connection table nor meet its NAT.
// `comment` (originals_comment(), originals.hpp) is the table's comment, "" for none.
std::string shared_script(std::string_view table, const Settings& s, std::string_view comment = {});

// Kernel mode: the kernel's NAT masquerades what the edge's device forwards out of `interface`.
std::string kernel_script(std::string_view table, const Settings& s, std::string_view device,
                          std::string_view comment = {});

std::string delete_script(std::string_view table);

// A table the edge installed in a namespace, deleted from there when this goes away (a failure
// to delete is logged: stopping goes on).
class NftTable {
 public:
  // Installs `script` (which creates the table `name`) in `netns`; throws as run_nft does.
  NftTable(std::string netns, std::string name, const std::string& script, Logger& log);
  ~NftTable();
  NftTable(const NftTable&) = delete;
  NftTable& operator=(const NftTable&) = delete;
  void replace(const std::string& script);  // a reload; throws, changing nothing, if nft refuses

 private:
  std::string netns_, name_;
  Logger& log_;
};

}  // namespace waygate::egress
