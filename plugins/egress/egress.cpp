// The egress edge: the outside end of an exit node's pipeline. In shared mode, translated packets
// (the nat stage gave them an egress address and a port of its range) leave through the kernel's
// routing by raw sockets, and the answers to the NAT's ports are taken off the outside interface by
// packet sockets whose filters copy only those, while the kernel keeps the same address for its own
// traffic. In kernel mode the kernel's NAT does the translating: client packets go to a TUN device
// and out masqueraded, answers come back through the device. What is read enters the pipeline
// travelling inbound. The system side of each mode (sockets, device, nftables, sysctls) lives in
// shared.cpp and kernel.cpp; keys and behaviour are described in configs/README.md.
// With offload (shared mode), a burst's back-to-back segments of one TCP flow are glued into one
// packet (as the tun edge does) and written into a device the kernel forwards them out of.
// Both modes run on every worker ([host] workers): shared mode with sockets and a device of its own
// on each, the kernel steering each answer to the worker whose share of the NAT's ports it is for
// (shared.hpp); kernel mode with a queue each of one device (kernel.hpp).
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <memory>
#include <vector>

#include "waygate/net/gro.hpp"
#include "frame.hpp"
#include "waygate/net/gso.hpp"
#include "waygate/net/ip.hpp"
#include "kernel.hpp"
#include "listeners.hpp"
#include "tables.hpp"
#include "shared.hpp"
#include "waygate/netns.hpp"
#include "waygate/plugin.hpp"

namespace waygate::egress {

namespace {

constexpr std::uint64_t kSend = 0;     // shared: a packet to a raw socket
constexpr std::uint64_t kReceive = 1;  // shared: a read of the IPv4 packet socket into a large buffer
constexpr std::uint64_t kWrite = 2;    // kernel: a packet to the device
constexpr std::uint64_t kRead = 3;     // kernel: the device's stream
constexpr std::uint64_t kReceive6 = 4;  // shared: the same for IPv6
constexpr std::uint64_t kTrain = 5;    // shared: a glued train to its device, + the buffer's number
// Shared mode reads into large buffers of its own, a few queued per packet socket: what GRO
// merged arrives whole and is cut into its segments (waygate/net/gso.hpp).
constexpr std::size_t kReads = 4;

constexpr const char* kRestart = "needs a restart";

template <typename A>
bool listed(const std::vector<A>& addresses, const std::uint8_t* address) {
  for (const auto& a : addresses)
    if (std::memcmp(a.data(), address, a.size()) == 0) return true;
  return false;
}

class EgressEdge final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit EgressEdge(Context& ctx)
      : ctx_(ctx),
        rx_packets_(ctx.counter("rx_packets_total", "Packets taken in from outside")),
        rx_bytes_(ctx.counter("rx_bytes_total", "Bytes taken in from outside")),
        tx_packets_(ctx.counter("tx_packets_total", "Packets sent outside")),
        tx_bytes_(ctx.counter("tx_bytes_total", "Bytes sent outside")),
        read_errors_(ctx.counter("read_errors_total", "Failed reads")),
        glued_writes_(ctx.counter("glued_writes_total", "Trains of TCP segments or UDP datagrams written to the trains' device as one")),
        merged_(ctx.counter("merged_received_total", "Packets the kernel merged (GRO), cut into their segments")),
        starved_(ctx.counter("glue_starved_total", "Packets of trains sent one by one: every train buffer was in flight")),
        trains_device_(ctx.gauge("trains_device", "1 while TCP leaves glued into trains through the edge's own device")),
        not_ip_(ctx.drop_reason("not_ip")),
        no_egress_address_(ctx.drop_reason("no_egress_address")),
        send_failed_(ctx.drop_reason("send_failed")),
        no_buffer_(ctx.drop_reason("no_buffer")),
        too_big_(ctx.drop_reason("too_big")) {}

