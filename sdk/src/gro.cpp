#include "waygate/net/gro.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "waygate/burst.hpp"
#include "waygate/net/checksum.hpp"
#include "waygate/net/headers.hpp"

namespace waygate::net {

namespace {

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) { return (std::uint32_t{be16(p)} << 16) | be16(p + 2); }
void put_be16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put_le16(std::uint8_t* p, std::size_t v) {  // the virtio-net header's order on this host
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}

// Where a TCP segment's or a UDP datagram's parts are.
struct Segment {
  bool v6 = false;
  bool udp = false;
  std::size_t ip = 0;  // IP header length
  std::size_t l4 = 0;  // TCP or UDP header length
  std::size_t payload = 0;
  std::uint32_t seq = 0;  // TCP's
  std::uint8_t flags = 0;
};

bool parse(const Packet& p, Segment& s) {
  auto b = p.bytes();
  if (b.size() < net::ipv4_min_header_len + net::udp_header_len) return false;
  std::uint8_t proto = 0;
  if (b[0] == 0x45) {  // IPv4 without options
    if ((be16(&b[6]) & 0x3fff) != 0 || be16(&b[2]) != b.size()) return false;
    proto = b[9];
    s.ip = net::ipv4_min_header_len;
  } else if ((b[0] >> 4) == 6) {
    if (b.size() < net::ipv6_header_len + net::udp_header_len || be16(&b[4]) + net::ipv6_header_len != b.size())
      return false;
    proto = b[6];
    s.v6 = true;
    s.ip = net::ipv6_header_len;
  } else {
    return false;
  }
  const std::uint8_t* t = b.data() + s.ip;
  if (proto == net::ipproto::udp) {
    s.udp = true;
    s.l4 = net::udp_header_len;
    if (be16(t + 4) != b.size() - s.ip) return false;
  } else if (proto == net::ipproto::tcp) {
    if (b.size() < s.ip + net::tcp_min_header_len) return false;
    s.l4 = static_cast<std::size_t>(t[12] >> 4) * 4;
    if (s.l4 < net::tcp_min_header_len || s.ip + s.l4 > b.size()) return false;
    s.seq = be32(t + 4);
    s.flags = t[13];
  } else {
    return false;
  }
  s.payload = b.size() - s.ip - s.l4;
  return true;
}

std::uint32_t pseudo_header(const std::uint8_t* b, const Segment& s, std::size_t l4_length) {
  const std::uint8_t proto = s.udp ? net::ipproto::udp : net::ipproto::tcp;
  if (s.v6)
    return net::pseudo_header_sum_v6(std::span<const std::uint8_t, 16>(b + 8, 16), std::span<const std::uint8_t, 16>(b + 24, 16),
                                     proto, static_cast<std::uint32_t>(l4_length));
  return net::pseudo_header_sum_v4(std::span<const std::uint8_t, 4>(b + 12, 4), std::span<const std::uint8_t, 4>(b + 16, 4),
                                   proto, static_cast<std::uint16_t>(l4_length));
}

// Copies the segment's payload to `out`; whether its checksum holds, summed in the same pass. The
// kernel would have dropped a segment with a bad checksum; glued, it could no longer tell. An
// IPv4 datagram may go without one (0); glued, it gets one.
bool copy_checked(const Packet& p, const Segment& s, std::uint8_t* out) {
  auto b = p.bytes();
  const std::size_t headers = s.ip + s.l4;  // the L4 header's length is even: the sums add up
  const std::uint32_t payload = net::copy_and_sum(b.subspan(headers), out);
  if (s.udp && !s.v6 && be16(&b[s.ip + 6]) == 0) return true;
  return net::fold(net::sum(b.subspan(s.ip, s.l4), pseudo_header(b.data(), s, b.size() - s.ip)) + payload) == 0;
}

// Everything but the lengths, IPv4's identification and checksums, and TCP's sequence number and
// PSH.
bool same_flow(const std::uint8_t* a, const std::uint8_t* b, const Segment& s) {
  if (s.v6) {
    if (std::memcmp(a, b, 4) != 0 || std::memcmp(a + 6, b + 6, 34) != 0) return false;
  } else if (a[1] != b[1] || a[6] != b[6] || std::memcmp(a + 8, b + 8, 2) != 0 || std::memcmp(a + 12, b + 12, 8) != 0) {
    return false;
  }
  const std::uint8_t* ta = a + s.ip;
  const std::uint8_t* tb = b + s.ip;
  if (s.udp) return std::memcmp(ta, tb, 4) == 0;                      // ports
  return std::memcmp(ta, tb, 4) == 0 &&                                // ports
         std::memcmp(ta + 8, tb + 8, 5) == 0 &&                        // acknowledgement, data offset
         std::memcmp(ta + 14, tb + 14, 2) == 0 &&                      // window
         std::memcmp(ta + 20, tb + 20, s.l4 - 20) == 0;                // options (timestamps too)
}

// Whether `s`, after `last`, continues the train `head` starts.
bool continues(const Segment& head, const Segment& last, const Segment& s) {
  if (s.v6 != head.v6 || s.udp != head.udp || s.l4 != head.l4 || s.payload == 0 || s.payload > head.payload)
    return false;
  if (s.udp) return true;
  return (s.flags == net::tcpflag::ack || s.flags == (net::tcpflag::ack | net::tcpflag::psh)) &&
         s.seq == last.seq + static_cast<std::uint32_t>(last.payload);
}

constexpr std::uint8_t kAck = net::tcpflag::ack;

}  // namespace

