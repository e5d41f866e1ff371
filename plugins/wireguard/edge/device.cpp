#include "device.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "waygate/metric_names.hpp"
#include "waygate/net/bind.hpp"
#include "waygate/netns.hpp"
#include "keys.hpp"

namespace waygate::wg {

namespace {
// Every worker's checker alike (cookie.hpp), and nobody else's: derived from the private key.
Key cookie_seed(const Key& private_key) {
  static constexpr std::string_view label = "waygate cookie secret";
  return hash({Bytes(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()), private_key});
}
// Completion tags: the socket's family index in the low byte, whether it was a send above it.
constexpr std::uint64_t kSend = 0x100;
}  // namespace

Device::Device(Context& ctx, Settings settings)
    : ctx_(ctx),
      workers_(ctx.workers()),
      settings_(std::move(settings)),
      identity_(Identity::from_private(settings_.private_key)),
      aeads_(std::make_unique<Aead[]>(ctx.crew().size())),
      cookies_(cookie_seed(identity_.private_key)),
      rx_packets_(ctx.counter(metric::kRxPackets, "UDP datagrams received")),
      rx_bytes_(ctx.counter("rx_bytes_total", "UDP payload bytes received")),
      tx_packets_(ctx.counter("tx_packets_total", "UDP datagrams sent")),
      tx_bytes_(ctx.counter("tx_bytes_total", "UDP payload bytes sent")),
      initiations_sent_(ctx.counter("handshake_initiations_sent_total", "Handshake initiations sent")),
      cookies_sent_(ctx.counter("cookie_replies_sent_total", "Cookie replies sent while under load")),
      handshakes_(ctx.counter(metric::kHandshakes, "Handshakes completed")),
      trains_(ctx.counter("trains_sent_total", "Sends of several datagrams in one (UDP GSO)")),
      failovers_(ctx.counter("failovers_total", "Prefixes moved from a silent peer to the next of its group")),
      handed_over_(ctx.counter("handed_over_total", "Datagrams and packets handed to the worker owning their peer")),
      malformed_(ctx.drop_reason("malformed")),
      bad_mac1_(ctx.drop_reason("bad_mac1")),
      unknown_peer_(ctx.drop_reason("unknown_peer")),
      stale_timestamp_(ctx.drop_reason("stale_timestamp")),
      handshake_failed_(ctx.drop_reason("handshake_failed")),
      unknown_index_(ctx.drop_reason("unknown_index")),
      replayed_(ctx.drop_reason("replayed")),
      decrypt_failed_(ctx.drop_reason("decrypt_failed")),
      expired_key_(ctx.drop_reason("expired_key")),
      source_not_allowed_(ctx.drop_reason("source_not_allowed")),
      malformed_inner_(ctx.drop_reason("malformed_inner")),
      no_peer_(ctx.drop_reason("no_peer")),
      no_endpoint_(ctx.drop_reason("no_endpoint")),
      staged_overflow_(ctx.drop_reason("staged_overflow")),
      handshake_timeout_(ctx.drop_reason("handshake_timeout")),
      send_failed_(ctx.drop_reason("send_failed")),
      not_ip_(ctx.drop_reason("not_ip")),
      rate_limited_(ctx.drop_reason("rate_limited")),
      cookie_demanded_(ctx.drop_reason("cookie_demanded")),
      no_buffer_(ctx.drop_reason("no_buffer")),
      low_order_key_(ctx.drop_reason("low_order_key")),
      handover_full_(ctx.drop_reason("handover_full")) {
  sealed_.reserve(kBurstMax + kMaxStaged);
  sealing_.reserve(kBurstMax + kMaxStaged);
  opening_.reserve(kBurstMax);
  for (auto& p : settings_.peers) add_peer(p);
  route();
  say_info();
}

Device::~Device() {
  if (info_) info_->set(0);
  stop();
  for (auto& p : peers_)
    if (p) remove_peer(*p);
}

void Device::add_peer(PeerSettings s) {
  auto p = std::make_unique<Peer>();
  Peer& peer = *p;
  peer.id = static_cast<std::uint32_t>(peers_.size());
  peer.keys = PeerKeys::derive(s.public_key, s.preshared);
  if (!peer.keys.usable)  // a directory identity's (a listed peer's is refused): the others still load
    ctx_.log().warn("peer {}: its public key is a point of small order; it can never connect", s.name);
  peer.endpoint = s.endpoint;
  peer.settings = std::move(s);
  Labels labels{{"peer", peer.settings.name}};
  peer.rx_bytes = ctx_.counter("peer_rx_bytes_total", "Inner bytes received from a peer", labels);
  peer.tx_bytes = ctx_.counter("peer_tx_bytes_total", "Inner bytes sent to a peer", labels);
  peer.handshakes = ctx_.counter(metric::kPeerHandshakes, "Handshakes completed with a peer", labels);
  arm_timers(peer);
  by_key_[peer.settings.public_key] = peer.id;
  peers_.push_back(std::move(p));
}

void Device::route() {
  form_groups();
  std::vector<net::PrefixMap<std::uint32_t>::Entry> entries;
  for (const auto& p : peers_)
    if (p && !p->standing_by)
      for (const auto& prefix : p->settings.allowed_ips) entries.push_back({prefix, p->id});
  allowed_ = net::PrefixMap<std::uint32_t>(std::move(entries));
}

void Device::remove_peer(Peer& p) {
  clear_sessions(p);
  if (p.initiator) forget_index(p.initiator_index);
  for (Packet* staged : p.staged) ctx_.pool().free(staged);
  p.staged.clear();
  by_key_.erase(p.settings.public_key);
  peers_[p.id].reset();
}

std::uint32_t Device::new_index(std::uint32_t peer, Slot slot) {
  for (;;) {
    std::uint32_t index = 0;
    random_bytes({reinterpret_cast<std::uint8_t*>(&index), sizeof index});
    if (workers_ > 1) index = named_for_us(index);
    if (indices_.try_emplace(index, Index{peer, slot}).second) return index;
  }
}

void Device::forget_index(std::uint32_t index) { indices_.erase(index); }

void Device::clear_sessions(Peer& p) {
  for (auto* s : {&p.current, &p.previous, &p.next}) {
    if (*s) forget_index((*s)->keys.local_index);
    s->reset();
  }
}

void Device::update(Settings next) {
  if (next.private_key != settings_.private_key)
    throw std::invalid_argument("changing the private key of a running wireguard edge needs a restart");
  if (next.listen_port != settings_.listen_port || next.netns != settings_.netns || next.listen4 != settings_.listen4 ||
      next.listen6 != settings_.listen6 ||
      next.udp_offload != settings_.udp_offload || next.receive_buffer != settings_.receive_buffer)
    throw std::invalid_argument(
        "changing listen_port, listen_address, netns, udp_offload or receive_buffer of a running wireguard edge "
        "needs a restart");
  // Peers whose key stays keep their sessions and endpoint; the rest come and go.
  std::vector<PeerSettings> incoming = next.peers;
  for (auto& slot : peers_) {
    if (!slot) continue;
    auto it = std::find_if(incoming.begin(), incoming.end(),
                           [&](const PeerSettings& s) { return s.public_key == slot->settings.public_key; });
    if (it == incoming.end()) {
      ctx_.log().event(Level::info, {{"peer", slot->settings.name}}, "peer {} removed", slot->settings.name);
      remove_peer(*slot);
      continue;
    }
    Peer& p = *slot;
    if (it->preshared != p.settings.preshared) {
      clear_sessions(p);
      p.keys = PeerKeys::derive(it->public_key, it->preshared);
    }
    if (!it->endpoint.empty() && !(it->endpoint == p.settings.endpoint)) p.endpoint = it->endpoint;
    bool keepalive_on = p.settings.persistent_keepalive == Duration{0} && it->persistent_keepalive > Duration{0};
    p.settings = std::move(*it);
    incoming.erase(it);
    if (p.settings.persistent_keepalive == Duration{0}) p.persistent.cancel();
    // Turning it on sends one at once (as wg set does); each send re-arms the timer.
    else if (running_ && keepalive_on && mine(p)) send_keepalive(p);
  }
  for (auto& s : incoming) {
    ctx_.log().event(Level::info, {{"peer", s.name}}, "peer {} added", s.name);
    add_peer(std::move(s));
    Peer& added = *peers_.back();
    if (running_ && added.settings.persistent_keepalive > Duration{0} && mine(added)) send_keepalive(added);
  }
  settings_.failover_after = next.failover_after;
  route();
  settings_.peers = std::move(next.peers);
  if (next.public_endpoint != settings_.public_endpoint) {
    settings_.public_endpoint = next.public_endpoint;
    say_info();
  }
  settings_.mtu = next.mtu;
  settings_.handshake_load = next.handshake_load;
  settings_.timing = next.timing;
}

void Device::say_info() {
  if (ctx_.worker() != 0) return;  // one tunnel, however many workers serve it
  if (info_) info_->set(0);
  info_ = ctx_.gauge(metric::kTunnelInfo, "1: the tunnel's public key and the endpoint clients dial",
                     {{"public_key", to_base64(identity_.public_key)}, {"endpoint", settings_.public_endpoint}});
  info_->set(1);
}

void Device::open_sockets() {
  NetnsGuard in_namespace(settings_.netns);
  for (int i = 0; i < 2; ++i) {
    int family = i == 0 ? AF_INET : AF_INET6;
    int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      if (i == 1 && errno == EAFNOSUPPORT) break;  // a host without IPv6
      throw std::system_error(errno, std::generic_category(), "wireguard: socket");
    }
    int one = 1;
    if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    // One socket per worker on the port, in one group (workers.cpp).
    if (workers_ > 1 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ::close(fd);
      throw std::system_error(errno, std::generic_category(), "wireguard: SO_REUSEPORT");
    }
    // The kernel coalesces a sender's datagrams (GRO) only for a socket that asks; the loop then
    // cuts them apart. A kernel that takes UDP_GRO (5.0) sends trains (UDP_SEGMENT, 4.18) too.
    segments_[i] = settings_.udp_offload && ::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
    // Absorbs the bursts that arrive between two loop turns; more makes a standing queue that a
    // ping beside a bulk transfer waits in. The kernel doubles what it is asked (half of it
    // counted as its bookkeeping), and takes more than rmem_max only from a privileged setup.
    int half = settings_.receive_buffer / 2;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &half, sizeof half);
    int send = 256 << 10;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send, sizeof send);
    Endpoint bind_to;
    const std::optional<net::Address>& listen = family == AF_INET ? settings_.listen4 : settings_.listen6;
    if (family == AF_INET) {
      bind_to.addr.v4.sin_family = AF_INET;
      bind_to.addr.v4.sin_port = htons(port_ != 0 ? port_ : static_cast<std::uint16_t>(settings_.listen_port));
      if (listen) std::memcpy(&bind_to.addr.v4.sin_addr, listen->bytes().data(), 4);
      bind_to.len = sizeof(sockaddr_in);
    } else {
      bind_to.addr.v6.sin6_family = AF_INET6;
      bind_to.addr.v6.sin6_addr = in6addr_any;
      if (listen) std::memcpy(&bind_to.addr.v6.sin6_addr, listen->bytes().data(), 16);
      bind_to.addr.v6.sin6_port = htons(port_);
      bind_to.len = sizeof(sockaddr_in6);
    }
    // A floating address (a pair's, under keepalived) is bound before it is here: the standby
    // listens on it from the start and answers from it once keepalived moves it over.
    if (listen)
      ::setsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND,
                   &one, sizeof one);
    if (const int err = net::bind_port(fd, &bind_to.addr.sa, bind_to.len); err != 0) {
      ::close(fd);
      throw std::system_error(err, std::generic_category(),
                              "wireguard: bind UDP port " + std::to_string(settings_.listen_port));
    }
    if (workers_ > 1) {
      try {
        steer(fd);
      } catch (...) {
        ::close(fd);
        throw;
      }
    }
    if (port_ == 0) {  // learn the port the kernel chose, so IPv6 listens on the same one
      socklen_t len = bind_to.len;
      ::getsockname(fd, &bind_to.addr.sa, &len);
      port_ = ntohs(bind_to.addr.v4.sin_port);
    }
    sockets_[i] = fd;
  }
}

