// The timer rules of whitepaper section 6, per peer. The packet path only records times and arms
// a timer that is not armed yet; the callbacks decide from those times whether their moment has
// come or re-arm for it. So a flow of packets costs no timer work per packet, and no heap entry.
#include "device.hpp"

namespace waygate::wg {

Duration Device::jitter() {
  std::uint32_t r = 0;
  random_bytes({reinterpret_cast<std::uint8_t*>(&r), sizeof r});
  return std::chrono::milliseconds(r % 334);
}

void Device::arm_timers(Peer& p) {
  // Handshake retry: every REKEY_TIMEOUT (+ jitter) until REKEY_ATTEMPT_TIME has passed.
  p.retransmit = ctx_.timer([this, &p] {
    if (!p.initiator) return;
    if (ctx_.now() - p.attempts_started >= settings_.timing.rekey_attempt_time) {
      ctx_.log().event(Level::info, {{"peer", p.settings.name}}, "peer {}: no handshake after {} s, giving up", p.settings.name,
                      std::chrono::duration_cast<std::chrono::seconds>(settings_.timing.rekey_attempt_time).count());
      forget_index(p.initiator_index);
      p.initiator.reset();
      for (Packet* staged : p.staged) {
        handshake_timeout_.add();
        ctx_.pool().free(staged);
      }
      p.staged.clear();
      return;
    }
    initiate(p, true);
  });
  // Passive keepalive: data came in and nothing went out for KEEPALIVE_TIMEOUT after it.
  p.send_keepalive = ctx_.timer([this, &p] {
    if (p.data_unanswered_since == kLongAgo) return;  // something went out since
    Time due = p.data_unanswered_since + settings_.timing.keepalive_timeout;
    if (ctx_.now() >= due) send_keepalive(p);
    else p.send_keepalive.arm_at(due);
  });
  // Data went out and nothing came back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: new handshake.
  p.new_handshake = ctx_.timer([this, &p] {
    if (p.unanswered_since == kLongAgo) return;  // something came back
    Time due = p.unanswered_since + settings_.timing.keepalive_timeout + settings_.timing.rekey_timeout;
    if (ctx_.now() < due) {
      p.new_handshake.arm_at(due);
      return;
    }
    p.unanswered_since = kLongAgo;
    initiate(p, false);
  });
  // Nothing renewed the keys for 3 * REJECT_AFTER_TIME: forget them.
  p.zero_keys = ctx_.timer([this, &p] { clear_sessions(p); });
  // With failover_after: data went out and nothing came back (failover.cpp).
  p.failover = ctx_.timer([this, &p] { check_silence(p); });
  // Persistent keepalive: nothing sent for the configured interval.
  p.persistent = ctx_.timer([this, &p] {
    Duration every = p.settings.persistent_keepalive;
    if (every == Duration{0}) return;
    Time due = p.last_sent + every;
    if (ctx_.now() >= due) send_keepalive(p);
    else p.persistent.arm_at(due);
  });
}

void Device::on_data_sent(Peer& p) {
  if (p.unanswered_since != kLongAgo) return;
  p.unanswered_since = ctx_.now();
  if (settings_.failover_after > Duration{0} && !p.failover.armed()) p.failover.arm_in(settings_.failover_after);
  if (!p.new_handshake.armed())
    p.new_handshake.arm_in(settings_.timing.keepalive_timeout + settings_.timing.rekey_timeout);
}

void Device::on_any_sent(Peer& p) {
  p.last_sent = ctx_.now();
  p.data_unanswered_since = kLongAgo;
  if (p.settings.persistent_keepalive > Duration{0} && !p.persistent.armed())
    p.persistent.arm_in(p.settings.persistent_keepalive);
}

void Device::on_data_received(Peer& p) {
  if (p.data_unanswered_since == kLongAgo) {
    p.data_unanswered_since = ctx_.now();
    if (!p.send_keepalive.armed()) p.send_keepalive.arm_in(settings_.timing.keepalive_timeout);
  }
  // Whitepaper 6.2: an initiator receiving on an ageing session renews it before it is rejected.
  const Session* s = p.current.get();
  if (s != nullptr && s->keys.initiator &&
      ctx_.now() - s->created >= settings_.timing.reject_after_time - settings_.timing.keepalive_timeout -
                                     settings_.timing.rekey_timeout)
    initiate(p, false);
}

void Device::on_authenticated(Peer& p) { p.unanswered_since = kLongAgo; }

void Device::on_handshake_complete(Peer& p) {
  p.retransmit.cancel();
  p.last_handshake = ctx_.wall();
  p.handshakes.add();
  handshakes_.add();
  p.zero_keys.arm_in(3 * settings_.timing.reject_after_time);
}

}  // namespace waygate::wg