std::size_t train_length(std::span<Packet* const> packets, bool udp) {
  Segment head;
  if (packets.size() < 2 || !parse(*packets[0], head) || head.payload == 0 || (head.udp && !udp) ||
      (!head.udp && head.flags != kAck))
    return 1;
  Segment last = head;
  std::size_t total = packets[0]->size();
  std::size_t n = 1;
  // A UDP train holds as many datagrams as a UDP_SEGMENT send may (the kernel's UDP_MAX_SEGMENTS).
  const std::size_t most = head.udp ? 64 : packets.size();
  for (; n < std::min(packets.size(), most) && last.payload == head.payload && (head.udp || last.flags == kAck); ++n) {
    const Packet& q = *packets[n];
    Segment s;
    if (!parse(q, s) || !continues(head, last, s) || total + s.payload > kMaxGlued ||
        !same_flow(packets[0]->data(), q.data(), head))
      break;
    total += s.payload;
    last = s;
  }
  return n;
}

void group_by_flow(std::span<Packet*> packets, std::vector<Packet*>& scratch) {
  // Up to kFlows flows are told apart, by a hash of protocol, addresses and ports (two flows that
  // collide just stay interleaved); the rest, and all that is neither TCP nor UDP, share the last
  // group.
  constexpr std::size_t kFlows = 15;
  std::array<std::uint64_t, kFlows> keys{};
  std::array<std::size_t, kFlows + 1> counts{};
  std::size_t flows = 0;
  auto group_of = [&](const Packet& p) -> std::size_t {
    Segment s;
    if (!parse(p, s)) return kFlows;
    const std::uint8_t* b = p.data();
    const std::size_t addresses = s.v6 ? 32 : 8;
    std::uint64_t key = (1469598103934665603ull ^ (s.udp ? 17u : 6u)) * 1099511628211ull;  // FNV-1a
    for (std::size_t i = 0; i < addresses; ++i) key = (key ^ b[(s.v6 ? 8 : 12) + i]) * 1099511628211ull;
    for (std::size_t i = 0; i < 4; ++i) key = (key ^ b[s.ip + i]) * 1099511628211ull;
    for (std::size_t g = 0; g < flows; ++g)
      if (keys[g] == key) return g;
    if (flows == kFlows) return kFlows;
    keys[flows] = key;
    return flows++;
  };
  if (packets.size() < 3 || packets.size() > kBurstMax) return;
  std::array<std::uint8_t, kBurstMax> group;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    group[i] = static_cast<std::uint8_t>(group_of(*packets[i]));
    ++counts[group[i]];
  }
  if (flows + (counts[kFlows] > 0 ? 1 : 0) <= 1) return;  // one group: nothing to move
  std::array<std::size_t, kFlows + 1> at{};
  for (std::size_t g = 1; g <= kFlows; ++g) at[g] = at[g - 1] + counts[g - 1];
  scratch.resize(packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) scratch[at[group[i]]++] = packets[i];
  std::copy(scratch.begin(), scratch.end(), packets.begin());
}

