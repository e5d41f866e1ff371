// Datagrams in: classify, then a transport message is checked against its session's replay
// window and waits for the end of the loop's turn, when the turn's messages are decrypted in place
// together, spread over the crew. Then, in the order they came, each updates its window and its
// inner packet must come from an address the sending peer owns before it enters the pipeline
// tagged with that peer. Handshake messages go to handshake.cpp, after what waits is let in.
// Every refusal is a counted drop.
#include <cstring>

#include "device.hpp"
#include "waygate/net/ip.hpp"

namespace waygate::wg {

namespace {

// The inner packet's length per its own header (the rest is WireGuard's padding), and where its
// source address is. 0 if the bytes are not an IP packet that fits.
struct Inner {
  std::size_t length = 0;
  std::span<const std::uint8_t> source;
};

Session* session_of(Peer& peer, std::uint32_t local_index) {
  for (auto* s : {peer.current.get(), peer.next.get(), peer.previous.get()})
    if (s != nullptr && s->keys.local_index == local_index) return s;
  return nullptr;
}

Inner inner_of(std::span<const std::uint8_t> b) {
  const std::size_t total = net::ip::claimed_length(b);
  if (total < 20 || total > b.size()) return {};
  return {total, net::ip::source_bytes(b)};
}

}  // namespace

bool Device::under_load() {
  Time now = ctx_.now();
  if (now - load_window_ >= std::chrono::seconds(1)) {
    // A busy second keeps cookies demanded for the next one too.
    loaded_ = load_count_ > settings_.handshake_load;
    load_window_ = now;
    load_count_ = 0;
  }
  ++load_count_;
  return loaded_ || load_count_ > settings_.handshake_load;
}

void Device::receive(Packet* p, Output& out) {
  auto type = classify(p->bytes());
  if (!type) {
    out.drop(p, malformed_);
    return;
  }
  // With more than one worker, a message naming another's index is that worker's (workers.cpp).
  if (workers_ > 1 && *type != MessageType::initiation &&
      hand_to_owner(worker_of_index(p->data()[*type == MessageType::response ? 8 : 4]), p, Handed::datagram, out))
    return;
  if (*type == MessageType::transport) {
    receive_transport(p, out);
    return;
  }
  open_waiting(out);  // a handshake may replace the sessions they wait on
  switch (*type) {
    case MessageType::transport: return;
    case MessageType::initiation: receive_initiation(p, out); return;
    case MessageType::response: receive_response(p, out); return;
    case MessageType::cookie_reply: receive_cookie(p, out); return;
  }
}

void Device::receive_transport(Packet* p, Output& out) {
  TransportHeader header;
  if (!parse(p->bytes(), header)) {
    out.drop(p, malformed_);
    return;
  }
  auto found = indices_.find(header.receiver);
  if (found == indices_.end() || found->second.slot != Slot::session) {
    out.drop(p, unknown_index_);
    return;
  }
  Peer& peer = *peers_[found->second.peer];
  Session* session = session_of(peer, header.receiver);
  if (session == nullptr) {
    out.drop(p, unknown_index_);
    return;
  }
  if (ctx_.now() - session->created >= settings_.timing.reject_after_time) {
    out.drop(p, expired_key_);
    return;
  }
  if (!session->replay.check(header.counter)) {
    out.drop(p, replayed_);
    return;
  }
  opening_.push_back({p, &session->keys.receive, header.counter, peer.id, header.receiver, false});
  if (opening_.size() == opening_.capacity()) open_waiting(out);
}

void Device::open_waiting(Output& out) {
  if (opening_.empty()) return;
  auto open = [this](unsigned member, std::size_t i) {
    Opening& o = opening_[i];
    std::uint8_t* sealed = o.packet->data() + kTransportHeaderSize;
    o.opened = aeads_[member].open(*o.key, o.counter, {sealed, o.packet->size() - kTransportHeaderSize}, {}, sealed);
  };
  ctx_.crew().for_each(opening_.size(), open);
  for (const Opening& o : opening_) let_in(o, out);
  opening_.clear();
}

void Device::let_in(const Opening& o, Output& out) {
  Packet* p = o.packet;
  if (!o.opened) {
    out.drop(p, decrypt_failed_);
    return;
  }
  Peer& peer = *peers_[o.peer];
  // An earlier message of the batch may have confirmed a new session and retired this one.
  Session* session = session_of(peer, o.receiver);
  if (session == nullptr) {
    out.drop(p, unknown_index_);
    return;
  }
  if (!session->replay.update(o.counter)) {  // the same counter twice in one batch
    out.drop(p, replayed_);
    return;
  }

  // Authenticated: the peer is where this came from, and a responder's new session is confirmed.
  if (!p->meta.endpoint.empty()) peer.endpoint = p->meta.endpoint;
  if (session == peer.next.get()) {
    if (peer.previous) forget_index(peer.previous->keys.local_index);
    peer.previous = std::move(peer.current);
    peer.current = std::move(peer.next);
  }
  on_authenticated(peer);

  const std::size_t sealed_size = p->size() - kTransportHeaderSize;
  p->strip(kTransportHeaderSize);
  p->resize(sealed_size - kTagSize);
  if (p->empty()) {  // a keepalive
    ctx_.pool().free(p);
    return;
  }
  Inner inner = inner_of(p->bytes());
  if (inner.length == 0) {
    out.drop(p, malformed_inner_);
    return;
  }
  if (owner(inner.source) != peer.id) {
    out.drop(p, source_not_allowed_);
    return;
  }
  p->resize(inner.length);
  p->meta.peer = peer.id;
  p->meta.identity = peer.settings.identity;
  peer.rx_bytes.add(inner.length);
  on_data_received(peer);
  out.pass(p);
}

}  // namespace waygate::wg
