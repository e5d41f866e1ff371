// The tun edge: IP packets between a TUN device (or any datagram descriptor it is handed) and the
// pipeline; it writes every packet that reaches it. With `offload` (the default) the device
// carries a virtio-net header both ways, as a network card with TSO and USO would: the kernel's
// TCP (and UDP sent with UDP_SEGMENT) hands over up to 64 KiB at a time, read into a few large
// buffers of the edge's own, one read queued on each, and cut into segments (the SDK's GSO,
// waygate/net/gso.hpp); and a burst's back-to-back segments of one TCP flow go to the kernel glued
// into one write (its GRO, waygate/net/gro.hpp). Without it, the edge asks the host once to keep reading the device (one
// multishot read on io_uring into pool packets), so a busy device costs no submission per packet.
//
// With `take`, it is a tap into the kernel's stack in the middle of a pipeline: only outbound
// packets to those prefixes enter the device (the connector's overlay address: the clients' API,
// a resolver), the rest pass on, and what the kernel answers goes back the way they came.
//
// With more than one worker each opens a queue of the one device (IFF_MULTI_QUEUE), the first
// configuring it; the kernel hands each flow's packets to the queue that last wrote the flow's.
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "waygate/net/gro.hpp"
#include "waygate/net/gso.hpp"
#include "waygate/net/ip.hpp"
#include "waygate/net/prefix.hpp"
#include "waygate/plugin.hpp"
#include "waygate/tun_device.hpp"

namespace waygate::tun {

namespace {

using net::add_plain_header;
using net::Cut;
using net::GlueBuffers;
using net::group_by_flow;
using net::kVnetGsoNone;
using net::kVnetHeaderSize;
using net::ReadBuffers;
using net::VnetHeader;

constexpr std::uint64_t kRead = 0;       // the device's stream, without offload
constexpr std::uint64_t kWrite = 1;
constexpr std::uint64_t kReadLarge = 2;  // with offload: a read into one of the edge's buffers
constexpr std::uint64_t kWriteGlued = 3;  // + the buffer's number
// Reads queued at once with offload. Each takes one packet, however small (an ACK of a download
// takes a whole buffer), and comes back a loop turn later: enough that a turn's worth of small
// packets does not leave the device waiting. 1 MiB, touched as used.
constexpr std::size_t kReads = 16;

class TunEdge final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit TunEdge(Context& ctx)
      : ctx_(ctx),
        rx_packets_(ctx.counter("rx_packets_total", "Packets read from the device")),
        rx_bytes_(ctx.counter("rx_bytes_total", "Bytes read from the device")),
        tx_packets_(ctx.counter("tx_packets_total", "Packets written to the device")),
        tx_bytes_(ctx.counter("tx_bytes_total", "Bytes written to the device")),
        read_errors_(ctx.counter("read_errors_total", "Failed reads from the device")),
        glued_writes_(ctx.counter("glued_writes_total", "Writes of several TCP segments or UDP datagrams glued into one")),
        starved_(ctx.counter("glue_starved_total", "Packets of trains written one by one: every train buffer was in flight")),
        cut_reads_(ctx.counter("segmented_reads_total", "Reads the kernel left unsegmented (TCP with TSO, UDP with USO), cut into their segments")),
        not_ip_(ctx.drop_reason("not_ip")),
        write_failed_(ctx.drop_reason("write_failed")),
        no_buffer_(ctx.drop_reason("no_buffer")) {}

  void configure(const Config& c) override {
    Settings next;
    next.fd = static_cast<int>(c.integer("fd", -1, -1, 1 << 20));
    next.device = c.string("device", "waygate%d");
    if (next.device.empty() || next.device.size() >= 16)
      c.fail("device", "an interface name is 1 to 15 characters");
    next.netns = c.string("netns", "");
    next.mtu = static_cast<int>(c.integer("mtu", 1420, 576, 65535));
    next.up = c.boolean("up", true);
    if (ctx_.workers() > 1) {
      if (next.fd >= 0) c.fail("fd", "a descriptor serves one worker; with [host] workers > 1 name a device");
      if (next.device.find('%') != std::string::npos)
        c.fail("device", "with [host] workers > 1 each worker opens a queue of one device: name it (no %d)");
      next.multi_queue = true;
      next.configure = ctx_.worker() == 0;
    }
    next.vnet_header = c.boolean("offload", true) && next.fd < 0;
    next.segmentation = next.vnet_header;
    next.addresses = c.strings("address");
    for (auto& a : next.addresses) {
      try {
        check_prefix(a);
      } catch (const std::invalid_argument& e) {
        c.fail("address", e.what());
      }
    }
    std::vector<net::Prefix> take;
    for (auto& text : c.strings("take")) {
      auto p = net::Prefix::parse(text);
      if (!p) c.fail("take", "'" + text + "' is not a prefix such as 10.64.0.1/32");
      take.push_back(*p);
    }
    if (device_) {
      if (next.device != settings_.device || next.netns != settings_.netns || next.fd != settings_.fd ||
          next.vnet_header != settings_.vnet_header)
        c.fail("device", "changing the device, netns, fd or offload of a running tun edge needs a restart");
      try {
        device_->update(settings_, next);
      } catch (const std::exception& e) {
        c.fail("", e.what());
      }
    }
    settings_ = next;
    take_ = std::move(take);
  }