void Device::start() {
  open_sockets();
  running_ = true;
  ctx_.serve(Listener::admin, "/v1/peers",
             [this](const Request& r) { return r.method == "PUT" ? put_in_service(r) : peers_answer(); }, gather_peers);
  for (int i = 0; i < 2; ++i)
    if (sockets_[i] < 0) continue;
    else if (segments_[i]) ctx_.io().receive_segments(sockets_[i], static_cast<std::uint64_t>(i));
    else ctx_.io().receive_many(sockets_[i], static_cast<std::uint64_t>(i));
  ctx_.log().info("listening on UDP port {}, {} peer(s)", port_, by_key_.size());
  for (auto& p : peers_)
    if (p && p->settings.persistent_keepalive > Duration{0} && mine(*p)) send_keepalive(*p);
}

void Device::stop() {
  if (!running_) return;
  running_ = false;
  for (const Opening& o : opening_) ctx_.pool().free(o.packet);
  opening_.clear();
  for (Packet* p : handed_sends_) ctx_.pool().free(p);
  handed_sends_.clear();
  for (auto& p : peers_) {
    if (!p) continue;
    for (Timer* t : {&p->retransmit, &p->send_keepalive, &p->new_handshake, &p->zero_keys, &p->persistent}) t->cancel();
  }
  for (int& fd : sockets_) {
    if (fd < 0) continue;
    ctx_.io().cancel(fd);
    ::close(fd);
    fd = -1;
  }
}

