#include "history.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <boost/json.hpp>

#include "waygate/files.hpp"

namespace waygate::stats {

namespace json = boost::json;

namespace {

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
  return json::serialize(json::object{{"version", 1}, {"interval", interval_seconds}, {"sockets", sockets}});
}

std::string series_json(const Series& s, std::int64_t since) { return json::serialize(samples(s, since)); }

void load_history(const std::string& path, History& into) {
  std::ifstream in(path);
  if (!in) return;  // no history yet
  std::stringstream text;
  text << in.rdbuf();
  json::value v = json::parse(text.str());
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
}

void save_history(const std::string& path, const History& h, int interval_seconds) {
  std::string text = history_json(h, interval_seconds);
  write_file_atomically(path, text);
}

}  // namespace waygate::stats
