#include "registration.hpp"

#include <boost/json.hpp>

namespace waygate {

namespace json = boost::json;

std::string registration_json(const Registration& r) {
  return json::serialize(json::object{{"name", r.name},
                                      {"endpoint", r.endpoint},
                                      {"public_key", r.public_key},
                                      {"admin", r.admin},
                                      {"version", r.version},
                                      {"revision", r.revision},
                                      {"clients", r.clients},
                                      {"sessions", r.sessions},
                                      {"since", r.since}});
}

std::optional<Registration> read_registration(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  Registration r;
  for (auto [key, out] : {std::pair{"name", &r.name}, {"endpoint", &r.endpoint}, {"public_key", &r.public_key},
                          {"admin", &r.admin}, {"version", &r.version}, {"since", &r.since}}) {
    const json::value* x = o.if_contains(key);
    if (x == nullptr) continue;
    if (!x->is_string()) return std::nullopt;
    *out = std::string(x->as_string());
  }
  for (auto [key, out] : {std::pair{"revision", &r.revision}, {"clients", &r.clients}, {"sessions", &r.sessions}}) {
    const json::value* x = o.if_contains(key);
    if (x == nullptr) continue;
    if (!x->is_int64()) return std::nullopt;
    *out = x->as_int64();
  }
  if (r.name.empty()) return std::nullopt;
  return r;
}

}  // namespace waygate
