#include "etcd.hpp"

#include <stdexcept>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/admin_client.hpp"

namespace waygate {

namespace json = boost::json;

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

std::string member_address(const std::string& url, const Tls* tls) {
  const bool secure = url.starts_with("https://");
  if (!secure && !url.starts_with("http://"))
    throw std::invalid_argument("etcd member '" + url + "': expected http://HOST:PORT or https://HOST:PORT");
  if (secure && tls == nullptr) throw std::invalid_argument("etcd member '" + url + "': https needs a ca (and a client cert and key)");
  std::string address = url.substr(secure ? 8 : 7);
  if (address.ends_with("/")) address.pop_back();
  if (address.empty()) throw std::invalid_argument("etcd member '" + url + "': no HOST:PORT");
  return address;
}

Etcd::Etcd(const std::vector<std::string>& members, const Tls* tls) {
  if (tls != nullptr) tls_ = *tls;
  for (const std::string& m : members) members_.push_back(member_address(m, tls));
  if (members_.empty()) throw std::invalid_argument("no etcd member given");
}

std::string Etcd::post(const std::string& target, const std::string& body) const {
  std::string why;
  for (const std::string& m : members_) {
    try {
      HttpAnswer a = http_request(m, "POST", target, body, "", std::chrono::seconds(3), tls_ ? &*tls_ : nullptr);
      if (a.status == 200) return a.body;
      why += fmt::format("{}{} answered {}: {}", why.empty() ? "" : "; ", m, a.status, a.body);
    } catch (const std::exception& e) {
      why += (why.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw std::runtime_error("no etcd member answered: " + why);
}

Snapshot Etcd::range(const std::string& prefix, std::int64_t revision) const {
  json::object request{{"key", to_base64(prefix)}, {"range_end", to_base64(prefix_end(prefix))}};
  if (revision > 0) request["revision"] = std::to_string(revision);
  return read_range(post("/v3/kv/range", json::serialize(request)));
}

void Etcd::put(const std::string& key, const std::string& value, std::int64_t lease) const {
  json::object request{{"key", to_base64(key)}, {"value", to_base64(value)}};
  if (lease != 0) request["lease"] = std::to_string(lease);
  post("/v3/kv/put", json::serialize(request));
}

std::int64_t Etcd::grant(int ttl) const {
  return read_lease(post("/v3/lease/grant", json::serialize(json::object{{"TTL", ttl}}))).id;
}

std::int64_t Etcd::keep_alive(std::int64_t lease) const {
  // A stream in gRPC; through the gateway one POST renews once and answers once.
  return read_lease(post("/v3/lease/keepalive", json::serialize(json::object{{"ID", std::to_string(lease)}}))).ttl;
}

void Etcd::revoke(std::int64_t lease) const {
  post("/v3/lease/revoke", json::serialize(json::object{{"ID", std::to_string(lease)}}));
}

std::int64_t Etcd::commit(const std::string& prefix, std::int64_t revision, const std::vector<KeyValue>& puts,
                          const std::vector<std::string>& deletes, const std::vector<KeyValue>& unchanged) const {
  json::array success;
  for (const KeyValue& kv : puts)
    success.push_back(json::object{{"request_put", json::object{{"key", to_base64(kv.key)}, {"value", to_base64(kv.value)}}}});
  for (const std::string& key : deletes)
    success.push_back(json::object{{"request_delete_range", json::object{{"key", to_base64(key)}}}});
  // Every key of the prefix last written no later than `revision`: one written since fails it.
  const json::object guard{{"key", to_base64(prefix)},
                           {"range_end", to_base64(prefix_end(prefix))},
                           {"target", "MOD"},
                           {"result", "LESS"},
                           {"mod_revision", std::to_string(revision + 1)}};
  json::array compare{guard};
  for (const KeyValue& kv : unchanged)
    compare.push_back(json::object{{"key", to_base64(kv.key)},
                                   {"target", "MOD"},
                                   {"result", "EQUAL"},
                                   {"mod_revision", std::to_string(kv.mod_revision)}});
  const json::object request{{"compare", compare}, {"success", success}};
  return read_txn(post("/v3/kv/txn", json::serialize(request)));
}

}  // namespace waygate
