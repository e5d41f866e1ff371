// Gluing TCP segments (and UDP datagrams) for a virtio-net TUN device: which runs form a train,
// and that the glued packet is what the kernel's GRO would have built (lengths, header, checksum
// to be finished); and cutting such a packet again into the segments it stands for.
#include "waygate/net/gro.hpp"
#include "waygate/net/gso.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "waygate/net/checksum.hpp"
#include "waygate/pool.hpp"

namespace {

using waygate::Packet;
namespace net = waygate::net;

constexpr std::size_t kMss = 1000;

// The pseudo-header's sum of the IP packet at `b` for its TCP (6) or UDP (17) part of `l4` bytes.
std::uint32_t pseudo_sum(const std::uint8_t* b, bool v6, std::uint8_t proto, std::size_t l4) {
  if (v6)
    return net::pseudo_header_sum_v6(std::span<const std::uint8_t, 16>(b + 8, 16), std::span<const std::uint8_t, 16>(b + 24, 16),
                                     proto, static_cast<std::uint32_t>(l4));
  return net::pseudo_header_sum_v4(std::span<const std::uint8_t, 4>(b + 12, 4), std::span<const std::uint8_t, 4>(b + 16, 4),
                                   proto, static_cast<std::uint16_t>(l4));
}

struct Flow {
  bool v6 = false;
  std::uint8_t last_octet = 2;  // of the destination
  std::uint32_t ack = 777;
  std::uint8_t timestamp = 1;   // in the TCP options
};

// A TCP segment with valid checksums: NOP NOP and a timestamp option, payload bytes seq+i.
void segment(Packet& p, const Flow& f, std::uint32_t seq, std::size_t payload, std::uint8_t flags = 0x10) {
  const std::size_t ip = f.v6 ? 40 : 20, tcp = 32;
  p.reset(64);
  p.resize(ip + tcp + payload);
  std::uint8_t* b = p.data();
  std::memset(b, 0, ip + tcp);
  if (f.v6) {
    b[0] = 0x60;
    b[4] = static_cast<std::uint8_t>((tcp + payload) >> 8);
    b[5] = static_cast<std::uint8_t>(tcp + payload);
    b[6] = 6;
    b[7] = 64;
    b[8] = 0xfd;
    b[23] = 1;
    b[24] = 0xfd;
    b[39] = f.last_octet;
  } else {
    b[0] = 0x45;
    b[2] = static_cast<std::uint8_t>(p.size() >> 8);
    b[3] = static_cast<std::uint8_t>(p.size());
    b[5] = static_cast<std::uint8_t>(seq);  // identification: differs from segment to segment
    b[6] = 0x40;                            // DF
    b[8] = 64;
    b[9] = 6;
    b[12] = 10, b[15] = 1;
    b[16] = 10, b[19] = f.last_octet;
    std::uint16_t c = net::checksum({b, 20});
    b[10] = static_cast<std::uint8_t>(c >> 8);
    b[11] = static_cast<std::uint8_t>(c);
  }
  std::uint8_t* t = b + ip;
  t[0] = 0x30, t[1] = 0x39, t[2] = 0x00, t[3] = 0x50;
  for (int i = 0; i < 4; ++i) t[4 + i] = static_cast<std::uint8_t>(seq >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) t[8 + i] = static_cast<std::uint8_t>(f.ack >> (24 - 8 * i));
  t[12] = 0x80;  // 32-byte header
  t[13] = flags;
  t[14] = 0x01, t[15] = 0xf5;
  t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10, t[27] = f.timestamp;
  for (std::size_t i = 0; i < payload; ++i) t[tcp + i] = static_cast<std::uint8_t>(seq + i);
  std::uint32_t pseudo = pseudo_sum(b, f.v6, 6, tcp + payload);
  std::uint16_t c = net::checksum({t, tcp + payload}, pseudo);
  t[16] = static_cast<std::uint8_t>(c >> 8);
  t[17] = static_cast<std::uint8_t>(c);
}

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

class Coalesce : public ::testing::Test {
 protected:
  waygate::Pool pool{128, 2048, 64};
  std::vector<Packet*> packets;
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(waygate::net::kVnetHeaderSize + waygate::net::kMaxGlued);

