// The nat stage's side of a connector pair ([stage.pair]): two connectors serve one exit node,
// one active, one standby, and the NAT sessions of the active are held by the standby too, so
// that connections live through the active's loss. The link is a UDP socket between the two
// (replication.hpp: sealed batches, sequence numbers, the whole table on a gap). Who is active is
// not decided here: keepalived decides, and says it through the admin API
// (PUT /v1/nat/pair {"role": "active"|"standby"}, from its notify script).
//
// Active: after each burst, the table's changes go out; a heartbeat each second; the whole table,
// in slices every 10 ms, when the standby asks. Standby: adopts what comes in order, asks (again
// each second) after a gap, ages nothing, and forwards nothing: its packets are dropped as
// `standby`. GET /v1/nat/pair says the role, the link's sequence and whether the standby is behind.
//
// Split brain (both made active: VRRP's adverts lost between them) is VRRP's to end; meanwhile
// an active takes nothing from the other, counts what it hears from it and says so. The one that
// is then made standby takes the other's whole table: where one of its own sessions stands in the
// way of one of the active's (the same port for another flow), the snapshot's end removes it and
// the snapshot is asked for again, so the standby ends level with the active, never a mix.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "engine.hpp"
#include "replication.hpp"
#include "waygate/config.hpp"
#include "waygate/context.hpp"
#include "waygate/packet.hpp"
#include "waygate/timer.hpp"

namespace waygate::nat {

struct PairSettings {
  Endpoint listen, peer;
  std::string listen_text, peer_text;
  ReplicationKey key{};
  bool active = false;  // the role it starts in, until keepalived says otherwise
};

// The [stage.pair] table: listen, peer ("address:port" each), key_file (32 bytes in base64, as
// `waygate genpsk` makes; the same on both), role ("standby" by default). Throws ConfigError.
PairSettings read_pair(const Config& c);

class PairLink {
 public:
  PairLink(Context& ctx, Engine& engine, PairSettings settings);
  ~PairLink();
  PairLink(const PairLink&) = delete;
  PairLink& operator=(const PairLink&) = delete;

  void start();  // binds the socket and listens; throws std::system_error naming the address
  void stop();
  bool active() const { return active_; }
  const PairSettings& settings() const { return settings_; }
  // The active's connector name, as its datagrams say (its address until one came): the NAT log's
  // `connector` for the sessions this one holds for it.
  std::string_view peer_connector() const { return peer_connector_; }
  void set_role(bool active);

  bool owns(const Completion& c) const { return (c.tag & ~0xffull) == kTag; }
  void done(const Completion& c);
  void flush();  // after a burst: the active sends what changed

 private:
  static constexpr std::uint64_t kTag = 0x7061697200000000ull;  // "pair"
  void tick();        // each second
  void send_slice();  // every 10 ms while a snapshot is sent
  void send(Kind kind, const SessionChange* records, std::size_t count);
  void send_changes();
  void receive(const Packet& p);
  Response answer(const Request& r);
  bool split_brain() const;  // active, and the peer said it is active too, lately

  Context& ctx_;
  Engine& engine_;
  PairSettings settings_;
  int fd_ = -1;
  bool active_ = false;
  // The active's side.
  Header header_;  // this one's name, set once: each datagram's sender
  std::uint64_t epoch_ = 0, sequence_ = 0;
  std::uint32_t snapshot_cursor_ = Engine::kNone;  // kNone: none being sent
  std::vector<SessionChange> batch_;
  // The standby's side.
  Replica replica_;
  std::string peer_connector_;
  bool snapshot_whole_ = true;  // every record of the snapshot being taken was adopted
  Time last_heard_{};
  bool heard_ = false;
  // Both active: when this one, active, last heard the peer's active datagrams.
  Time last_split_{};
  bool split_ = false;
  // What keepalived last said of the VRRP instance (its notify script's arguments), and when.
  std::string vrrp_instance_, vrrp_state_;
  std::int64_t vrrp_priority_ = -1;
  Time vrrp_told_{};
  Timer second_, slice_;
  Counter sent_, received_, refused_, lost_, snapshots_, split_brain_;
  Gauge standby_;
};

}  // namespace waygate::nat
