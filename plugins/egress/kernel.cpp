#include "kernel.hpp"

#include "nft.hpp"
#include "waygate/netns.hpp"

namespace waygate::egress {

tun::Settings device_settings(const Settings& s) {
  tun::Settings t;
  t.device = s.device;
  t.netns = s.netns;
  t.mtu = s.mtu;
  t.routes = s.routes;
  t.up = true;
  return t;
}

KernelSystem::KernelSystem(const Settings& s, std::string table, Logger& log)
    : netns_(s.netns), table_(std::move(table)), log_(log) {
  device_.emplace(device_settings(s));
  try {
    NetnsGuard in_namespace(s.netns);  // the table, and the forwarding sysctls below
    nft_table_.emplace(s.netns, table_, kernel_script(table_, s, device_->name()), log_);
    for (auto [which, name] : {std::pair{&forward4_, "net/ipv4/ip_forward"},
                               std::pair{&forward6_, "net/ipv6/conf/all/forwarding"}}) {
      which->emplace(name);
      if ((*which)->old() != "1") (*which)->set("1");
    }
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
  device_->update(device_settings(from), device_settings(to));
}

}  // namespace waygate::egress