  Packet& add(const Flow& f, std::uint32_t seq, std::size_t payload, std::uint8_t flags = 0x10) {
    packets.push_back(pool.alloc());
    segment(*packets.back(), f, seq, payload, flags);
    return *packets.back();
  }
  std::size_t length() { return waygate::net::train_length(packets); }
};

TEST_F(Coalesce, OneFlowsSegmentsGlueAsTheKernelsGroWould) {
  for (bool v6 : {false, true}) {
    packets.clear();
    Flow f{v6};
    for (int i = 0; i < 5; ++i) add(f, 1000 + i * kMss, kMss);
    add(f, 1000 + 5 * kMss, 300, 0x18);  // shorter, with PSH: the last
    add(f, 1000 + 5 * kMss + 300, kMss);
    ASSERT_EQ(length(), 6u) << v6;

    std::size_t n = waygate::net::glue(std::span(packets).first(6), out.data()).bytes;
    const std::size_t ip = v6 ? 40 : 20, headers = ip + 32, total = headers + 5 * kMss + 300;
    ASSERT_EQ(n, waygate::net::kVnetHeaderSize + total);
    const std::uint8_t* h = out.data();
    EXPECT_EQ(h[0], waygate::net::kVnetNeedsCsum);
    EXPECT_EQ(h[1], v6 ? waygate::net::kVnetGsoTcpV6 : waygate::net::kVnetGsoTcpV4);
    EXPECT_EQ(le16(h + 2), headers);
    EXPECT_EQ(le16(h + 4), kMss);
    EXPECT_EQ(le16(h + 6), ip);
    EXPECT_EQ(le16(h + 8), 16);

    const std::uint8_t* b = h + waygate::net::kVnetHeaderSize;
    if (v6) {
      EXPECT_EQ(be16(b + 4), total - 40);
    } else {
      EXPECT_EQ(be16(b + 2), total);
      EXPECT_EQ(net::checksum({b, 20}), 0);  // the header's checksum is whole again
    }
    const std::uint8_t* t = b + ip;
    EXPECT_EQ(t[13], 0x18);  // PSH from the last
    EXPECT_EQ(std::memcmp(t, packets[0]->data() + ip, 13), 0);  // ports, first seq, ack, offset
    for (std::size_t i = 0; i < 5 * kMss + 300; ++i) ASSERT_EQ(b[headers + i], static_cast<std::uint8_t>(1000 + i)) << i;

    // Finishing the checksum as the kernel does (summing from csum_start, the pseudo-header's sum
    // already in the field) gives the whole packet's true checksum.
    std::vector<std::uint8_t> whole(b, b + total);
    std::uint16_t finished = net::checksum({whole.data() + ip, total - ip});
    whole[ip + 16] = whole[ip + 17] = 0;
    std::uint32_t pseudo = pseudo_sum(whole.data(), v6, 6, total - ip);
    EXPECT_EQ(finished, net::checksum({whole.data() + ip, total - ip}, pseudo));
    for (Packet* p : packets) pool.free(p);
  }
}

TEST_F(Coalesce, AnythingTheKernelWouldNotMergeEndsTheTrain) {
  Flow f;
  auto starts_with_two = [&](auto&& second) {
    for (Packet* p : packets) pool.free(p);
    packets.clear();
    add(f, 1000, kMss);
    second();
    return length();
  };
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss, kMss); }), 2u);
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss + 1, kMss); }), 1u);  // a gap
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss, kMss + 1); }), 1u);  // longer than the first
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss, 0); }), 1u);         // a bare ACK
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss, kMss, 0x11); }), 1u);  // FIN
  EXPECT_EQ(starts_with_two([&] { add({false, 3}, 1000 + kMss, kMss); }), 1u);  // another flow
  EXPECT_EQ(starts_with_two([&] { add({false, 2, 778}, 1000 + kMss, kMss); }), 1u);  // another ACK
  EXPECT_EQ(starts_with_two([&] { add({false, 2, 777, 2}, 1000 + kMss, kMss); }), 1u);  // options
  EXPECT_EQ(starts_with_two([&] { add({true}, 1000 + kMss, kMss); }), 1u);  // IPv6 after IPv4
  // A corrupt second segment makes a train by its headers; glue() finds it as it copies, and ends
  // the train before it.
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss, kMss).data()[60] ^= 1; }), 2u);
  EXPECT_EQ(waygate::net::glue(packets, out.data()).segments, 1u);
  EXPECT_EQ(starts_with_two([&] { add(f, 1000 + kMss, kMss).data()[6] |= 0x20; }), 1u);  // a fragment
  // A train needs a plain ACK at its head, and stops after a shorter segment or a PSH.
  for (Packet* p : packets) pool.free(p);
  packets.clear();
  add(f, 1000, kMss, 0x18);
  add(f, 1000 + kMss, kMss);
  EXPECT_EQ(length(), 1u);
  packets.erase(packets.begin());
  add(f, 1000 + 2 * kMss, 10, 0x18);
  add(f, 1000 + 2 * kMss + 10, kMss);
  EXPECT_EQ(length(), 2u);
  // 64 KiB at most.
  for (Packet* p : packets) pool.free(p);
  packets.clear();
  for (int i = 0; i < 70; ++i) add(f, 1000 + i * kMss, kMss);
  EXPECT_EQ(length(), (waygate::net::kMaxGlued - 52) / kMss);
  for (Packet* p : packets) pool.free(p);
}

