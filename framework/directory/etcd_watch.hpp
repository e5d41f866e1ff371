// Follows a connector's whole [directory] prefix in etcd on a thread of its own and keeps a copy of
// it: read whole once, then kept by etcd's v3 watch (one long POST whose answer streams a JSON
// message per change through the JSON gateway) from the revision read. It calls `changed` after
// each change of what the connector runs (changes_directory()), and after reading everything again.
// A reload then takes the directory from the copy: a change costs its event, not a read of the
// whole directory. After an outage the watch resumes from the revision the copy has; a revision
// etcd compacted meanwhile has everything read again. Members are tried in turn, backing off up to
// 30 s; the loss and the return are logged once each.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "etcd_answers.hpp"
#include "host_config.hpp"
#include "waygate/admin_client.hpp"

namespace waygate {

class DirectoryWatch {
 public:
  DirectoryWatch(EtcdDirectory where, std::int64_t from_revision, std::function<void()> changed);
  ~DirectoryWatch();
  DirectoryWatch(const DirectoryWatch&) = delete;
  DirectoryWatch& operator=(const DirectoryWatch&) = delete;

  // Everything under the prefix as the copy has it, nullopt before the first read.
  std::optional<Snapshot> copy() const;

 private:
  void run();
  // Reads everything under the prefix from one member into the copy; false when it cannot.
  bool read_whole(const std::string& member);
  // One watch on one member from the copy's revision until it ends; false when the member could
  // not be reached at all.
  bool watch(const std::string& member);
  void apply(const WatchBatch& batch);

  EtcdDirectory where_;
  std::int64_t from_revision_;  // what the connector runs: a copy read later is news
  std::function<void()> changed_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::map<std::string, KeyValue> copy_;
  std::int64_t revision_ = 0;  // of the copy; 0: none, or to be read again
  Connection* connection_ = nullptr;  // the one the thread reads, for the destructor to abort
  std::thread thread_;
};

}  // namespace waygate
