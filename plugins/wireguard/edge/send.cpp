// Packets out: cryptokey routing picks the peer by destination address; the packet is padded,
// given its header (in the headroom) and room for its tag (in the tailroom), and a burst's packets
// are then encrypted in place together, spread over the crew, and sent to their peers' endpoints,
// a burst's datagrams to one peer together in trains (transmit_sealed). Without a usable
// session it waits in the peer's staging queue for the handshake.
#include <atomic>
#include <cstring>

#include "device.hpp"
#include "waygate/net/ip.hpp"

namespace waygate::wg {

bool Device::usable_for_send(const Session* s) const {
  return s != nullptr && ctx_.now() - s->created < settings_.timing.reject_after_time &&
         s->send_counter < ReplayWindow::kRejectAfterMessages;
}

void Device::send(Burst& burst, Output& out) {
  for (Packet* p : burst) {
    const auto destination = net::ip::destination_bytes(p->bytes());
    if (destination.empty()) {
      out.drop(p, not_ip_);
      continue;
    }
    std::uint32_t id = owner(destination);
    if (id == kNoPeer) {
      out.drop(p, no_peer_);
      continue;
    }
    Peer& peer = *peers_[id];
    if (workers_ > 1 && hand_to_owner(worker_of(peer), p, Handed::send, out)) continue;
    if (usable_for_send(peer.current.get()) && !peer.endpoint.empty()) {
      encrypt_and_send(peer, *peer.current, p);
      continue;
    }
    if (!peer.keys.usable) {
      out.drop(p, low_order_key_);
      continue;
    }
    if (peer.endpoint.empty()) {
      out.drop(p, no_endpoint_);
      continue;
    }
    if (peer.staged.size() == kMaxStaged) {
      out.drop(peer.staged.front(), staged_overflow_);
      peer.staged.erase(peer.staged.begin());
    }
    if (peer.staged.empty()) peer.staged.reserve(kMaxStaged);  // once a handshake is awaited, not per peer
    peer.staged.push_back(p);
    initiate(peer, false);
  }
  transmit_sealed();
}

void Device::encrypt_and_send(Peer& peer, Session& s, Packet* p) {
  std::size_t length = p->size();
  // Pad to a multiple of 16, not beyond the MTU (whitepaper 5.4.6).
  std::size_t padded = std::min<std::size_t>((length + 15) & ~std::size_t{15},
                                             std::max<std::size_t>(length, static_cast<std::size_t>(settings_.mtu)));
  if (p->tailroom() < padded - length + kTagSize || p->headroom() < kTransportHeaderSize) {
    send_failed_.add();
    ctx_.pool().free(p);
    return;
  }
  p->resize(padded);
  std::memset(p->data() + length, 0, padded - length);
  std::uint64_t counter = s.send_counter++;
  p->resize(padded + kTagSize);
  std::uint8_t* header = p->prepend(kTransportHeaderSize);
  write(TransportHeader{s.keys.remote_index, counter}, std::span<std::uint8_t, kTransportHeaderSize>(header, kTransportHeaderSize));
  p->meta.endpoint = peer.endpoint;
  peer.tx_bytes.add(length);
  sealed_.push_back(p);
  sealing_.push_back({&s.keys.send, counter, false});
  if (length > 0) on_data_sent(peer);
  on_any_sent(peer);
  // Whitepaper 6.2: the initiator of a session renews it before it grows old.
  if (s.keys.initiator &&
      (ctx_.now() - s.created >= settings_.timing.rekey_after_time || counter >= kRekeyAfterMessages))
    initiate(peer, false);
}

void Device::seal_waiting() {
  std::atomic<bool> failed{false};
  auto seal = [this, &failed](unsigned member, std::size_t i) {
    Packet* p = sealed_[i];
    Sealing& s = sealing_[i];
    std::uint8_t* plain = p->data() + kTransportHeaderSize;
    try {
      aeads_[member].seal(*s.key, s.counter, {plain, p->size() - kTransportHeaderSize - kTagSize}, {}, plain);
    } catch (const std::exception&) {  // the library could not: nothing escapes a crew thread
      s.failed = true;
      failed.store(true, std::memory_order_relaxed);
    }
  };
  ctx_.crew().for_each(sealed_.size(), seal);
  if (failed.load(std::memory_order_relaxed)) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < sealed_.size(); ++i) {
      if (sealing_[i].failed) {
        send_failed_.add();
        ctx_.pool().free(sealed_[i]);
      } else {
        sealed_[kept++] = sealed_[i];
      }
    }
    sealed_.resize(kept);
  }
  sealing_.clear();
}

void Device::send_keepalive(Peer& peer) {
  if (!usable_for_send(peer.current.get())) {
    initiate(peer, false);
    return;
  }
  if (peer.endpoint.empty()) return;
  Packet* p = ctx_.pool().alloc();
  if (p == nullptr) {
    no_buffer_.add();
    return;
  }
  encrypt_and_send(peer, *peer.current, p);
  transmit_sealed();
}

void Device::flush_staged(Peer& peer) {
  std::vector<Packet*> staged;
  staged.swap(peer.staged);
  for (Packet* p : staged) {
    if (usable_for_send(peer.current.get())) encrypt_and_send(peer, *peer.current, p);
    else peer.staged.push_back(p);
  }
  transmit_sealed();
}

}  // namespace waygate::wg