// Cutting a glued packet gives back its segments: their TCP headers, flags (PSH on the last
// only) and payloads as they were, each with whole, valid checksums.
TEST_F(Coalesce, CutUndoesGlue) {
  for (bool v6 : {false, true}) {
    for (Packet* p : packets) pool.free(p);
    packets.clear();
    Flow f{v6};
    for (int i = 0; i < 7; ++i) add(f, 5000 + i * kMss, kMss);
    add(f, 5000 + 7 * kMss, 123, 0x18);
    ASSERT_EQ(length(), 8u);
    std::size_t n = waygate::net::glue(packets, out.data()).bytes;
    waygate::net::VnetHeader h;
    std::memcpy(&h, out.data(), sizeof h);
    std::vector<Packet*> cut;
    ASSERT_EQ(waygate::net::cut(h, {out.data() + waygate::net::kVnetHeaderSize, n - waygate::net::kVnetHeaderSize}, pool, cut),
              waygate::net::Cut::ok);
    ASSERT_EQ(cut.size(), packets.size());
    const std::size_t ip = v6 ? 40 : 20;
    for (std::size_t i = 0; i < cut.size(); ++i) {
      const Packet& a = *cut[i];
      const Packet& b = *packets[i];
      ASSERT_EQ(a.size(), b.size()) << i;
      EXPECT_EQ(std::memcmp(a.data() + ip, b.data() + ip, a.size() - ip), 0) << i;  // TCP, checksum included
      if (v6) EXPECT_EQ(std::memcmp(a.data(), b.data(), 40), 0) << i;
      else EXPECT_EQ(net::checksum({a.data(), 20}), 0) << i;
    }
    for (Packet* p : cut) pool.free(p);
  }
  waygate::net::VnetHeader udp{0, 5, 0, 1000, 0, 0};  // UDP segmentation of a TCP packet
  std::vector<Packet*> none;
  EXPECT_EQ(waygate::net::cut(udp, packets[0]->bytes(), pool, none), waygate::net::Cut::malformed);
  EXPECT_TRUE(none.empty());
}

// Interleaved flows are brought together, each in its own order, what is not TCP after them, and
// each flow then forms one train.
TEST_F(Coalesce, GroupingByFlowMakesInterleavedFlowsTrains) {
  Flow a{false, 2}, b{false, 3}, c{true, 4};
  for (int i = 0; i < 4; ++i) {
    add(a, 100 + i * kMss, kMss);
    add(b, 900 + i * kMss, kMss);
    add(c, 500 + i * kMss, kMss);
  }
  Packet& udp = add(a, 1, 10);
  udp.data()[9] = 17;  // no longer TCP
  std::vector<Packet*> before = packets, scratch;
  scratch.reserve(packets.size());
  waygate::net::group_by_flow(packets, scratch);
  ASSERT_EQ(packets.size(), before.size());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(packets[i], before[3 * i]);
    EXPECT_EQ(packets[4 + i], before[3 * i + 1]);
    EXPECT_EQ(packets[8 + i], before[3 * i + 2]);
  }
  EXPECT_EQ(packets[12], &udp);
  for (std::size_t at : {0u, 4u, 8u}) EXPECT_EQ(waygate::net::train_length(std::span(packets).subspan(at)), 4u) << at;
  for (Packet* p : packets) pool.free(p);
  packets.clear();
}

