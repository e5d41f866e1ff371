#include "etcd.hpp"

#include <sodium.h>

#include <stdexcept>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/admin_client.hpp"

namespace waygate {

namespace {

namespace json = boost::json;

std::string b64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating zero
  return out;
}

std::string unb64(const json::value& v) {
  const json::string& text = v.as_string();
  std::string out(text.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    throw std::runtime_error("etcd answered with a key or value that is not base64");
  out.resize(len);
  return out;
}

// The key just past every key that starts with `prefix`: etcd's range end for a prefix.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      ++prefix.back();
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// The gateway writes 64-bit numbers as strings, and leaves out zeros.
std::int64_t number(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_string()) return std::stoll(std::string(v->as_string()));
  return v->to_number<std::int64_t>();
}

}  // namespace

Etcd::Etcd(const std::vector<std::string>& members) {
  for (const std::string& m : members) {
    if (!m.starts_with("http://") || m.size() <= 7)
      throw std::invalid_argument("etcd member '" + m + "': expected http://HOST:PORT");
    std::string address = m.substr(7);
    if (address.ends_with("/")) address.pop_back();
    members_.push_back(address);
  }
  if (members_.empty()) throw std::invalid_argument("no etcd member given");
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

std::string Etcd::post(const std::string& target, const std::string& body) const {
  std::string why;
  for (const std::string& m : members_) {
    try {
      HttpAnswer a = http_request(m, "POST", target, body, "", std::chrono::seconds(3));
      if (a.status == 200) return a.body;
      why += fmt::format("{}{} answered {}: {}", why.empty() ? "" : "; ", m, a.status, a.body);
    } catch (const std::exception& e) {
      why += (why.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw std::runtime_error("no etcd member answered: " + why);
}

Snapshot Etcd::range(const std::string& prefix) const {
  const json::object request{{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))}};
  const json::value answer = json::parse(post("/v3/kv/range", json::serialize(request)));
  Snapshot s;
  s.revision = number(answer.at("header").as_object(), "revision");
  if (const json::value* kvs = answer.as_object().if_contains("kvs"))
    for (const json::value& kv : kvs->as_array()) {
      const json::object& o = kv.as_object();
      s.kvs.push_back({unb64(o.at("key")), o.contains("value") ? unb64(o.at("value")) : "", number(o, "mod_revision")});
    }
  return s;
}

void Etcd::put(const std::string& key, const std::string& value) const {
  post("/v3/kv/put", json::serialize(json::object{{"key", b64(key)}, {"value", b64(value)}}));
}

std::int64_t Etcd::commit(const std::string& prefix, std::int64_t revision, const std::vector<KeyValue>& puts,
                          const std::vector<std::string>& deletes) const {
  json::array success;
  for (const KeyValue& kv : puts)
    success.push_back(json::object{{"request_put", json::object{{"key", b64(kv.key)}, {"value", b64(kv.value)}}}});
  for (const std::string& key : deletes)
    success.push_back(json::object{{"request_delete_range", json::object{{"key", b64(key)}}}});
  // Every key of the prefix last written no later than `revision`: one written since fails it.
  const json::object guard{{"key", b64(prefix)},
                           {"range_end", b64(prefix_end(prefix))},
                           {"target", "MOD"},
                           {"result", "LESS"},
                           {"mod_revision", std::to_string(revision + 1)}};
  const json::object request{{"compare", json::array{guard}}, {"success", success}};
  const json::value answer = json::parse(post("/v3/kv/txn", json::serialize(request)));
  const json::value* ok = answer.as_object().if_contains("succeeded");
  if (ok == nullptr || !ok->is_bool() || !ok->as_bool()) return 0;
  return number(answer.at("header").as_object(), "revision");
}

}  // namespace waygate
