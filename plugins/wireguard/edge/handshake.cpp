// The handshake messages (whitepaper 5.4): sending initiations and retrying them, answering
// initiations, completing on responses, and cookies when under load. A session becomes current
// for the initiator at once; the responder holds it as `next` until the initiator's first
// transport message proves the initiator has it too.
#include "device.hpp"

namespace waygate::wg {

namespace {
// No more than one accepted initiation per peer in this interval (whitepaper 5.1's flood rule).
constexpr Duration kInitiationInterval = std::chrono::milliseconds(20);

// The initiation's timestamp, rounded down to 2^24 ns (~17 ms) as the Linux implementation does,
// so that it orders handshakes without telling an observer the sender's clock to the nanosecond.
std::uint64_t unix_nanoseconds(std::chrono::system_clock::time_point t) {
  auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  return ns & ~((std::uint64_t{1} << 24) - 1);
}
}  // namespace

void Device::initiate(Peer& p, bool retry) {
  if (!running_ || !p.keys.usable) return;
  if (p.endpoint.empty()) return;  // nowhere to send it: the peer must reach us first
  Time now = ctx_.now();
  if (!retry && now - p.initiation_sent < settings_.timing.rekey_timeout) return;  // one is under way
  if (!retry || !p.initiator) p.attempts_started = now;
  Packet* packet = ctx_.pool().alloc();
  if (packet == nullptr) {
    no_buffer_.add();
    return;
  }
  if (p.initiator) forget_index(p.initiator_index);
  p.initiator_index = new_index(p.id, Slot::handshake);
  p.initiator.emplace();
  Initiation message;
  if (!p.initiator->create(identity_, p.keys, p.initiator_index, tai64n(unix_nanoseconds(ctx_.wall())), message)) {
    // Only a key of small order fails here, and such a peer is never usable (PeerKeys::derive).
    forget_index(p.initiator_index);
    p.initiator.reset();
    ctx_.pool().free(packet);
    p.keys.usable = false;
    return;
  }
  packet->resize(kInitiationSize);
  write(message, packet->bytes().first<kInitiationSize>());
  p.sent_mac1 = add_macs(packet->bytes(), p.keys.mac1_key, p.cookies.cookie(now));
  packet->meta.endpoint = p.endpoint;
  p.initiation_sent = now;
  initiations_sent_.add();
  transmit(packet);
  on_any_sent(p);
  p.retransmit.arm_in(settings_.timing.rekey_timeout + jitter());
}

// Under load, a handshake message without a valid MAC2 costs us no Curve25519: its datagram's
// buffer carries a cookie reply back to where it came from instead. True if that happened.
bool Device::cookie_demanded(Packet* p, std::uint32_t sender_index) {
  if (!under_load()) return false;
  std::array<std::uint8_t, 18> source{};
  auto from = std::span(source).first(source_bytes(&p->meta.endpoint.addr, source));
  if (cookies_.mac2_valid(p->bytes(), from, ctx_.now())) return false;
  CookieReply reply = cookies_.reply(p->bytes(), sender_index, from, identity_.cookie_key, ctx_.now());
  cookie_demanded_.add();
  cookies_sent_.add();
  p->resize(kCookieReplySize);
  write(reply, p->bytes().first<kCookieReplySize>());
  transmit(p);
  return true;
}

void Device::receive_initiation(Packet* p, Output& out) {
  Initiation message;
  if (!parse(p->bytes(), message)) {
    out.drop(p, malformed_);
    return;
  }
  if (!mac1_valid(p->bytes(), identity_.mac1_key)) {
    out.drop(p, bad_mac1_);
    return;
  }
  if (cookie_demanded(p, message.sender)) return;
  Responder responder;
  if (!responder.consume(identity_, message)) {
    out.drop(p, handshake_failed_);
    return;
  }
  auto known = by_key_.find(responder.peer_public_key());
  if (known == by_key_.end()) {
    out.drop(p, unknown_peer_);
    return;
  }
  Peer& peer = *peers_[known->second];
  if (workers_ > 1 && hand_to_owner(worker_of(peer), p, Handed::datagram, out)) return;  // its worker answers
  if (responder.timestamp() <= peer.latest_timestamp) {
    out.drop(p, stale_timestamp_);
    return;
  }
  Time now = ctx_.now();
  if (now - peer.initiation_consumed < kInitiationInterval) {
    out.drop(p, rate_limited_);
    return;
  }
  peer.latest_timestamp = responder.timestamp();
  peer.initiation_consumed = now;

  auto session = std::make_unique<Session>();
  std::uint32_t index = new_index(peer.id, Slot::session);
  Response response;
  session->keys = responder.respond(identity_, peer.keys, index, response);
  session->created = now;
  if (peer.next) forget_index(peer.next->keys.local_index);
  peer.next = std::move(session);

  peer.endpoint = p->meta.endpoint;
  p->resize(kResponseSize);
  write(response, p->bytes().first<kResponseSize>());
  add_macs(p->bytes(), peer.keys.mac1_key, peer.cookies.cookie(now));
  transmit(p);
  on_any_sent(peer);
  on_handshake_complete(peer);
}

void Device::receive_response(Packet* p, Output& out) {
  Response message;
  if (!parse(p->bytes(), message)) {
    out.drop(p, malformed_);
    return;
  }
  if (!mac1_valid(p->bytes(), identity_.mac1_key)) {
    out.drop(p, bad_mac1_);
    return;
  }
  if (cookie_demanded(p, message.sender)) return;
  auto found = indices_.find(message.receiver);
  if (found == indices_.end() || found->second.slot != Slot::handshake) {
    out.drop(p, unknown_index_);
    return;
  }
  Peer& peer = *peers_[found->second.peer];
  if (!peer.initiator || peer.initiator_index != message.receiver) {
    out.drop(p, unknown_index_);
    return;
  }
  auto keys = peer.initiator->consume(identity_, peer.keys, message);
  if (!keys) {
    out.drop(p, handshake_failed_);
    return;
  }
  // The handshake's index becomes the session's.
  peer.initiator.reset();
  indices_[message.receiver] = Index{peer.id, Slot::session};
  auto session = std::make_unique<Session>();
  session->keys = std::move(*keys);
  session->created = ctx_.now();
  if (peer.previous) forget_index(peer.previous->keys.local_index);
  peer.previous = std::move(peer.current);
  peer.current = std::move(session);
  if (peer.next) {
    forget_index(peer.next->keys.local_index);
    peer.next.reset();
  }
  peer.endpoint = p->meta.endpoint;
  peer.handshake_rtt = ctx_.now() - peer.initiation_sent;
  ctx_.pool().free(p);
  on_authenticated(peer);
  on_handshake_complete(peer);
  // Whitepaper 6.5: the initiator confirms the session at once, with data or a keepalive.
  if (peer.staged.empty()) send_keepalive(peer);
  else flush_staged(peer);
}

void Device::receive_cookie(Packet* p, Output& out) {
  CookieReply reply;
  if (!parse(p->bytes(), reply)) {
    out.drop(p, malformed_);
    return;
  }
  auto found = indices_.find(reply.receiver);
  if (found == indices_.end()) {
    out.drop(p, unknown_index_);
    return;
  }
  Peer& peer = *peers_[found->second.peer];
  if (!peer.cookies.consume(reply, peer.sent_mac1, peer.keys.cookie_key, ctx_.now())) {
    out.drop(p, handshake_failed_);
    return;
  }
  ctx_.pool().free(p);
}

}  // namespace waygate::wg
