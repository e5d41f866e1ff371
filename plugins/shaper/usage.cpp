#include "usage.hpp"

#include <fstream>
#include <stdexcept>

#include <boost/json.hpp>

#include "waygate/utc.hpp"

namespace waygate::shaper {

namespace json = boost::json;

void UsageBook::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    auto bad = [&](const std::string& why) {
      return std::runtime_error(path + ":" + std::to_string(n) + ": " + why);
    };
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
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
