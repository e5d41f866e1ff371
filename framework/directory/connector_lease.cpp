#include "connector_lease.hpp"

#include <spdlog/spdlog.h>

#include "connectors_command.hpp"
#include "etcd.hpp"

namespace waygate {

ConnectorLease::ConnectorLease(EtcdDirectory where, std::function<Registration()> describe)
    : where_(std::move(where)), describe_(std::move(describe)), thread_([this] { run(); }) {}

ConnectorLease::~ConnectorLease() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string ConnectorLease::connectors() const {
  std::lock_guard lock(mutex_);
  return connectors_;
}

void ConnectorLease::run() {
  const Etcd etcd(where_.members, where_.tls_or_null());
  const std::string key = connectors_prefix(where_.prefix) + where_.connector;
  std::int64_t lease = 0;
  std::string said;  // the value under the current lease
  bool lost = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      const std::string value = registration_json(describe_());
      if (lease != 0 && etcd.keep_alive(lease) == 0) lease = 0;  // expired while etcd was away
      if (lease == 0) {
        lease = etcd.grant(kTtlSeconds);
        said.clear();
      }
      if (value != said) {
        etcd.put(key, value, lease);
        said = value;
      }
      std::string live = connectors_json(etcd, where_.prefix);
      {
        std::lock_guard hold(mutex_);
        connectors_ = std::move(live);
      }
      if (lost) spdlog::info("etcd: registered as connector {} again", where_.connector);
      lost = false;
    } catch (const std::exception& e) {
      if (!lost) spdlog::warn("etcd: cannot keep connector {} registered ({}); retrying every {} s", where_.connector,
                              e.what(), kRenewEvery.count());
      lost = true;
    }
    lock.lock();
    wake_.wait_for(lock, kRenewEvery, [this] { return stopping_; });
  }
  lock.unlock();
  if (lease == 0) return;
  try {
    etcd.revoke(lease);  // gone from the list now, not in kTtlSeconds
  } catch (const std::exception& e) {
    spdlog::warn("etcd: cannot withdraw the registration ({}); it lapses within {} s", e.what(), kTtlSeconds);
  }
}

}  // namespace waygate
