#include "etcd_socket.hpp"

#include <spdlog/spdlog.h>

#include "directory_keys.hpp"
#include "etcd.hpp"
#include "socket_file.hpp"

namespace waygate {

Response create_socket_in_etcd(const EtcdDirectory& where, std::string_view body) {
  NewSocket socket;
  try {
    socket = parse_new_socket(body);
  } catch (const std::exception& e) {
    return socket_error(400, e.what());
  }
  const std::string dir = directory_prefix(where.prefix), key = "socket/" + socket.name;
  try {
    const Etcd etcd(where.members, where.tls_or_null());
    const Snapshot s = etcd.range(dir);
    DirectoryKeys now;
    for (const KeyValue& kv : s.kvs) now[kv.key.substr(dir.size())] = kv.value;
    DirectoryKeys next;
    try {
      next = directory_keys(with_socket(directory_toml(now), socket), "the directory in etcd with the new socket");
    } catch (const std::exception& e) {
      return socket_error(400, e.what());
    }
    const std::int64_t revision =
        etcd.commit(dir, s.revision, {{dir + key, next.at(key), 0}, {dir + std::string(kPushedKey), "the portal", 0}}, {});
    if (revision == 0) return socket_error(409, "the directory in etcd changed meanwhile: try again");
    spdlog::info("new socket '{}' written to etcd at revision {}: every connector takes it in", socket.name, revision);
    return created(socket);
  } catch (const std::exception& e) {
    return socket_error(503, std::string("etcd: ") + e.what());
  }
}

}  // namespace waygate