  void configure(const Config& c) override {
    Settings next = read_settings(c, *ctx_.directory());
    if (const unsigned n = ctx_.workers(); n > 1) {
      const std::string workers = "[host] workers = " + std::to_string(n);
      if (next.mode == Mode::kernel && next.device.find('%') != std::string::npos)
        c.fail("device", "with " + workers + " each worker opens a queue of one device: name it (no %d)");
      // The workers' shares are cut from one range, the same for the NAT's every socket.
      for (const auto& socket : ctx_.directory()->sockets)
        if (next.mode == Mode::shared && !socket.egress.empty() && socket.egress_ports != next.ports)
          c.fail("", "with " + workers + " every socket's egress_ports must be one range, which the workers share: '" +
                         socket.name + "' has " + to_string(socket.egress_ports) + ", the NAT's ports span " +
                         to_string(next.ports));
    }
    if (shared_ || kernel_) {
      auto refuse = [&](std::string_view key, bool changed) {
        if (changed) c.fail(key, "changing it on a running egress edge " + std::string(kRestart));
      };
      refuse("mode", next.mode != settings_.mode);
      refuse("interface", next.interface != settings_.interface);
      refuse("netns", next.netns != settings_.netns);
      if (shared_) {
        // The kernel's ephemeral range was moved off the old ports at start.
        if (next.ports != settings_.ports)
          c.fail("", "the NAT's ports ([[socket]] egress_ports) would go from " + to_string(settings_.ports) +
                         " to " + to_string(next.ports) + ": changing them on a running egress edge " + kRestart);
        refuse("offload", next.offload != settings_.offload);
        refuse("device", next.device != settings_.device);
        // The sockets of a family exist only if it had addresses at start.
        refuse("egress4", next.egress4.empty() != settings_.egress4.empty());
        refuse("egress6", next.egress6.empty() != settings_.egress6.empty());
        if (next.egress4 != settings_.egress4 || next.egress6 != settings_.egress6) {
          try {
            shared_->update(next);
          } catch (const std::exception& e) {
            c.fail("egress4", e.what());
          }
        }
      } else {
        refuse("device", next.device != settings_.device);
        try {
          kernel_->update(settings_, next);
        } catch (const std::exception& e) {
          c.fail("routes", e.what());
        }
      }
    }
    settings_ = std::move(next);
  }

  void start() override {
    const std::string table = table_name(ctx_.name());
    if (settings_.mode == Mode::shared) {
      shared_ = std::make_unique<SharedSystem>(settings_, table, ctx_.log(), share());
      const bool trains = shared_->trains4() >= 0 || shared_->trains6() >= 0;
      if (trains && !glue_) glue_ = std::make_unique<net::GlueBuffers>(shared_->udp_trains());
      trains_device_.set(trains ? 1 : 0);
      pending4_.reserve(kBurstMax);
      pending6_.reserve(kBurstMax);
      scratch_.reserve(kBurstMax);
      cut_.reserve(128);
      if (!reads_) reads_ = std::make_unique<net::ReadBuffers>(2 * kReads);  // IPv4's, then IPv6's
      for (std::size_t i = 0; i < reads_->size(); ++i) {
        const bool v4 = i < kReads;
        if (int fd = v4 ? shared_->packet4() : shared_->packet6(); fd >= 0)
          ctx_.io().receive(fd, (*reads_)[i], v4 ? kReceive : kReceive6);
      }
      if (ctx_.worker() == 0) {
        ctx_.log().info("sharing {} on {}: ports {} ([[socket]] egress_ports), nftables table inet {}", addresses(),
                        settings_.interface, to_string(settings_.ports), table);
        warn_of_listeners();
      }
    } else {
      kernel_ = std::make_unique<KernelSystem>(settings_, table, ctx_.log(), ctx_.worker(), ctx_.workers());
      ctx_.io().read_many(kernel_->fd(), kRead);
      if (ctx_.worker() == 0)
        ctx_.log().info("device {} up, masquerading out of {}, nftables table inet {}", kernel_->device(),
                        settings_.interface, table);
    }
  }

  void stop() override {
    if (shared_) {
      for (int fd : {shared_->packet4(), shared_->packet6(), shared_->raw4(), shared_->raw6(), shared_->trains()})
        if (fd >= 0) ctx_.io().cancel(fd);
      if (glue_) glue_->reset();
      shared_.reset();
      trains_device_.set(0);
    }
    if (kernel_) {
      ctx_.io().cancel(kernel_->fd());
      kernel_.reset();
    }
  }