// Each train borrows a buffer until its write completes. With every buffer lent, a train is
// handed back whole, to be written segment by segment and counted, not one packet at a time.
TEST_F(Coalesce, TrainsBorrowBuffersUntilTheirWriteIsDone) {
  waygate::net::GlueBuffers glue;
  Flow f;
  std::vector<std::size_t> lent;
  for (std::size_t t = 0; t < waygate::net::GlueBuffers::kCount; ++t) {
    packets.clear();
    add(f, 100, kMss);
    add(f, 100 + kMss, kMss);
    auto g = glue.take(packets, pool);
    ASSERT_NE(g.packet, nullptr) << t;
    EXPECT_EQ(g.count, 2u);
    EXPECT_FALSE(g.starved);
    lent.push_back(g.buffer);
  }
  packets.clear();
  for (int i = 0; i < 3; ++i) add(f, 100 + i * kMss, kMss);
  add(f, 1, 10).data()[9] = 17;  // not TCP: no train
  auto starved = glue.take(packets, pool);
  EXPECT_EQ(starved.packet, nullptr);
  EXPECT_EQ(starved.count, 3u);
  EXPECT_TRUE(starved.starved);
  auto alone = glue.take(std::span(packets).subspan(3), pool);
  EXPECT_EQ(alone.packet, nullptr);
  EXPECT_EQ(alone.count, 1u);
  EXPECT_FALSE(alone.starved);  // no train: nothing was lost
  auto done = glue.done(lent[5]);
  EXPECT_EQ(done.packets, 2u);
  EXPECT_EQ(done.bytes, 2 * packets[0]->size());
  auto again = glue.take(packets, pool);
  ASSERT_NE(again.packet, nullptr);
  EXPECT_EQ(again.buffer, lent[5]);
  EXPECT_EQ(again.count, 3u);
  pool.free(packets[3]);
  packets.clear();
  EXPECT_EQ(pool.available(), pool.capacity());
}

// A TUN device with TSO hands over either a train to cut or one packet whose checksum is left to
// finish; each comes out as the segments a network would carry, with whole checksums.
TEST_F(Coalesce, AReadIsTakenApartIntoWholePackets) {
  using waygate::net::Cut;
  using waygate::net::VnetHeader;
  for (bool v6 : {false, true}) {
    const std::size_t ip = v6 ? 40 : 20;
    Packet& whole = add(Flow{v6}, 9000, 300, 0x18);
    std::vector<std::uint8_t> partial(whole.data(), whole.data() + whole.size());
    const std::uint8_t* b = partial.data();
    const std::uint32_t l4 = static_cast<std::uint32_t>(partial.size() - ip);
    // What the kernel leaves: the pseudo-header's sum, not complemented.
    std::uint32_t pseudo = pseudo_sum(b, v6, 6, l4);
    partial[ip + 16] = static_cast<std::uint8_t>(pseudo >> 8);
    partial[ip + 17] = static_cast<std::uint8_t>(pseudo);
    ASSERT_NE(std::memcmp(partial.data(), whole.data(), whole.size()), 0);
    VnetHeader h{waygate::net::kVnetNeedsCsum, waygate::net::kVnetGsoNone, 0, 0, static_cast<std::uint16_t>(ip), 16};
    std::vector<Packet*> got;
    ASSERT_EQ(waygate::net::take_apart(h, partial, pool, got), Cut::ok);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0]->size(), whole.size());
    EXPECT_EQ(std::memcmp(got[0]->data(), whole.data(), whole.size()), 0) << "v6 " << v6;
    pool.free(got[0]);
    got.clear();
    // Nothing asked: as it came.
    ASSERT_EQ(waygate::net::take_apart(VnetHeader{}, whole.bytes(), pool, got), Cut::ok);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(std::memcmp(got[0]->data(), whole.data(), whole.size()), 0);
    pool.free(got[0]);
    got.clear();
    // A checksum to finish outside the packet, or a packet no pool packet holds: refused.
    h.csum_start = static_cast<std::uint16_t>(partial.size());
    EXPECT_EQ(waygate::net::take_apart(h, partial, pool, got), Cut::malformed);
    std::vector<std::uint8_t> huge(4096, 0x45);
    EXPECT_EQ(waygate::net::take_apart(VnetHeader{}, huge, pool, got), Cut::malformed);
    EXPECT_TRUE(got.empty());
    pool.free(&whole);
    packets.clear();
    // A TSO read: the segments it stands for.
    Flow f{v6};
    for (int i = 0; i < 5; ++i) add(f, 100 + i * kMss, kMss);
    std::size_t n = waygate::net::glue(packets, out.data()).bytes;
    std::memcpy(&h, out.data(), sizeof h);
    ASSERT_EQ(waygate::net::take_apart(h, {out.data() + waygate::net::kVnetHeaderSize, n - waygate::net::kVnetHeaderSize},
                                       pool, got),
              Cut::ok);
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i]->size(), packets[i]->size());
      EXPECT_EQ(std::memcmp(got[i]->data() + ip, packets[i]->data() + ip, got[i]->size() - ip), 0) << i;
      pool.free(got[i]);
    }
    for (Packet* p : packets) pool.free(p);
    packets.clear();
  }
}

