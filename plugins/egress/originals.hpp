// What the egress edge changes on the system for as long as it runs — the kernel's ephemeral port
// range, the interface's receive offload, forwarding — must go back to what it was even after the
// process is killed and started again. The record of the originals lives in the comment of the
// edge's own nftables table: that table outlives a killed process exactly until the next start
// replaces it, so a start that finds it knows the values it reads now are the dead run's, and
// takes the originals from the record instead (a clean stop deletes the table, record included).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace waygate::egress {

// Names ("ports", "ip_forward") and values without spaces or quotes ("32768-60999",
// "on", "0"); what does not fit nft's comment (127 bytes) or its quoting is left out.
using Originals = std::map<std::string, std::string>;

// `comment "..."` text for the table, "" for no originals.
std::string originals_comment(const Originals& originals);
// The originals in an `nft list table` listing; empty when it holds no record.
Originals parse_originals(std::string_view listing);
// The record in the table `table` of the calling thread's namespace; empty when there is no such
// table (the last run stopped cleanly) or it holds none.
Originals left_behind(const std::string& table);

// ip_local_port_range as recorded ("32768-60999") and as the kernel reads and takes it.
std::string range_record(const std::string& sysctl_text);
std::string range_sysctl(const std::string& record);

}  // namespace waygate::egress
