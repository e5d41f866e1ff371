#include "waygate/packet_trace.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <stdexcept>
#include <tuple>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "waygate/admin_client.hpp"

namespace waygate {

namespace json = boost::json;

namespace {

std::string error_of(const HttpAnswer& a) {
  boost::system::error_code ec;
  const json::value v = json::parse(a.body, ec);
  if (!ec && v.is_object())
    if (const json::value* e = v.as_object().if_contains("error"); e != nullptr && e->is_string())
      return std::string(e->as_string());
  return fmt::format("HTTP {}", a.status);
}

}  // namespace

std::string PacketTrace::Ending::text() const {
  const std::string whose = identity.empty() ? what : identity + "'s " + what;  // whose: where identities are known
  const std::string count = fmt::format("({} packet{})", packets, packets == 1 ? "" : "s");
  if (verdict == "drop") return fmt::format("{} reaches {} and is dropped: {} {}", whose, stage, reason, count);
  if (verdict == "taken") return fmt::format("{} leaves through {} {}", whose, stage, count);
  return fmt::format("{} ends at {} ({}) {}", whose, stage, verdict, count);
}

PacketTrace::PacketTrace(const std::string& admin, const std::string& token, int seconds, const std::string& filter)
    : admin_(admin), token_(token) {
  const json::object ask{{"filter", filter}, {"count", 100000}, {"seconds", seconds}};
  const HttpAnswer a = http_request(admin, "POST", "/v1/trace", json::serialize(ask), token);
  if (a.status != 201) throw std::runtime_error("the host refused a trace: " + error_of(a));
  id_ = json::serialize(json::parse(a.body).at("id"));
}

PacketTrace::~PacketTrace() {
  if (id_.empty()) return;
  try {
    http_request(admin_, "DELETE", "/v1/trace/" + id_, "", token_);
  } catch (const std::exception&) {  // the host went away: its traces with it
  }
}

std::vector<PacketTrace::Ending> PacketTrace::finish() {
  const HttpAnswer a = http_request(admin_, "DELETE", "/v1/trace/" + id_, "", token_);
  id_.clear();
  if (a.status != 200) throw std::runtime_error("the host's trace: " + error_of(a));
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, std::size_t> ways;
  const json::value read = json::parse(a.body);
  for (const json::value& p : read.at("packets").as_array()) {
    const json::object& packet = p.as_object();
    const json::array& steps = packet.at("steps").as_array();
    if (steps.empty()) continue;
    const json::object& last = steps.back().as_object();
    std::string identity(packet.at("identity").as_string()), what(packet.at("packet").as_string());
    if (identity == "-") identity.clear();
    what = what.substr(0, what.find(' '));
    ++ways[{identity, what, std::string(last.at("stage").as_string()), std::string(last.at("verdict").as_string()),
            std::string(last.at("reason").as_string())}];
  }
  std::vector<Ending> out;
  for (auto& [key, n] : ways) out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), std::get<4>(key), n});
  std::stable_sort(out.begin(), out.end(), [](const Ending& x, const Ending& y) { return x.packets > y.packets; });
  return out;
}

Check where_packets_stop(PacketTrace& trace, const std::string& file) {
  const std::vector<PacketTrace::Ending> endings = trace.finish();
  if (endings.empty()) return {"where packets stop", true, "no packet entered the pipeline while the checks ran", ""};
  std::vector<std::string> lines;
  std::map<std::string, std::size_t> all, dropped;  // packets by identity
  std::string first_dropped;
  for (const auto& e : endings) {
    lines.push_back(e.text());
    all[e.identity] += e.packets;
    if (!e.dropped()) continue;
    dropped[e.identity] += e.packets;
    if (first_dropped.empty()) first_dropped = e.identity;
  }
  // An identity none of whose packets got through; where the host knows no identities (a client),
  // the host itself.
  std::optional<std::string> cut_off;
  for (const auto& [who, n] : all)
    if (auto d = dropped.find(who); !cut_off && (!who.empty() || all.size() == 1) && d != dropped.end() && d->second == n)
      cut_off = who;
  const std::string who = cut_off ? *cut_off : first_dropped;
  return {"where packets stop", !cut_off, fmt::format("{}", fmt::join(lines, "; ")),
          fmt::format("`waygate trace -c {}{}` shows each packet's way, stage by stage; the drop's reason says why "
                      "(no_exit_node or denied: no policy linked to the exit node grants the network permission)",
                      file, who.empty() ? "" : " --identity " + who),
          !dropped.empty()};
}

}  // namespace waygate
