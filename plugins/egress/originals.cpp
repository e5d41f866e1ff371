#include "originals.hpp"

#include <algorithm>
#include <exception>

#include "tables.hpp"

namespace waygate::egress {

namespace {

constexpr std::string_view kPrefix = "waygate originals:";
constexpr std::size_t kMaxComment = 127;  // NFT_USERDATA_MAXLEN less the terminating zero

bool plain(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\\' || c == '=';
  });
}

}  // namespace

std::string originals_comment(const Originals& originals) {
  std::string text(kPrefix);
  for (const auto& [name, value] : originals) {
    if (!plain(name) || !plain(value)) continue;
    std::string item = " " + name + "=" + value;
    if (text.size() + item.size() > kMaxComment) continue;
    text += item;
  }
  return text.size() == kPrefix.size() ? "" : text;
}

Originals parse_originals(std::string_view listing) {
  Originals out;
  const std::string opener = "comment \"" + std::string(kPrefix);
  auto at = listing.find(opener);
  if (at == std::string_view::npos) return out;
  at += opener.size();
  auto end = listing.find('"', at);
  if (end == std::string_view::npos) return out;
  std::string_view text = listing.substr(at, end - at);
  while (!text.empty()) {
    auto space = text.find(' ');
    std::string_view item = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) continue;
    out.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  return out;
}

Originals left_behind(const std::string& table) {
  try {
    return parse_originals(run_nft("list table inet " + table + "\n"));
  } catch (const std::exception&) {  // no such table: the last run stopped cleanly
    return {};
  }
}

std::string range_record(const std::string& sysctl_text) {
  std::string out = sysctl_text;
  std::replace(out.begin(), out.end(), '\t', '-');
  std::replace(out.begin(), out.end(), ' ', '-');
  return out;
}

std::string range_sysctl(const std::string& record) {
  std::string out = record;
  std::replace(out.begin(), out.end(), '-', ' ');
  return out;
}

}  // namespace waygate::egress
