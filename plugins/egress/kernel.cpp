#include "kernel.hpp"

#include <tuple>

#include "tables.hpp"
#include "originals.hpp"
#include "waygate/netns.hpp"

namespace waygate::egress {

tun::Settings device_settings(const Settings& s, unsigned worker, unsigned workers) {
  tun::Settings t;
  t.device = s.device;
  t.netns = s.netns;
  t.mtu = s.mtu;
  t.routes = s.routes;
  t.up = true;
  t.multi_queue = workers > 1;
  t.configure = worker == 0;
  return t;
}

KernelSystem::KernelSystem(const Settings& s, std::string table, Logger& log, unsigned worker, unsigned workers)
    : netns_(s.netns), table_(std::move(table)), worker_(worker), workers_(workers), log_(log) {
  device_.emplace(device_settings(s, worker, workers));
  if (worker > 0) return;  // a queue of the first worker's device: the rest is the first's
  try {
    NetnsGuard in_namespace(s.netns);  // the table, and the forwarding sysctls below
    // The originals, recorded in the table before anything changes (originals.hpp).
    const Originals left = left_behind(table_);
    Originals record;
    for (auto [which, name, key] : {std::tuple{&forward4_, "net/ipv4/ip_forward", "ip_forward"},
                                    std::tuple{&forward6_, "net/ipv6/conf/all/forwarding", "forwarding6"}}) {
      which->emplace(name);
      if (auto it = left.find(key); it != left.end()) (*which)->restore_to(it->second);
      record[key] = (*which)->old();
    }
    comment_ = originals_comment(record);
    nft_table_.emplace(s.netns, table_, kernel_script(table_, s, device_->name(), comment_), log_);
    for (auto* which : {&forward4_, &forward6_})
      if ((*which)->old() != "1") (*which)->set("1");
  } catch (...) {
    release();
    throw;
  }
}

KernelSystem::~KernelSystem() { release(); }

void KernelSystem::release() {
  forward6_.reset();
  forward4_.reset();
  nft_table_.reset();
  device_.reset();
}

void KernelSystem::update(const Settings& from, const Settings& to) {
  device_->update(device_settings(from, worker_, workers_), device_settings(to, worker_, workers_));
}

}  // namespace waygate::egress
