// etcd's v3 API through its JSON gateway (POST /v3/kv/range, /v3/kv/txn), one request per call,
// trying the cluster's members in turn until one answers: what the directory needs of a
// distributed store, and no more. Keys and values are bytes; the gateway carries them in base64.
#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <vector>

#include "etcd_answers.hpp"
#include "waygate/admin_client.hpp"

namespace waygate {


// The key just past every key that starts with `prefix`: etcd's range end for a prefix.
std::string prefix_end(std::string prefix);

// "10.0.0.1:2379" of "http://10.0.0.1:2379" or "https://..."; throws std::invalid_argument for
// anything else, and for https without TLS files.
std::string member_address(const std::string& url, const Tls* tls);

class Etcd {
 public:
  // Members as "http://10.0.0.1:2379", or "https://..." with `tls`.
  explicit Etcd(const std::vector<std::string>& members, const Tls* tls = nullptr);

  // Everything under `prefix`, now or (revision > 0) as of that revision.
  Snapshot range(const std::string& prefix, std::int64_t revision = 0) const;
  // With `lease`, the key goes when the lease does.
  void put(const std::string& key, const std::string& value, std::int64_t lease = 0) const;
  // A lease of `ttl` seconds: its id.
  std::int64_t grant(int ttl) const;
  // Renews the lease: the seconds it has left, 0 when it is gone (expired, revoked).
  std::int64_t keep_alive(std::int64_t lease) const;
  // Ends the lease now, and with it the keys put with it.
  void revoke(std::int64_t lease) const;
  // The puts and deletes in one transaction, taken only if no key under `prefix` was written
  // after `revision` and each of `unchanged`'s keys was last written at its mod_revision (0: the
  // key does not exist): the store's revision after it, or 0 (and nothing written) otherwise.
  std::int64_t commit(const std::string& prefix, std::int64_t revision, const std::vector<KeyValue>& puts,
                      const std::vector<std::string>& deletes, const std::vector<KeyValue>& unchanged = {}) const;

 private:
  // The answer's body from the first member that answers; throws naming every member otherwise.
  std::string post(const std::string& target, const std::string& body) const;
  std::vector<std::string> members_;  // "10.0.0.1:2379"
  std::optional<Tls> tls_;
};

}  // namespace waygate