  void start() override {
    device_.emplace(settings_);
    vnet_ = settings_.vnet_header;
    if (vnet_ && !glue_) glue_ = std::make_unique<GlueBuffers>(device_->uso());
    if (vnet_ && !reads_) reads_ = std::make_unique<ReadBuffers>(kReads);
    pending_.reserve(kBurstMax);
    scratch_.reserve(kBurstMax);
    cut_.reserve(64);
    if (settings_.fd >= 0) ctx_.log().info("using descriptor {}", settings_.fd);
    else ctx_.log().info("device {} up, mtu {}", device_->name(), settings_.mtu);
    if (!vnet_) ctx_.io().read_many(device_->fd(), kRead);
    else for (std::size_t i = 0; i < reads_->size(); ++i) ctx_.io().read(device_->fd(), (*reads_)[i], kReadLarge);
  }

  void stop() override {
    if (!device_) return;
    ctx_.io().cancel(device_->fd());
    if (glue_) glue_->reset();  // cancelled: the kernel no longer reads them
    device_.reset();
  }

  void process(Burst& burst, Output& out) override {
    const bool tap = !take_.empty();
    for (Packet* p : burst) {
      if (tap && (burst.direction() == Direction::inbound || !taken(*p))) {
        out.pass(p);
        continue;
      }
      if (!device_) {
        out.drop(p, write_failed_);
        continue;
      }
      pending_.push_back(p);
    }
    write_pending(out);
  }

  void on_io(const Completion& c, Output& out) override {
    if (c.tag >= kWriteGlued) {
      auto held = glue_->done(c.tag - kWriteGlued);
      if (c.result == static_cast<std::int32_t>(c.packet->size())) {
        tx_packets_.add(held.packets);
        tx_bytes_.add(held.bytes);
        glued_writes_.add();
      } else {
        write_failed_.add(held.packets);
      }
      return;
    }
    if (c.tag == kWrite) {
      if (c.result == static_cast<std::int32_t>(c.packet->size())) {
        tx_packets_.add();
        tx_bytes_.add(c.packet->size() - (vnet_ ? kVnetHeaderSize : 0));
        ctx_.pool().free(c.packet);
      } else {
        out.drop(c.packet, write_failed_);
      }
      return;
    }
    // -EAGAIN: the device is non-blocking (so io_uring polls it rather than parking a kernel
    // worker in a read) and a read found it empty; reading goes on.
    if (c.result < 0 && c.result != -ECANCELED && c.result != -EAGAIN) read_errors_.add();
    if (c.tag == kReadLarge) {
      if (c.result > 0) take_apart(*c.packet, out);
      if (device_ && c.result != -ECANCELED) {
        c.packet->reset(0);
        ctx_.io().read(device_->fd(), c.packet, kReadLarge);
      }
      return;
    }
    if (c.result <= 0 || c.packet->empty()) {
      ctx_.pool().free(c.packet);
      return;
    }
    take_in(c.packet, out);
  }

 private:
  Context& ctx_;
  Counter rx_packets_, rx_bytes_, tx_packets_, tx_bytes_, read_errors_, glued_writes_, starved_, cut_reads_;
  Drop not_ip_, write_failed_, no_buffer_;

  // A packet read from the device, into the pipeline.
  void take_in(Packet* p, Output& out) {
    rx_packets_.add();
    rx_bytes_.add(p->size());
    std::uint8_t version = p->data()[0] >> 4;
    if (version != 4 && version != 6) out.drop(p, not_ip_);
    else if (take_.empty()) out.pass(p);
    else out.reply(p);  // a tap's answers go back towards the clients
  }

  // A read of a device with offload, in one of the edge's buffers: its header, then what it
  // stands for, copied into pool packets.
  void take_apart(const Packet& read, Output& out) {
    VnetHeader h;
    if (read.size() <= kVnetHeaderSize) return read_errors_.add();
    std::memcpy(&h, read.data(), sizeof h);
    cut_.clear();
    switch (net::take_apart(h, read.bytes().subspan(kVnetHeaderSize), ctx_.pool(), cut_)) {
      case Cut::ok: break;
      case Cut::malformed: return not_ip_.add();
      case Cut::no_buffer: no_buffer_.add(); break;
    }
    if (h.gso_type != kVnetGsoNone) cut_reads_.add();
    for (Packet* p : cut_) take_in(p, out);
  }
  bool taken(const Packet& p) const {
    const net::Address to = net::ip::destination(p.bytes());
    for (auto& prefix : take_)
      if (prefix.contains(to)) return true;
    return false;
  }

  // Writes what process() collected: trains glued into one write each, the rest one by one.
  void write_pending(Output& out) {
    if (vnet_) group_by_flow(pending_, scratch_);
    std::span<Packet* const> all(pending_);
    for (std::size_t i = 0, n = 1; i < all.size(); i += n) {
      auto glued = vnet_ ? glue_->take(all.subspan(i), ctx_.pool()) : GlueBuffers::Glued{};
      n = glued.count;
      if (glued.packet != nullptr) {
        ctx_.io().write(device_->fd(), glued.packet, kWriteGlued + glued.buffer);
        continue;
      }
      if (glued.starved) starved_.add(n);
      for (Packet* p : all.subspan(i, n)) {
        if (vnet_ && !add_plain_header(*p)) out.drop(p, write_failed_);
        else ctx_.io().write(device_->fd(), p, kWrite);
      }
    }
    pending_.clear();
  }

  Settings settings_;
  std::vector<net::Prefix> take_;
  std::optional<Device> device_;
  bool vnet_ = false;
  std::vector<Packet*> pending_, scratch_;
  std::unique_ptr<GlueBuffers> glue_;
  std::unique_ptr<ReadBuffers> reads_;
  std::vector<Packet*> cut_;
};

}  // namespace

}  // namespace waygate::tun

WAYGATE_PLUGIN(waygate::tun::TunEdge, "tun", "0.1.0")
