#include "history.hpp"

#include <optional>
#include <stdexcept>
#include <system_error>

#include <boost/json.hpp>

#include "waygate/files.hpp"
#include "waygate/state_version.hpp"

namespace waygate::stats {

namespace json = boost::json;

namespace {

constexpr const char* kKind = "traffic-history";
// 1: the first, and so far only, format; every history waygate wrote says it.
constexpr int kVersion = 1;

json::array samples(const Series& s, std::int64_t since) {
  json::array out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const Sample& x = s[i];
    if (x.time < since) continue;
    out.push_back(json::array{x.time, x.bytes[0], x.bytes[1], x.packets[0], x.packets[1], x.clients});
  }
  return out;
}

}  // namespace

std::string history_json(const History& h, int interval_seconds) {
  json::object sockets;
  for (auto& [name, series] : h) sockets[name] = samples(series, 0);
  return json::serialize(json::object{{"version", kVersion}, {"interval", interval_seconds}, {"sockets", sockets}});
}

std::string series_json(const Series& s, std::int64_t since) { return json::serialize(samples(s, since)); }

void load_history(const std::string& path, History& into) {
  const std::optional<std::string> text = read_file_if_present(path);
  if (!text) return;  // no history yet
  auto broken = [&path](const std::exception& e) {
    return std::runtime_error(path + ": not a traffic history (" + e.what() + ")");
  };
  json::value v;
  int version = 0;
  try {
    v = json::parse(*text);
    version = v.at("version").to_number<int>();  // every history waygate wrote says it
  } catch (const std::exception& e) {
    throw broken(e);
  }
  check_state_version(path, kKind, version, kVersion);
  try {
    const json::object& sockets = v.at("sockets").as_object();
    for (auto& [name, series] : into) {
      auto* found = sockets.if_contains(name);
      if (found == nullptr) continue;
      for (auto& row : found->as_array()) {
        const json::array& r = row.as_array();
        Sample x;
        x.time = r.at(0).to_number<std::int64_t>();
        for (int d = 0; d < 2; ++d) {
          x.bytes[d] = r.at(1 + static_cast<std::size_t>(d)).to_number<std::uint64_t>();
          x.packets[d] = r.at(3 + static_cast<std::size_t>(d)).to_number<std::uint64_t>();
        }
        x.clients = r.at(5).to_number<std::uint32_t>();
        series.push(x);
      }
    }
  } catch (const std::exception& e) {
    throw broken(e);
  }
}

void save_history(const std::string& path, const History& h, int interval_seconds) {
  std::string text = history_json(h, interval_seconds);
  write_file_atomically(path, text);
}

}  // namespace waygate::stats