  void process(Burst& burst, Output& out) override {
    for (Packet* p : burst) {
      if (settings_.mode == Mode::shared) send(p, out);
      else write(p, out);
    }
    if (shared_) {
      send_pending(pending4_, shared_->trains4(), shared_->raw4());
      send_pending(pending6_, shared_->trains6(), shared_->raw6());
    }
  }

  void on_io(const Completion& c, Output& out) override {
    Packet* p = c.packet;
    if (c.tag >= kTrain) {
      auto held = glue_->done(c.tag - kTrain);
      if (c.result == static_cast<std::int32_t>(p->size())) {
        tx_packets_.add(held.packets);
        tx_bytes_.add(held.bytes);
        glued_writes_.add();
      } else {
        send_failed_.add(held.packets);
      }
      return;
    }
    if (c.tag == kSend || c.tag == kWrite) {
      if (c.result == static_cast<std::int32_t>(p->size())) {
        tx_packets_.add();
        tx_bytes_.add(p->size());
        ctx_.pool().free(p);
      } else {
        out.drop(p, send_failed_);
      }
      return;
    }
    if (c.tag == kReceive || c.tag == kReceive6) {
      if (c.result > 0) take_in(*p, out);
      else if (c.result < 0 && c.result != -EAGAIN) read_errors_.add();
      if (shared_ && c.result != -ECANCELED) {  // the buffer is read into again
        p->reset(0);
        ctx_.io().receive(c.tag == kReceive ? shared_->packet4() : shared_->packet6(), p, c.tag);
      }
      return;
    }
    if (c.result <= 0) {
      ctx_.pool().free(p);
      if (c.result < 0 && c.result != -ECANCELED && c.result != -EAGAIN) read_errors_.add();
      return;
    }
    if (std::uint8_t version = p->data()[0] >> 4; version != 4 && version != 6) {
      out.drop(p, not_ip_);
      return;
    }
    rx_packets_.add();
    rx_bytes_.add(p->size());
    out.pass(p);
  }

 private:
  // Shared mode: the raw socket of the packet's family, to its destination. The source must be an
  // egress address: anything else is a packet the NAT did not translate, which must not leave
  // with a client's address.
  void send(Packet* p, Output& out) {
    const unsigned version = net::ip::version(p->bytes());
    const std::uint8_t* source = net::ip::source_bytes(p->bytes()).data();
    if (version == 4) {
      if (!listed(settings_.egress4, source)) return out.drop(p, no_egress_address_);
      if (!shared_) return out.drop(p, send_failed_);
      pending4_.push_back(p);
    } else if (version == 6) {
      if (!listed(settings_.egress6, source)) return out.drop(p, no_egress_address_);
      if (!shared_) return out.drop(p, send_failed_);
      pending6_.push_back(p);
    } else {
      out.drop(p, not_ip_);
    }
  }

  // Shared mode: a packet socket's frame, in a large buffer, into the pipeline: one that GRO
  // merged cut into its segments, any other copied into a pool packet of its own.
  void take_in(const Packet& frame, Output& out) {
    const std::size_t link = shared_->link_len();
    VnetHeader h{};
    if (frame.size() < kVnetHeader + link + 1) return not_ip_.add();
    std::memcpy(&h, frame.data(), sizeof h);
    if (h.gso_type != kGsoNone) {
      cut_.clear();
      auto ip = frame.bytes().subspan(kVnetHeader + link);
      auto r = net::cut(h, ip, ctx_.pool(), cut_);
      if (r == net::Cut::malformed) too_big_.add();  // merged, and not TCP we can cut
      if (r == net::Cut::no_buffer) no_buffer_.add();
      if (r != net::Cut::malformed) merged_.add();
      for (Packet* p : cut_) {
        rx_packets_.add();
        rx_bytes_.add(p->size());
        out.pass(p);
      }
      return;
    }
    Packet* p = ctx_.pool().alloc();
    if (p == nullptr) return no_buffer_.add();
    if (!p->resize(frame.size())) {
      ctx_.pool().free(p);
      return too_big_.add();
    }
    std::memcpy(p->data(), frame.data(), frame.size());
    switch (unwrap(*p, link)) {
      case Unwrap::ok: break;
      case Unwrap::malformed: return out.drop(p, not_ip_);
      case Unwrap::too_big: return out.drop(p, too_big_);
    }
    rx_packets_.add();
    rx_bytes_.add(p->size());
    out.pass(p);
  }

