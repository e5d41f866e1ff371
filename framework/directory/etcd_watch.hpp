// Follows the directory's keys in etcd on a thread of its own (etcd's v3 watch: one long POST
// whose answer streams a JSON message per change through the JSON gateway) and calls `changed`
// after each change, and once when etcd answers again after an outage (what changed meanwhile
// is then read whole). Members are tried in turn, backing off up to 30 s; the loss and the return
// are logged once each.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "host_config.hpp"
#include "waygate/admin_client.hpp"

namespace waygate {

class DirectoryWatch {
 public:
  DirectoryWatch(EtcdDirectory where, std::int64_t from_revision, std::function<void()> changed);
  ~DirectoryWatch();
  DirectoryWatch(const DirectoryWatch&) = delete;
  DirectoryWatch& operator=(const DirectoryWatch&) = delete;

 private:
  void run();
  // One watch on one member until it ends; false when the member could not be reached at all.
  bool watch(const std::string& member, std::int64_t from_revision);

  EtcdDirectory where_;
  std::int64_t from_revision_;
  std::function<void()> changed_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  Connection* connection_ = nullptr;  // the one the thread reads, for the destructor to abort
  std::thread thread_;
};

}  // namespace waygate
