// Peers that take turns (Settings::failover_after): a client's connectors of one exit node each
// claim the same prefixes, 0.0.0.0/0 and ::/0 among them; one carries them, the others stand by
// (their sessions kept warm by persistent keepalives). A peer that data went to and that has said
// nothing since, for failover_after, is asked for a handshake (each quarter of failover_after);
// one that answers nothing, not even that, for twice as long has its prefixes moved to the next of
// its group. Nothing moves back by itself: a peer that returns stands by until its turn comes
// again or an operator picks it. A peer with no group is asked from then on each failover_after
// for as long as it stays silent.
#include <algorithm>

#include <boost/json.hpp>

#include "device.hpp"

namespace waygate::wg {

std::vector<Peer*> Device::group_of(const Peer& p) const {
  std::vector<Peer*> out;
  if (settings_.failover_after == Duration{0} || p.settings.allowed_ips.empty()) return out;
  for (const auto& q : peers_)
    if (q && q->settings.allowed_ips == p.settings.allowed_ips) out.push_back(q.get());
  if (out.size() < 2) out.clear();
  return out;
}

void Device::form_groups() {
  for (const auto& p : peers_) {
    if (!p) continue;
    const std::vector<Peer*> group = group_of(*p);
    if (group.empty()) {
      p->standing_by = false;
      continue;
    }
    if (group.front() != p.get()) continue;  // each group once, from its first peer
    const auto serving = std::count_if(group.begin(), group.end(), [](const Peer* q) { return !q->standing_by; });
    if (serving == 1) continue;
    for (Peer* q : group) q->standing_by = q != group.front();
  }
}

void Device::check_silence(Peer& p) {
  if (p.unanswered_since == kLongAgo || p.standing_by) return;  // it answered, or it is not in service
  const Duration silent = ctx_.now() - p.unanswered_since;
  if (silent < settings_.failover_after) {
    p.failover.arm_at(p.unanswered_since + settings_.failover_after);
    return;
  }
  if (silent < 2 * settings_.failover_after) {
    // A live peer answers a handshake at once, whatever becomes of its traffic (a policy may drop
    // it: another connector would not mend that), and the answer ends the silence. Asked each
    // quarter of failover_after: an endpoint that floats answers as soon as its new holder has
    // it, and each moment sooner spares the connections inside one of TCP's doubling retransmits.
    const Duration often = settings_.failover_after / 4;
    if (ctx_.now() - p.initiation_sent >= often) initiate(p, true);
    p.failover.arm_at(std::min(ctx_.now() + often, p.unanswered_since + 2 * settings_.failover_after));
    return;
  }
  const std::vector<Peer*> group = group_of(p);
  if (group.empty()) {
    // No other to move to: one endpoint that may float to another connector (a pair under
    // keepalived). Asked again each failover_after, not at the protocol's 5 s, until it answers.
    if (ctx_.now() - p.initiation_sent >= settings_.failover_after) initiate(p, true);
    p.failover.arm_at(ctx_.now() + settings_.failover_after);
    return;
  }
  const auto at = std::find(group.begin(), group.end(), &p);
  fail_over(p, **(at + 1 == group.end() ? group.begin() : at + 1), "silent");
}

void Device::fail_over(Peer& from, Peer& to, const char* why) {
  from.standing_by = true;
  to.standing_by = false;
  to.unanswered_since = kLongAgo;  // its own time to answer starts now
  route();
  failovers_.add();
  ctx_.log().event(Level::warn, {{"peer", from.settings.name}}, "peer {} {}: its prefixes go to peer {} now", from.settings.name, why,
                   to.settings.name);
  // What waited for the silent one's handshake goes to the new one, which may need one too.
  for (Packet* staged : from.staged) to.staged.size() < kMaxStaged ? to.staged.push_back(staged) : ctx_.pool().free(staged);
  from.staged.clear();
  if (usable_for_send(to.current.get())) flush_staged(to);
  else initiate(to, false);
}

waygate::Response Device::put_in_service(const Request& request) {
  namespace json = boost::json;
  boost::system::error_code ec;
  const json::value body = json::parse(request.body, ec);
  const json::value* name = !ec && body.is_object() ? body.as_object().if_contains("in_service") : nullptr;
  if (name == nullptr || !name->is_string()) return {400, "text/plain", "expected {\"in_service\": \"PEER\"}\n"};
  for (const auto& p : peers_) {
    if (!p || p->settings.name != name->as_string()) continue;
    const std::vector<Peer*> group = group_of(*p);
    if (group.empty()) return {409, "text/plain", "peer " + p->settings.name + " shares its allowed IPs with no other peer\n"};
    for (Peer* q : group)
      if (!q->standing_by && q != p.get()) fail_over(*q, *p, "replaced by request");
    return peers_answer();
  }
  return {404, "text/plain", "no peer named " + std::string(name->as_string()) + "\n"};
}

}  // namespace waygate::wg