// A UDP socket's send with UDP_SEGMENT reaches a TUN device with USO as one packet; cut, it is
// the datagrams the socket asked for, each with its own lengths and checksums.
TEST_F(Coalesce, UdpSegmentationIsCutIntoItsDatagrams) {
  for (bool v6 : {false, true}) {
    const std::size_t ip = v6 ? 40 : 20, payload = 2500, size = 1000;
    std::vector<std::uint8_t> b(ip + 8 + payload);
    if (v6) {
      b[0] = 0x60, b[6] = 17, b[7] = 64, b[8] = 0xfd, b[23] = 1, b[24] = 0xfd, b[39] = 2;
      b[4] = static_cast<std::uint8_t>((8 + payload) >> 8), b[5] = static_cast<std::uint8_t>(8 + payload);
    } else {
      b[0] = 0x45, b[8] = 64, b[9] = 17, b[12] = 10, b[15] = 1, b[16] = 10, b[19] = 2, b[5] = 7;
      b[2] = static_cast<std::uint8_t>(b.size() >> 8), b[3] = static_cast<std::uint8_t>(b.size());
    }
    b[ip] = 0x30, b[ip + 1] = 0x39, b[ip + 2] = 0x01, b[ip + 3] = 0xbb;  // 12345 -> 443
    for (std::size_t i = 0; i < payload; ++i) b[ip + 8 + i] = static_cast<std::uint8_t>(i * 7);
    waygate::net::VnetHeader h{waygate::net::kVnetNeedsCsum, waygate::net::kVnetGsoUdpL4,
                               static_cast<std::uint16_t>(ip + 8), static_cast<std::uint16_t>(size),
                               static_cast<std::uint16_t>(ip), 6};
    std::vector<Packet*> got;
    ASSERT_EQ(waygate::net::take_apart(h, b, pool, got), waygate::net::Cut::ok);
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t k = 0; k < got.size(); ++k) {
      const std::uint8_t* d = got[k]->data();
      const std::size_t n = k < 2 ? size : payload - 2 * size;
      ASSERT_EQ(got[k]->size(), ip + 8 + n) << k;
      EXPECT_EQ(be16(d + ip + 4), 8 + n) << k;  // UDP length
      EXPECT_EQ(std::memcmp(d + ip, b.data() + ip, 4), 0) << k;  // ports
      EXPECT_EQ(std::memcmp(d + ip + 8, b.data() + ip + 8 + k * size, n), 0) << k;
      const std::uint32_t l4 = static_cast<std::uint32_t>(8 + n);
      std::uint32_t pseudo = pseudo_sum(d, v6, 17, l4);
      EXPECT_NE(be16(d + ip + 6), 0) << k;
      EXPECT_EQ(net::checksum({d + ip, l4}, pseudo), 0) << k;  // a whole, valid checksum
      if (v6) {
        EXPECT_EQ(be16(d + 4), 8 + n) << k;
      } else {
        EXPECT_EQ(be16(d + 2), ip + 8 + n) << k;
        EXPECT_EQ(be16(d + 4), 7 + k) << k;  // identification, as GSO numbers them
        EXPECT_EQ(net::checksum({d, 20}), 0) << k;
      }
      pool.free(got[k]);
    }
  }
}

