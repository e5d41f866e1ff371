// The wireguard edge: speaks the WireGuard protocol on UDP (IPv4 and IPv6) through the host's
// io_uring. Datagrams from peers are decrypted and enter the pipeline tagged with their peer;
// packets reaching the edge are encrypted to the peer whose allowed IPs hold their destination.
// With `identities = true` every identity of the directory is a peer, and its packets carry it.
// It is the responder and the initiator at once: peers with an `endpoint` are dialled, the rest
// are answered. With more than one worker, each owns its share of the peers (edge/workers.cpp).
// Also gives the waygate binary `genkey`, `pubkey` and `genpsk`.
#include <optional>

#include "edge/device.hpp"
#include "keys.hpp"
#include "peer_config.hpp"
#include "waygate/plugin.hpp"

namespace waygate::wg {

namespace {

class WireGuardEdge final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit WireGuardEdge(Context& ctx) : ctx_(ctx) {}

  void configure(const Config& c) override {
    Settings next = Settings::read(c, *ctx_.directory());
    if (ctx_.workers() > 1) {
      if (next.listen_port == 0)
        c.fail("listen_port", "with [host] workers > 1 every worker listens on the same port: set it");
      // A group's silence is seen by the worker owning its peer in service; the others would
      // each decide alone.
      if (next.failover_after > Duration{0}) c.fail("failover_after", "works with one worker ([host] workers = 1)");
    }
    if (!device_) {
      settings_.emplace(std::move(next));
      return;
    }
    try {
      device_->update(std::move(next));
    } catch (const std::invalid_argument& e) {
      c.fail("", e.what());
    }
  }

  void start() override {
    if (!device_) device_.emplace(ctx_, std::move(*settings_));
    settings_.reset();
    device_->start();
  }

  void stop() override {
    if (device_) device_->stop();
  }

  void process(Burst& burst, Output& out) override { device_->send(burst, out); }
  void on_io(const Completion& c, Output& out) override { device_->complete(c, out); }
  void flush(Output& out) override { device_->flush(out); }
  void on_handed(Packet* p, std::uint32_t tag, Output& out) override {
    if (device_) device_->handed(p, tag, out);
    else ctx_.pool().free(p);
  }

 private:
  Context& ctx_;
  std::optional<Settings> settings_;  // until start() hands them to the device
  std::optional<Device> device_;
};

}  // namespace

}  // namespace waygate::wg

WAYGATE_PLUGIN(waygate::wg::WireGuardEdge, "wireguard", "0.1.0")
WAYGATE_COMMANDS({"genkey", "Print a new private key (as wg genkey)", &waygate::wg::genkey_command},
                 {"pubkey", "Read a private key on stdin, print its public key (as wg pubkey)",
                  &waygate::wg::pubkey_command},
                 {"genpsk", "Print a new preshared key (as wg genpsk)", &waygate::wg::genpsk_command},
                 {"peer", "peer config NAME --exit-node SOCKET -c FILE: a wg-quick configuration (and QR code)",
                  &waygate::wg::peer_command})