int Device::socket_for(const Endpoint& e) const {
  return sockets_[e.addr.sa.sa_family == AF_INET6 ? 1 : 0];
}

void Device::transmit(Packet* p) {
  int fd = socket_for(p->meta.endpoint);
  if (fd < 0) {
    send_failed_.add();
    ctx_.pool().free(p);
    return;
  }
  tx_packets_.add();
  tx_bytes_.add(p->size());
  ctx_.io().send(fd, p, kSend | (p->meta.endpoint.addr.sa.sa_family == AF_INET6 ? 1u : 0u));
}

void Device::transmit_sealed() {
  seal_waiting();
  std::span<Packet* const> all(sealed_);
  for (std::size_t i = 0, n = 1; i < all.size(); i += n) {
    Packet* first = all[i];
    const int family = first->meta.endpoint.addr.sa.sa_family == AF_INET6 ? 1 : 0;
    std::size_t bytes = first->size();
    for (n = 1; segments_[family] && i + n < all.size() && n < kMaxSegments; ++n) {
      Packet* q = all[i + n];
      if (q->size() > first->size() || bytes + q->size() > kMaxSegmentsBytes || !(q->meta.endpoint == first->meta.endpoint)) break;
      bytes += q->size();
      if (q->size() < first->size()) {  // a shorter datagram ends the train
        ++n;
        break;
      }
    }
    if (n == 1) {
      transmit(first);
      continue;
    }
    tx_packets_.add(n);
    tx_bytes_.add(bytes);
    trains_.add();
    ctx_.io().send_segments(sockets_[family], all.subspan(i, n), kSend | static_cast<std::uint64_t>(family));
  }
  sealed_.clear();
}

void Device::complete(const Completion& c, Output& out) {
  if ((c.tag & kSend) != 0) {
    const std::size_t family = c.tag & 1;
    if (c.result == -EIO && segments_[family]) {  // the route cannot segment: one by one from now on
      segments_[family] = false;
      ctx_.log().warn("the kernel refuses trains of datagrams (UDP GSO) on this route; sending one at a time");
    }
    if (c.result < 0) out.drop(c.packet, send_failed_);
    else ctx_.pool().free(c.packet);
    return;
  }
  if (c.result <= 0) {  // an error on the socket (a datagram too long, say): the stream goes on
    ctx_.pool().free(c.packet);
    return;
  }
  rx_packets_.add();
  rx_bytes_.add(static_cast<std::uint64_t>(c.result));
  receive(c.packet, out);
}

}  // namespace waygate::wg
