// The WireGuard device: peers, their sessions and timers, the index table, and the UDP sockets,
// driven by the edge's bursts and completions. Methods are split by concern across files named as
// in the protocol: receive.cpp (datagrams in), send.cpp (packets out), handshake.cpp (the four
// messages), timers.cpp (whitepaper 6), device.cpp (peers, indices, sockets), workers.cpp (which
// worker owns what, with more than one).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "waygate/net/prefix_map.hpp"
#include "cookie.hpp"
#include "noise.hpp"
#include "replay.hpp"
#include "settings.hpp"
#include "waygate/burst.hpp"
#include "waygate/context.hpp"

namespace waygate::wg {

inline constexpr std::uint32_t kNoPeer = 0xffffffffu;
inline constexpr std::uint64_t kRekeyAfterMessages = std::uint64_t{1} << 60;
inline constexpr std::size_t kMaxStaged = 128;  // packets held per peer while a handshake runs
// "Never" for times we subtract from now: far enough back, yet no overflow (Time::min() would).
inline constexpr Time kLongAgo = -std::chrono::hours(24 * 365);

// Transport keys in use, with their counters (whitepaper 5.4.6).
struct Session {
  Keypair keys;
  Time created{};
  std::uint64_t send_counter = 0;
  ReplayWindow replay;
};

// A transport message checked against its session and waiting to be opened with the others of
// its turn. A cache line each: the crew's threads write `opened` side by side.
struct alignas(64) Opening {
  Packet* packet;
  const Key* key;  // valid until the batch is let in: sessions change only between batches
  std::uint64_t counter;
  std::uint32_t peer;
  std::uint32_t receiver;  // the session's index, to find it again when letting in
  bool opened;
};

// What a packet in sealed_ is sealed with. The key is valid until transmit_sealed() returns:
// sends seal and transmit before anything can replace a session.
struct Sealing {
  const Key* key;
  std::uint64_t counter;
  bool failed;
};

struct Peer {
  std::uint32_t id = 0;
  PeerSettings settings;
  PeerKeys keys;
  Endpoint endpoint;
  CookieJar cookies;

  // The handshake we initiated and wait on.
  std::optional<Initiator> initiator;
  std::uint32_t initiator_index = 0;
  Mac sent_mac1{};
  Time initiation_sent = kLongAgo;
  Time attempts_started{};
  // The newest initiation we accepted from it (replay and flood protection).
  Tai64n latest_timestamp{};
  Time initiation_consumed = kLongAgo;

  std::unique_ptr<Session> current;   // sends and receives
  std::unique_ptr<Session> previous;  // receives only, until its packets drain
  std::unique_ptr<Session> next;      // responder's, until the initiator's first packet confirms it

  Timer retransmit, send_keepalive, new_handshake, zero_keys, persistent, failover;
  // With failover_after: another peer with the same allowed IPs carries them now.
  bool standing_by = false;
  Duration handshake_rtt{0};  // initiation to response, the latest handshake we initiated
  // What the timers decide from (timers.cpp): the packet path only writes these.
  Time last_sent = kLongAgo;
  Time data_unanswered_since = kLongAgo;  // first data received since anything went out
  Time unanswered_since = kLongAgo;       // first data sent since anything authenticated came back
  std::vector<Packet*> staged;  // waiting for a session; reserved when the first one waits
  std::chrono::system_clock::time_point last_handshake{};

  Counter rx_bytes, tx_bytes, handshakes;
};

// One list of peers from every worker's answer to GET /v1/peers (peers.cpp).
waygate::Response gather_peers(std::vector<waygate::Response> answers);

class Device {
 public:
  Device(Context& ctx, Settings settings);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  void start();  // open sockets, start receiving, persistent keepalives
  void stop();
  // Applies new settings on a running device; keeps the sessions of peers whose key is unchanged.
  // Throws ConfigError-free std::invalid_argument for what needs a restart.
  void update(Settings next);

  // Packets that reached the edge: encrypt and send each to its peer.
  void send(Burst& burst, Output& out);
  // A receive or send completion on one of the sockets.
  void complete(const Completion& c, Output& out);
  // The loop's turn is over: open the transport messages it brought (receive.cpp), and send what
  // other workers handed over to send.
  void flush(Output& out) {
    open_waiting(out);
    send_handed(out);
  }
  // What another worker handed over (workers.cpp): a datagram for a peer or an index of ours, or
  // a packet to send to a peer of ours.
  void handed(Packet* p, std::uint32_t what, Output& out);

  const Settings& settings() const { return settings_; }
  // GET /v1/peers on the admin listener; PUT {"in_service": NAME} puts a standing-by peer in
  // service in place of the one that is (peers.cpp).
  waygate::Response peers_answer() const;
  waygate::Response put_in_service(const Request& request);
  std::uint16_t port() const { return port_; }

 private:
  enum class Slot : std::uint8_t { handshake, session };
  struct Index {
    std::uint32_t peer;
    Slot slot;
  };