GluedTrain glue(std::span<Packet* const> train, std::uint8_t* out) {
  Segment head, last;
  parse(*train.front(), head);
  const std::size_t headers = head.ip + head.l4;
  std::uint8_t* packet = out + kVnetHeaderSize;
  std::memcpy(packet, train.front()->data(), headers);
  std::size_t total = headers, glued = 0;
  for (Packet* p : train) {
    Segment s;
    parse(*p, s);
    if (!copy_checked(*p, s, packet + total)) break;  // what it copied is written over, or left past the end
    total += s.payload;
    last = s;
    ++glued;
  }
  if (glued < 2) return {glued, 0};
  if (head.v6) {
    put_be16(packet + 4, total - head.ip);
  } else {
    put_be16(packet + 2, total);
    put_be16(packet + net::ipv4_checksum_offset, 0);
    put_be16(packet + net::ipv4_checksum_offset, net::checksum({packet, head.ip}));
  }
  std::uint8_t* l4 = packet + head.ip;
  // Only the pseudo-header's sum, not complemented: the kernel adds the rest as it cuts. A UDP
  // train's length is the whole one's, as a UDP_SEGMENT send leaves it: the kernel moves it to
  // each datagram's as it cuts.
  const std::size_t checksum = head.udp ? net::udp_checksum_offset : net::tcp_checksum_offset;
  if (head.udp) put_be16(l4 + 4, total - head.ip);
  else l4[13] = last.flags;
  put_be16(l4 + checksum, pseudo_header(packet, head, total - head.ip));

  out[0] = kVnetNeedsCsum;
  out[1] = head.udp ? kVnetGsoUdpL4 : head.v6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4;
  put_le16(out + 2, headers);       // hdr_len
  put_le16(out + 4, head.payload);  // gso_size
  put_le16(out + 6, head.ip);       // csum_start
  put_le16(out + 8, checksum);      // csum_offset
  return {glued, kVnetHeaderSize + total};
}

GlueBuffers::GlueBuffers(bool udp) : udp_(udp), memory_(std::make_unique_for_overwrite<std::uint8_t[]>(kCount * (kVnetHeaderSize + kMaxGlued))) {
  for (std::size_t i = 0; i < kCount; ++i)
    slots_[i].packet = Packet(memory_.get() + i * (kVnetHeaderSize + kMaxGlued), kVnetHeaderSize + kMaxGlued, 0);
}

GlueBuffers::Glued GlueBuffers::take(std::span<Packet* const> packets, Pool& pool) {
  Slot* slot = nullptr;
  for (auto& s : slots_) {
    if (s.held.packets == 0) slot = &s;
  }
  std::size_t n = train_length(packets, udp_);
  if (n < 2) return {};
  if (slot == nullptr) return {.count = n, .starved = true};
  slot->packet.reset(0);
  const GluedTrain glued = glue(packets.first(n), slot->packet.data());
  if (glued.segments < 2) return {};  // its second segment's checksum did not hold: the first goes alone
  n = glued.segments;
  slot->packet.resize(glued.bytes);
  slot->held = {static_cast<std::uint32_t>(n), 0};
  for (Packet* p : packets.first(n)) {
    slot->held.bytes += p->size();
    pool.free(p);
  }
  return {&slot->packet, static_cast<std::size_t>(slot - slots_.data()), n};
}

GlueBuffers::Done GlueBuffers::done(std::size_t buffer) {
  return std::exchange(slots_.at(buffer).held, Done{0, 0});
}

void GlueBuffers::reset() {
  for (auto& s : slots_) s.held = {0, 0};
}

bool add_plain_header(Packet& p) {
  std::uint8_t* h = p.prepend(kVnetHeaderSize);
  if (h == nullptr) return false;
  std::memset(h, 0, kVnetHeaderSize);
  return true;
}

}  // namespace waygate::net
