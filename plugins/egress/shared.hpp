// Shared mode's hold on the system, from start to stop: the raw sockets translated packets leave
// by, the packet sockets answers are taken from, the nftables table that keeps the kernel's hands
// off the NAT's ports, the kernel's ephemeral range moved off them; with offload, a TUN device (virtio-net header) glued TCP trains enter the kernel by,
// to be forwarded out as one packet each. Built whole in the constructor (in the configured
// namespace) or not at all; the destructor undoes every piece.
// With more than one worker ([host] workers) each has a system of its own: its raw sockets, its
// device for trains, and packet sockets that join each family's fanout group, whose steering
// program (filter.hpp) hands a packet to the worker whose share of the NAT's ports it is for. The
// table and the ephemeral range are the host's once: the first worker's.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tables.hpp"
#include "settings.hpp"
#include "sysctl.hpp"
#include "waygate/tun_device.hpp"
#include "waygate/log.hpp"

namespace waygate::egress {

// Which worker's system this is, of how many; `group`: the IPv4 fanout group's id (IPv6's is the
// next), the same for every worker of the stage.
struct Share {
  unsigned worker = 0, workers = 1;
  std::uint16_t group = 0;
};

class SharedSystem {
 public:
  SharedSystem(const Settings& s, std::string table, Logger& log, Share share = {});  // throws std::exception
  ~SharedSystem();
  SharedSystem(const SharedSystem&) = delete;
  SharedSystem& operator=(const SharedSystem&) = delete;

  // Raw sockets for sending (IP header included), and packet sockets for receiving; -1 for a
  // family without egress addresses.
  int raw4() const { return raw4_; }
  int raw6() const { return raw6_; }
  int packet4() const { return packet4_; }
  int packet6() const { return packet6_; }
  std::size_t link_len() const { return link_len_; }
  // The device for a family's trains, or -1 (offload off, no egress address of the family, or
  // the kernel would not forward it from there). Both families' share one device.
  int trains4() const { return trains4_ ? trains() : -1; }
  int trains6() const { return trains6_ ? trains() : -1; }
  int trains() const { return trains_ ? trains_->fd() : -1; }  // the device itself, or -1
  // Whether UDP datagrams may go in trains too: the kernel takes them (USO, Linux 6.2).
  bool udp_trains() const { return trains_ && trains_->uso(); }

  // A reload with other egress addresses: new filters and a new table. Throws, changing nothing
  // if nft refuses (the filters are swapped only after the table).
  void update(const Settings& to);

 private:
  void open_packet(int& fd, int family, const Settings& s);
  void open_trains(const Settings& s);
  void release();  // what the destructor does; also for a constructor that fails half-way

  std::string netns_;
  std::string table_;
  Share share_;
  std::string comment_;  // the table's record of the originals (originals.hpp)
  Logger& log_;
  int raw4_ = -1, raw6_ = -1, packet4_ = -1, packet6_ = -1;
  int index_ = 0;
  std::size_t link_len_ = 0;
  std::optional<NftTable> nft_table_;
  std::optional<SysctlOverride> port_range_;
  std::optional<tun::Device> trains_;
  bool trains4_ = false, trains6_ = false;
};

}  // namespace waygate::egress