// A UDP datagram with a valid checksum (or none: IPv4's 0) from port 12345 (+ `port`) to 443,
// its payload bytes seq+i.
Packet& datagram(waygate::Pool& pool, bool v6, std::uint8_t seq, std::size_t payload, std::uint16_t port = 0,
                 bool no_checksum = false) {
  Packet& p = *pool.alloc();
  const std::size_t ip = v6 ? 40 : 20;
  p.reset(64);
  p.resize(ip + 8 + payload);
  std::uint8_t* b = p.data();
  std::memset(b, 0, ip + 8);
  if (v6) {
    b[0] = 0x60, b[6] = 17, b[7] = 64, b[8] = 0xfd, b[23] = 1, b[24] = 0xfd, b[39] = 2;
    b[4] = static_cast<std::uint8_t>((8 + payload) >> 8), b[5] = static_cast<std::uint8_t>(8 + payload);
  } else {
    b[0] = 0x45, b[5] = seq, b[6] = 0x40, b[8] = 64, b[9] = 17, b[12] = 10, b[15] = 1, b[16] = 10, b[19] = 2;
    b[2] = static_cast<std::uint8_t>(p.size() >> 8), b[3] = static_cast<std::uint8_t>(p.size());
    std::uint16_t c = net::checksum({b, 20});
    b[10] = static_cast<std::uint8_t>(c >> 8), b[11] = static_cast<std::uint8_t>(c);
  }
  std::uint8_t* u = b + ip;
  const std::uint16_t from = static_cast<std::uint16_t>(12345 + port);
  u[0] = static_cast<std::uint8_t>(from >> 8), u[1] = static_cast<std::uint8_t>(from), u[2] = 0x01, u[3] = 0xbb;
  u[4] = static_cast<std::uint8_t>((8 + payload) >> 8), u[5] = static_cast<std::uint8_t>(8 + payload);
  for (std::size_t i = 0; i < payload; ++i) u[8 + i] = static_cast<std::uint8_t>(seq + i);
  if (!no_checksum) {
    const std::uint32_t l4 = static_cast<std::uint32_t>(8 + payload);
    std::uint32_t pseudo = pseudo_sum(b, v6, 17, l4);
    std::uint16_t c = net::checksum({u, l4}, pseudo);
    if (c == 0) c = 0xffff;
    u[6] = static_cast<std::uint8_t>(c >> 8), u[7] = static_cast<std::uint8_t>(c);
  }
  return p;
}

