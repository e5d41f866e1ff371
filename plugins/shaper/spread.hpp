// With more than one worker ([host] workers) each worker's shaper sees only its own clients'
// packets, while a group's or a socket's rate, a socket's fair level and a quota's use belong to
// all of them. Every fair interval each worker tells the others what it saw, in records handed
// over in packets, and takes its part of every shared rate from what all of them asked: a rate
// splits in proportion to the workers' demands, a fair level is computed over every worker's
// identities, a quota counts every worker's use. An identity's packets all reach one worker (its
// peer's), so its own limits end up whole there.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "waygate/context.hpp"

namespace waygate::shaper {

struct Record {
  enum Kind : std::uint32_t { header, bucket, lane, usage };
  Kind kind = header;
  // header: the sending worker; bucket, lane, usage: the bucket's, lane's or quota's position in
  // the rules (the same on every worker, which takes every reload)
  std::uint32_t index = 0;
  std::uint32_t identity = 0;  // header: the rules' generation (reloads taken); lane: the identity
  std::uint32_t report = 0;    // header: the report's number, of those its worker sent
  double value = 0;            // bucket, lane: demand, bytes a second; usage: bytes since the last report
};

// Hands `records` to every other worker, as many to a packet as fit, each packet opening with a
// header (this worker, `generation`, `report`); a report of none is one header, saying so. A
// packet the pool or the inbox has no room for is lost: the next interval's report tells again
// (a quota's use it carried is lost for good, as a packet's count past a full ring is).
void hand_report(Context& ctx, std::uint32_t generation, std::uint32_t report, const std::vector<Record>& records,
                 std::uint32_t tag);

// The records of a packet handed over.
template <typename F>
void read_report(const Packet& p, F&& f) {
  for (std::size_t at = 0; at + sizeof(Record) <= p.size(); at += sizeof(Record)) {
    Record r;
    std::memcpy(&r, p.data() + at, sizeof r);
    f(r);
  }
}

// This worker's part (0 to 1) of a rate all of them draw from: in proportion to its demand among
// all of theirs, each kept a sliver so a worker whose clients start to send is never shut out,
// and an even part when nobody asks.
double part(double mine, double everyone, unsigned workers, double rate);

}  // namespace waygate::shaper
