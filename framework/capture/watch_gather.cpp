#include "watch_gather.hpp"

#include <boost/json.hpp>

#include "base64.hpp"

namespace waygate {

namespace json = boost::json;

Response gather_watches(std::vector<Response> answers) {
  if (answers.empty()) return {500, "text/plain", "no worker answered\n"};
  for (auto& a : answers)
    if (a.status != answers.front().status) return a.status >= 300 ? a : answers.front();  // a refusal speaks
  if (answers.front().status >= 300) return answers.front();
  try {
    json::object merged = json::parse(answers.front().body).as_object();
    const bool read = merged.contains("state");  // else a start (its number) or the list of stages
    std::string blocks;
    for (std::size_t w = 0; w < answers.size(); ++w) {
      const json::object other = w == 0 ? merged : json::parse(answers[w].body).as_object();
      if (other.if_contains("id") != nullptr && merged.if_contains("id") != nullptr && other.at("id") != merged.at("id"))
        return {500, "application/json", R"({"error":"the workers numbered this apart: end it and start again"})" "\n"};
      if (!read) continue;
      if (w > 0) {
        for (const char* count : {"captured", "traced", "lost"})
          if (merged.contains(count))
            merged[count] = merged.at(count).to_number<std::uint64_t>() + other.at(count).to_number<std::uint64_t>();
        if (other.at("state") == "running") merged["state"] = "running";
        if (merged.at("why").as_string().empty()) merged["why"] = other.at("why");
      }
      const json::value& packets = other.at("packets");
      if (packets.is_string()) {  // a capture's: pcapng blocks, one after another
        auto bytes = from_base64(packets.as_string());
        if (!bytes) return {500, "text/plain", "a worker's packets are not base64\n"};
        blocks += *bytes;
      } else if (w > 0) {  // a trace's: packet by packet
        for (const json::value& p : packets.as_array()) merged["packets"].as_array().push_back(p);
      }
    }
    if (read && merged.at("state") == "running") merged["why"] = "";
    if (read && merged.at("packets").is_string()) merged["packets"] = to_base64(blocks);
    return {answers.front().status, "application/json", json::serialize(merged) + "\n"};
  } catch (const std::exception& e) {
    return {500, "text/plain", std::string("a worker's answer does not read: ") + e.what() + "\n"};
  }
}

}  // namespace waygate