  // workers.cpp
  enum class Handed : std::uint32_t { datagram, send };
  unsigned worker_of(const Peer& p) const;
  bool mine(const Peer& p) const { return workers_ == 1 || worker_of(p) == ctx_.worker(); }
  unsigned worker_of_index(std::uint32_t index) const;
  std::uint32_t named_for_us(std::uint32_t random) const;  // an index whose low byte names this worker
  void steer(int fd);  // the port's SO_REUSEPORT group's program
  // Hands `p` to `worker` if that is not this one (true: gone, or dropped when it cannot take it).
  bool hand_to_owner(unsigned worker, Packet* p, Handed what, Output& out);
  // Sends what other workers handed over to send, as one burst.
  void send_handed(Output& out) {
    if (handed_sends_.empty()) return;
    send(handed_sends_, out);
    handed_sends_.clear();
  }

  // device.cpp
  void add_peer(PeerSettings settings);
  void remove_peer(Peer& p);
  // Cryptokey routing (whitepaper 2) from every peer's allowed IPs, built again whenever they
  // change (configure time); of two peers claiming the same prefix, the one added later.
  void route();
  // failover.cpp: peers sharing their allowed IPs, one of them in service.
  std::vector<Peer*> group_of(const Peer& p) const;
  void form_groups();  // one in service in each group: the first listed, unless one already is
  void check_silence(Peer& p);
  void fail_over(Peer& from, Peer& to, const char* why);
  // The peer owning an inner address (4 or 16 bytes): the longest prefix of its allowed IPs.
  std::uint32_t owner(std::span<const std::uint8_t> address) const {
    const auto* e = address.size() == 4    ? allowed_.find4(address.data())
                    : address.size() == 16 ? allowed_.find6(address.data())
                                           : nullptr;
    return e != nullptr ? e->value : kNoPeer;
  }
  std::uint32_t new_index(std::uint32_t peer, Slot slot);
  void forget_index(std::uint32_t index);
  void clear_sessions(Peer& p);
  void open_sockets();
  void transmit(Packet* p);  // to p->endpoint, on the socket of its family
  // Sends what encrypt_and_send() sealed: runs to one endpoint go as trains (UDP GSO), each
  // datagram as long as its train's first but the last.
  void transmit_sealed();
  int socket_for(const Endpoint& e) const;

  // receive.cpp
  void receive(Packet* p, Output& out);
  // Checks a transport message and queues it, still sealed, in opening_.
  void receive_transport(Packet* p, Output& out);
  // Opens what waits in opening_ on the crew, then lets each in, in the order received.
  void open_waiting(Output& out);
  void let_in(const Opening& o, Output& out);
  bool under_load();

  // handshake.cpp
  void initiate(Peer& p, bool retry);
  void receive_initiation(Packet* p, Output& out);
  void receive_response(Packet* p, Output& out);
  void receive_cookie(Packet* p, Output& out);
  bool cookie_demanded(Packet* p, std::uint32_t sender_index);
  void install(Peer& p, std::unique_ptr<Session> session, bool initiator);

  // send.cpp
  // Pads the packet and writes its header; the packet waits in sealed_ to be sealed, with the
  // others, when transmit_sealed() runs.
  void encrypt_and_send(Peer& p, Session& s, Packet* packet);
  // Seals everything in sealed_ on the crew; drops what could not be.
  void seal_waiting();
  void send_keepalive(Peer& p);
  void flush_staged(Peer& p);
  bool usable_for_send(const Session* s) const;

  // timers.cpp
  void arm_timers(Peer& p);
  void on_data_sent(Peer& p);
  void on_any_sent(Peer& p);
  void on_data_received(Peer& p);
  void on_authenticated(Peer& p);
  void on_handshake_complete(Peer& p);
  Duration jitter();

  Context& ctx_;
  const unsigned workers_;  // Context::workers(), asked once
  Settings settings_;
  Identity identity_;
  std::unique_ptr<Aead[]> aeads_;  // one per crew member: a cipher context is not shared
  CookieChecker cookies_;
  net::PrefixMap<std::uint32_t> allowed_;  // cryptokey routing: which peer owns an inner address
  std::vector<std::unique_ptr<Peer>> peers_;  // by id; a removed peer leaves a null slot
  std::map<Key, std::uint32_t> by_key_;
  std::unordered_map<std::uint32_t, Index> indices_;
  int sockets_[2] = {-1, -1};                 // IPv4, IPv6
  bool segments_[2] = {false, false};         // the socket sends trains and takes GRO reads
  std::vector<Packet*> sealed_;               // waiting for transmit_sealed()
  std::vector<Sealing> sealing_;              // beside sealed_
  std::vector<Opening> opening_;              // transport messages of this turn, in order
  Burst handed_sends_;                        // other workers' packets for our peers, this turn
  std::uint16_t port_ = 0;
  bool running_ = false;
  Time load_window_{};
  unsigned load_count_ = 0;
  bool loaded_ = false;

  // Says the public key and public endpoint (metric_names.hpp): 1 now, 0 once replaced.
  void say_info();
  std::optional<Gauge> info_;

  Counter rx_packets_, rx_bytes_, tx_packets_, tx_bytes_, initiations_sent_, cookies_sent_, handshakes_, trains_,
      failovers_, handed_over_;
  Drop malformed_, bad_mac1_, unknown_peer_, stale_timestamp_, handshake_failed_, unknown_index_,
      replayed_, decrypt_failed_, expired_key_, source_not_allowed_, malformed_inner_, no_peer_,
      no_endpoint_, staged_overflow_, handshake_timeout_, send_failed_, not_ip_, rate_limited_,
      cookie_demanded_, no_buffer_, low_order_key_, handover_full_;
};

}  // namespace waygate::wg
