#include "tables.hpp"

#include "waygate/netns.hpp"


#include <stdexcept>
#include <utility>

namespace waygate::egress {

namespace {

std::string replace_header(std::string_view table, std::string_view comment) {
  std::string t(table);
  std::string out = "table inet " + t + "\ndelete table inet " + t + "\ntable inet " + t + " {\n";
  if (!comment.empty()) out += "\tcomment \"" + std::string(comment) + "\"\n";
  return out;
}

template <typename A>
std::string set_of(const std::vector<A>& addresses) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < addresses.size(); ++i) out += (i ? ", " : "") + to_string(addresses[i]);
  return out + " }";
}

// One rule per family with egress addresses: "ip daddr { ... } meta l4proto { tcp, udp } th dport
// FIRST-LAST <verdict>".
std::string rules(const Settings& s, std::string_view which, std::string_view verdict) {
  const std::string ports = std::to_string(s.ports.first) + "-" + std::to_string(s.ports.last);
  const std::string port = which == "daddr" ? "dport" : "sport";
  std::string out;
  auto rule = [&](std::string_view family, const std::string& set) {
    out += "\t\t" + std::string(family) + " " + std::string(which) + " " + set +
           " meta l4proto { tcp, udp } th " + port + " " + ports + " " + std::string(verdict) + "\n";
  };
  if (!s.egress4.empty()) rule("ip", set_of(s.egress4));
  if (!s.egress6.empty()) rule("ip6", set_of(s.egress6));
  return out;
}

std::string chain(std::string_view name, std::string_view hook, std::string_view body) {
  return "\tchain " + std::string(name) + " {\n\t\t" + std::string(hook) + "; policy accept;\n" +
         std::string(body) + "\t}\n";
}

}  // namespace

std::string table_name(std::string_view stage) {
  std::string name = "waygate_";
  for (char ch : stage) name += ch == '-' ? '_' : ch;
  return name;
}

std::string shared_script(std::string_view table, const Settings& s, std::string_view comment) {
  return replace_header(table, comment) +
         chain("prerouting", "type filter hook prerouting priority raw", rules(s, "daddr", "notrack")) +
         chain("input", "type filter hook input priority filter - 10", rules(s, "daddr", "drop")) +
         chain("output", "type filter hook output priority raw", rules(s, "saddr", "notrack")) + "}\n";
}

std::string kernel_script(std::string_view table, const Settings& s, std::string_view device,
                          std::string_view comment) {
  const std::string rule = "\t\tiifname \"" + std::string(device) + "\" oifname \"" + s.interface + "\" masquerade\n";
  return replace_header(table, comment) + chain("postrouting", "type nat hook postrouting priority srcnat", rule) + "}\n";
}

std::string delete_script(std::string_view table) {
  std::string t(table);
  return "table inet " + t + "\ndelete table inet " + t + "\n";
}

NftTable::NftTable(std::string netns, std::string name, const std::string& script, Logger& log)
    : netns_(std::move(netns)), name_(std::move(name)), log_(log) {
  replace(script);
}

NftTable::~NftTable() {
  try {
    NetnsGuard in_namespace(netns_);
    run_nft(delete_script(name_));
  } catch (const std::exception& e) {
    log_.error("removing nftables table {}: {}", name_, e.what());
  }
}

void NftTable::replace(const std::string& script) {
  NetnsGuard in_namespace(netns_);
  run_nft(script);
}

}  // namespace waygate::egress