  // Shared mode's packets of one family from a burst, in order: trains into their device (when
  // the family has one), the rest by the raw socket to their destination.
  void send_pending(std::vector<Packet*>& pending, int trains, int raw) {
    if (trains >= 0) net::group_by_flow(pending, scratch_);
    std::span<Packet* const> all(pending);
    for (std::size_t i = 0, n = 1; i < all.size(); i += n) {
      auto glued = trains >= 0 ? glue_->take(all.subspan(i), ctx_.pool()) : net::GlueBuffers::Glued{};
      n = glued.count;
      if (glued.packet != nullptr) {
        ctx_.io().write(trains, glued.packet, kTrain + glued.buffer);
        continue;
      }
      if (glued.starved) starved_.add(n);
      for (Packet* p : all.subspan(i, n)) {
        address_to_destination(*p);
        ctx_.io().send(raw, p, kSend);
      }
    }
    pending.clear();
  }

  // A raw socket's address for p: its destination, port 0 (the header's protocol goes).
  static void address_to_destination(Packet& p) {
    const auto to = net::ip::destination_bytes(p.bytes());
    if (to.size() == 4) {
      p.meta.endpoint.addr.v4 = sockaddr_in{};
      p.meta.endpoint.addr.v4.sin_family = AF_INET;
      std::memcpy(&p.meta.endpoint.addr.v4.sin_addr, to.data(), 4);
      p.meta.endpoint.len = sizeof(sockaddr_in);
    } else {
      p.meta.endpoint.addr.v6 = sockaddr_in6{};
      p.meta.endpoint.addr.v6.sin6_family = AF_INET6;
      std::memcpy(&p.meta.endpoint.addr.v6.sin6_addr, to.data(), 16);
      p.meta.endpoint.len = sizeof(sockaddr_in6);
    }
  }

  // Kernel mode: to the device, as they are; the kernel forwards and masquerades them.
  void write(Packet* p, Output& out) {
    const std::uint8_t version = p->empty() ? 0 : p->data()[0] >> 4;
    if (version != 4 && version != 6) return out.drop(p, not_ip_);
    if (!kernel_) return out.drop(p, send_failed_);
    ctx_.io().write(kernel_->fd(), p, kWrite);
  }

  // This worker's share of the system. The fanout groups' ids are the stage's for this process:
  // another process's group in the namespace has another id, or one this stage cannot join
  // (then start() says so).
  Share share() const {
    const std::size_t id = std::hash<std::string_view>{}(ctx_.name()) ^ (static_cast<std::size_t>(::getpid()) << 1);
    return {ctx_.worker(), ctx_.workers(), static_cast<std::uint16_t>(id & 0xfffe)};
  }

  // A listener the NAT's ports hide (listeners.hpp): its clients would wait for nothing.
  void warn_of_listeners() {
    NetnsGuard in_namespace(settings_.netns);
    for (const std::string& l : listeners_in_nat_ports(settings_))
      ctx_.log().warn("{} is inside the NAT's ports {} ([[socket]] egress_ports): nothing reaches it at {}; "
                      "move egress_ports or the listener", l, to_string(settings_.ports), addresses());
  }

  std::string addresses() const {
    std::string out;
    for (const auto& a : settings_.egress4) out += (out.empty() ? "" : ", ") + to_string(a);
    for (const auto& a : settings_.egress6) out += (out.empty() ? "" : ", ") + to_string(a);
    return out;
  }

  Context& ctx_;
  Counter rx_packets_, rx_bytes_, tx_packets_, tx_bytes_, read_errors_, glued_writes_, merged_;
  Counter starved_;
  Gauge trains_device_;
  Drop not_ip_, no_egress_address_, send_failed_, no_buffer_, too_big_;
  Settings settings_;
  std::unique_ptr<SharedSystem> shared_;
  std::unique_ptr<KernelSystem> kernel_;
  std::vector<Packet*> pending4_, pending6_, scratch_;
  std::unique_ptr<net::GlueBuffers> glue_;
  std::unique_ptr<net::ReadBuffers> reads_;
  std::vector<Packet*> cut_;
};

}  // namespace

}  // namespace waygate::egress

WAYGATE_PLUGIN(waygate::egress::EgressEdge, "egress", "0.1.0")

