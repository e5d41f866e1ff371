#include "gathered.hpp"

#include <map>
#include <string>

#include <boost/json.hpp>

namespace waygate::stats {

namespace {

namespace json = boost::json;

// bytes and packets, each way, of `from` added into `into`.
void add_moved(json::object& into, const json::object& from) {
  for (const char* what : {"bytes", "packets"})
    for (const char* way : {"outbound", "inbound"}) {
      json::value& total = into.at(what).at(way);
      total = total.to_number<std::uint64_t>() + from.at(what).at(way).to_number<std::uint64_t>();
    }
}

// name -> position, of the objects of an array
std::map<std::string, std::size_t> by_name(const json::array& a) {
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < a.size(); ++i) at.emplace(json::value_to<std::string>(a[i].at("name")), i);
  return at;
}

}  // namespace

Response gather_totals(std::vector<Response> answers) {
  if (answers.empty()) return {500, "text/plain", "no worker answered\n"};
  for (auto& a : answers)
    if (a.status != 200) return a;
  try {
    json::object base = json::parse(answers[0].body).as_object();
    json::array& sockets = base.at("sockets").as_array();
    json::array& identities = base.at("identities").as_array();
    const auto socket_at = by_name(sockets);
    const auto identity_at = by_name(identities);
    for (std::size_t w = 1; w < answers.size(); ++w) {
      const json::object other = json::parse(answers[w].body).as_object();
      for (const json::value& s : other.at("sockets").as_array()) {
        auto it = socket_at.find(json::value_to<std::string>(s.at("name")));
        if (it == socket_at.end()) continue;  // a reload between the answers: the first worker's directory stands
        json::object& mine = sockets[it->second].as_object();
        add_moved(mine, s.as_object());
        mine["handshakes"] = mine.at("handshakes").to_number<std::uint64_t>() + s.at("handshakes").to_number<std::uint64_t>();
      }
      for (const json::value& i : other.at("identities").as_array()) {
        auto it = identity_at.find(json::value_to<std::string>(i.at("name")));
        if (it == identity_at.end()) continue;
        json::object& mine = identities[it->second].as_object();
        add_moved(mine, i.as_object());
        if (i.at("active").as_bool()) mine["active"] = true;
        const json::value& idle = i.at("idle_seconds");
        if (!idle.is_null() && (mine.at("idle_seconds").is_null() ||
                                idle.to_number<std::int64_t>() < mine.at("idle_seconds").to_number<std::int64_t>())) {
          mine["idle_seconds"] = idle;  // the latest packet was this worker's: so is the socket
          mine["socket"] = i.at("socket");
        }
      }
    }
    std::map<std::string, std::uint64_t> clients;
    for (const json::value& i : identities)
      if (i.at("active").as_bool() && i.at("socket").is_string()) ++clients[json::value_to<std::string>(i.at("socket"))];
    for (json::value& s : sockets) s.as_object()["clients"] = clients[json::value_to<std::string>(s.at("name"))];
    return {200, "application/json", json::serialize(base) + "\n"};
  } catch (const std::exception& e) {
    return {500, "text/plain", std::string("a worker's traffic totals do not read: ") + e.what() + "\n"};
  }
}

}  // namespace waygate::stats
