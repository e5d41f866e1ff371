#include "usage.hpp"

#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <boost/json.hpp>

#include "waygate/files.hpp"
#include "waygate/state_version.hpp"
#include "waygate/utc.hpp"

namespace waygate::shaper {

namespace json = boost::json;

namespace {

constexpr const char* kKind = "quota-usage";
// 0: one JSON object per quota and line. 1: the same with a header line.
constexpr int kVersion = 1;

}  // namespace

std::string UsageBook::header() { return state_header(kKind, kVersion); }

void UsageBook::load(const std::string& path) {
  const std::optional<std::string> text = read_file_if_present(path);
  if (!text) return;
  // The header first, wherever it is: a snapshot's lines land in any order (snapshot_file.hpp).
  std::vector<std::string> lines;
  int version = 0;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (auto v = state_header_version(path, kKind, line)) version = *v;
    lines.push_back(std::move(line));  // kept, so that errors count lines as the file does
  }
  check_state_version(path, kKind, version, kVersion);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    if (state_header_version(path, kKind, line)) continue;
    auto bad = [&](const std::string& why) {
      return std::runtime_error(path + ":" + std::to_string(n + 1) + ": " + why);
    };
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    if (o == nullptr) throw bad("not a JSON object");
    const json::string* identity = o->contains("identity") ? o->at("identity").if_string() : nullptr;
    const json::string* socket = o->contains("socket") ? o->at("socket").if_string() : nullptr;
    const json::string* start = o->contains("start") ? o->at("start").if_string() : nullptr;
    const json::value* bytes = o->if_contains("bytes");
    if (identity == nullptr || identity->empty() || socket == nullptr || start == nullptr || bytes == nullptr)
      throw bad("expected identity, socket, start and bytes");
    auto when = parse_utc(std::string_view(start->data(), start->size()));
    if (!when) throw bad("start: not a UTC time such as 2026-12-01T00:00:00Z");
    std::uint64_t used = 0;
    if (auto u = bytes->if_uint64()) used = *u;
    else if (auto i = bytes->if_int64(); i && *i >= 0) used = static_cast<std::uint64_t>(*i);
    else throw bad("bytes: not a count");
    Usage& e = at(std::string(*identity), std::string(*socket));
    e.start = std::chrono::floor<std::chrono::seconds>(*when);
    e.bytes = used;
  }
}

std::string UsageBook::line(const std::string& identity, const std::string& socket, const Usage& u) {
  return json::serialize(json::object{{"identity", identity},
                                      {"socket", socket},
                                      {"start", format_utc(UtcTime{u.start})},
                                      {"bytes", u.bytes}});
}

}  // namespace waygate::shaper
