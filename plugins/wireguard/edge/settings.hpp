// The wireguard edge's configuration, checked whole before anything uses it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "waygate/net/prefix.hpp"
#include "crypto.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"
#include "waygate/packet.hpp"

namespace waygate::wg {

using namespace std::chrono_literals;

// The protocol's timers (whitepaper 6.1). Tests divide them all by `timer_divisor`, so a rekey
// that takes two minutes in life takes seconds in a namespace test.
struct Timing {
  Duration rekey_after_time = 120s;
  Duration reject_after_time = 180s;
  Duration rekey_attempt_time = 90s;
  Duration rekey_timeout = 5s;
  Duration keepalive_timeout = 10s;
  static Timing divided_by(unsigned divisor);
};

struct PeerSettings {
  std::string name;
  std::uint32_t identity = kNoId;    // the directory identity it is, written into Meta::identity
  Key public_key{};
  Key preshared{};
  std::vector<net::Prefix> allowed_ips;
  Endpoint endpoint;                 // empty: learnt from the peer's first handshake
  Duration persistent_keepalive{0};  // 0: off
};

struct Settings {
  Key private_key{};
  std::string private_key_file;
  int listen_port = 0;  // 0: the kernel picks one
  // The addresses to listen on, one per family at most (none: every address of the host). A
  // connector pair's floating address under keepalived: bound whether or not it is here yet, and
  // the source of every datagram sent, so clients keep dialling it.
  std::optional<net::Address> listen4, listen6;
  std::string public_endpoint;  // host:port as clients dial it ("" if not said)
  std::string netns;
  int mtu = 1420;       // inner packets are padded up to this
  unsigned handshake_load = 128;  // handshake messages per second above which cookies are demanded
  bool udp_offload = true;        // UDP GSO and GRO: trains of datagrams cross the kernel as one
  int receive_buffer = 512 << 10;  // bytes the tunnel socket holds for datagrams not read yet
  Timing timing;
  // Above 0: peers with the same allowed IPs take turns (a client's connectors of one exit node).
  // Their prefixes go to one of them, the first listed at start; when it has not answered for
  // this long after data went to it, it is asked for a handshake, and when it has not answered
  // for twice this long, its traffic goes to the next of them (device.hpp, failover).
  Duration failover_after{0};
  std::vector<PeerSettings> peers;

  // Peers come from the stage's [[stage.peer]] tables and, with `identities = true`, one per
  // identity of the directory (its overlay addresses as allowed IPs).
  static Settings read(const Config& config, const Directory& directory);
  ~Settings() { wipe(private_key); }
};

}  // namespace waygate::wg
