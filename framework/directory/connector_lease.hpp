// Keeps this connector registered in etcd while it runs (registration.hpp): its key is put under a
// lease of 10 s renewed every 3 s, and rewritten when what it says changes; revoked at a clean
// stop, so that the key goes at once, and gone by etcd's hand within 10 s of a crash. etcd away:
// retried every 3 s, said once; a lease that expired meanwhile is granted anew. Each renewal also
// reads the list of connectors alive, for the admin API to answer from without waiting on etcd.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "host_config.hpp"
#include "registration.hpp"

namespace waygate {

class ConnectorLease {
 public:
  static constexpr int kTtlSeconds = 10;
  static constexpr std::chrono::seconds kRenewEvery{3};

  // `describe` is called on the lease's thread before each renewal.
  ConnectorLease(EtcdDirectory where, std::function<Registration()> describe);
  ~ConnectorLease();
  // The connectors alive as of the last renewal (connectors_json()), "" before the first.
  std::string connectors() const;
  ConnectorLease(const ConnectorLease&) = delete;
  ConnectorLease& operator=(const ConnectorLease&) = delete;

 private:
  void run();

  EtcdDirectory where_;
  std::function<Registration()> describe_;
  mutable std::mutex mutex_;
  std::string connectors_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace waygate