// A UDP flow's datagrams of one size glue into one train for a device whose kernel takes them
// (USO), as a UDP_SEGMENT send would hand them over; cut again, they are the datagrams they were.
// Not asked for, or anything a UDP_SEGMENT send could not hold, ends the train.
TEST_F(Coalesce, UdpDatagramsOfOneFlowGlueWhereTheKernelTakesThem) {
  for (bool v6 : {false, true}) {
    for (Packet* p : packets) pool.free(p);
    packets.clear();
    const std::size_t ip = v6 ? 40 : 20;
    for (std::uint8_t i = 0; i < 4; ++i) packets.push_back(&datagram(pool, v6, i, 1200));
    packets.push_back(&datagram(pool, v6, 4, 500));  // shorter: the last
    packets.push_back(&datagram(pool, v6, 5, 1200));
    EXPECT_EQ(waygate::net::train_length(packets), 1u) << v6;  // TCP only unless asked
    ASSERT_EQ(waygate::net::train_length(packets, true), 5u) << v6;

    std::size_t n = waygate::net::glue(std::span(packets).first(5), out.data()).bytes;
    const std::size_t total = ip + 8 + 4 * 1200 + 500;
    ASSERT_EQ(n, waygate::net::kVnetHeaderSize + total);
    const std::uint8_t* h = out.data();
    EXPECT_EQ(h[0], waygate::net::kVnetNeedsCsum);
    EXPECT_EQ(h[1], waygate::net::kVnetGsoUdpL4);
    EXPECT_EQ(le16(h + 2), ip + 8);
    EXPECT_EQ(le16(h + 4), 1200);
    EXPECT_EQ(le16(h + 6), ip);
    EXPECT_EQ(le16(h + 8), 6);
    const std::uint8_t* b = h + waygate::net::kVnetHeaderSize;
    EXPECT_EQ(be16(b + ip + 4), total - ip);  // the whole train's UDP length, as UDP_SEGMENT leaves it
    if (!v6) {
      EXPECT_EQ(net::checksum({b, 20}), 0);
    }

    waygate::net::VnetHeader vh;
    std::memcpy(&vh, h, sizeof vh);
    std::vector<Packet*> cut;
    ASSERT_EQ(waygate::net::cut(vh, {b, total}, pool, cut), waygate::net::Cut::ok);
    ASSERT_EQ(cut.size(), 5u);
    for (std::size_t i = 0; i < cut.size(); ++i) {
      ASSERT_EQ(cut[i]->size(), packets[i]->size()) << i;
      // UDP header (its checksum too) and payload as they were.
      EXPECT_EQ(std::memcmp(cut[i]->data() + ip, packets[i]->data() + ip, cut[i]->size() - ip), 0) << i;
      pool.free(cut[i]);
    }
  }
  auto starts_with_two = [&](auto&& second) {
    for (Packet* p : packets) pool.free(p);
    packets.clear();
    packets.push_back(&datagram(pool, false, 0, 1200));
    packets.push_back(&second());
    return waygate::net::train_length(packets, true);
  };
  EXPECT_EQ(starts_with_two([&]() -> Packet& { return datagram(pool, false, 1, 1200); }), 2u);
  EXPECT_EQ(starts_with_two([&]() -> Packet& { return datagram(pool, false, 1, 1200, 0, true); }), 2u);  // no checksum
  EXPECT_EQ(starts_with_two([&]() -> Packet& { return datagram(pool, false, 1, 1201); }), 1u);  // longer
  EXPECT_EQ(starts_with_two([&]() -> Packet& { return datagram(pool, false, 1, 0); }), 1u);     // empty
  EXPECT_EQ(starts_with_two([&]() -> Packet& { return datagram(pool, false, 1, 1200, 1); }), 1u);  // another port
  EXPECT_EQ(starts_with_two([&]() -> Packet& { return datagram(pool, true, 1, 1200); }), 1u);   // IPv6 after IPv4
  EXPECT_EQ(starts_with_two([&]() -> Packet& {
              Packet& p = datagram(pool, false, 1, 1200);
              p.data()[40] ^= 1;
              return p;
            }),
            2u);  // corrupt: a train by its headers, which glue() ends before it
  EXPECT_EQ(waygate::net::glue(packets, out.data()).segments, 1u);
  packets.back()->data()[40] ^= 1;
  EXPECT_EQ(waygate::net::glue(packets, out.data()).segments, 2u) << "and takes once whole again";
  for (Packet* p : packets) pool.free(p);
  packets.clear();
  packets.push_back(&datagram(pool, false, 0, 1200));
  add(Flow{}, 1, 1200);  // TCP to the same host
  EXPECT_EQ(waygate::net::train_length(packets, true), 1u);
  // As many datagrams as one UDP_SEGMENT send holds: 64.
  for (Packet* p : packets) pool.free(p);
  packets.clear();
  for (int i = 0; i < 70; ++i) packets.push_back(&datagram(pool, false, static_cast<std::uint8_t>(i), 100));
  EXPECT_EQ(waygate::net::train_length(packets, true), 64u);
  for (Packet* p : packets) pool.free(p);
  packets.clear();
}

TEST_F(Coalesce, APlainHeaderAsksNothing) {
  Packet& p = add(Flow{}, 1, 10);
  std::size_t before = p.size();
  ASSERT_TRUE(waygate::net::add_plain_header(p));
  EXPECT_EQ(p.size(), before + waygate::net::kVnetHeaderSize);
  for (std::size_t i = 0; i < waygate::net::kVnetHeaderSize; ++i) EXPECT_EQ(p.data()[i], 0);
  EXPECT_EQ(p.data()[waygate::net::kVnetHeaderSize], 0x45);
  pool.free(&p);
}

}  // namespace
