#include "waygate/net/gso.hpp"

#include <algorithm>
#include <cstring>

#include "waygate/net/checksum.hpp"
#include "waygate/net/headers.hpp"

namespace waygate::net {

namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void put16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}

}  // namespace

Cut cut(const VnetHeader& h, std::span<const std::uint8_t> ip, Pool& pool, std::vector<Packet*>& out) {
  const bool udp = h.gso_type == kVnetGsoUdpL4;
  if ((h.gso_type != kVnetGsoTcpV4 && h.gso_type != kVnetGsoTcpV6 && !udp) || h.gso_size == 0 || ip.size() < 20)
    return Cut::malformed;
  // TCP's kind names the family; UDP's is the packet's own.
  const bool v6 = udp ? (ip[0] >> 4) == 6 : h.gso_type == kVnetGsoTcpV6;
  const std::uint8_t protocol = udp ? net::ipproto::udp : net::ipproto::tcp;
  std::size_t iph = 0;
  if (!v6 && (ip[0] >> 4) == 4 && ip[9] == protocol) iph = std::size_t{ip[0] & 0x0fu} * 4;
  else if (v6 && (ip[0] >> 4) == 6 && ip.size() >= 40 && ip[6] == protocol) iph = 40;
  if (iph < 20 || ip.size() < iph + (udp ? 8 : 20)) return Cut::malformed;
  const std::size_t headers = iph + (udp ? 8 : static_cast<std::size_t>(ip[iph + 12] >> 4) * 4);
  if (headers < iph + 8 || (!udp && headers < iph + 20) || headers > ip.size()) return Cut::malformed;
  const std::size_t payload = ip.size() - headers;
  const std::uint32_t seq = udp ? 0 : be32(&ip[iph + 4]);
  const std::uint16_t id = static_cast<std::uint16_t>((ip[4] << 8) | ip[5]);
  const std::uint8_t flags = udp ? 0 : ip[iph + 13];
  for (std::size_t at = 0, k = 0; at < payload || k == 0; at += h.gso_size, ++k) {
    const std::size_t n = std::min<std::size_t>(h.gso_size, payload - at);
    const bool last = at + n >= payload;
    Packet* p = pool.alloc();
    if (p == nullptr) return Cut::no_buffer;
    if (!p->resize(headers + n)) {
      pool.free(p);
      return Cut::malformed;
    }
    std::uint8_t* b = p->data();
    std::memcpy(b, ip.data(), headers);
    const std::uint32_t payload_sum = net::copy_and_sum(ip.subspan(headers + at, n), b + headers);
    if (v6) {
      put16(b + 4, headers + n - 40);
    } else {
      put16(b + 2, headers + n);
      put16(b + 4, static_cast<std::uint16_t>(id + k));  // as GSO numbers them
      put16(b + net::ipv4_checksum_offset, 0);
      put16(b + net::ipv4_checksum_offset, net::checksum({b, iph}));
    }
    std::uint8_t* l4 = b + iph;
    const std::size_t l4_size = headers - iph + n;
    std::size_t checksum_at = net::udp_checksum_offset;
    if (udp) {
      put16(l4 + 4, l4_size);
    } else {
      put32(l4 + 4, seq + static_cast<std::uint32_t>(at));
      // FIN and PSH belong to the last segment, CWR to the first.
      l4[13] = static_cast<std::uint8_t>(flags & ~((last ? 0 : net::tcpflag::fin | net::tcpflag::psh) |
                                                   (k == 0 ? 0 : net::tcpflag::cwr)));
      checksum_at = net::tcp_checksum_offset;
    }
    put16(l4 + checksum_at, 0);
    const std::uint32_t pseudo =
        v6 ? net::pseudo_header_sum_v6(std::span<const std::uint8_t, 16>(b + 8, 16),
                                       std::span<const std::uint8_t, 16>(b + 24, 16), protocol,
                                       static_cast<std::uint32_t>(l4_size))
           : net::pseudo_header_sum_v4(std::span<const std::uint8_t, 4>(b + 12, 4),
                                       std::span<const std::uint8_t, 4>(b + 16, 4), protocol,
                                       static_cast<std::uint16_t>(l4_size));
    // The headers' sum and the payload's, taken as it was copied (the headers' length is even).
    std::uint16_t sum = net::fold(net::sum16(static_cast<std::uint16_t>(payload_sum), net::sum({l4, headers - iph}, pseudo)));
    if (udp && sum == 0) sum = 0xffff;  // 0 would mean "no checksum"
    put16(l4 + checksum_at, sum);
    out.push_back(p);
  }
  return Cut::ok;
}

bool finish_checksum(std::span<std::uint8_t> ip, std::size_t start, std::size_t offset) {
  if (start + offset + 2 > ip.size()) return false;
  std::uint16_t sum = net::checksum(ip.subspan(start));
  if (sum == 0) sum = 0xffff;  // as the kernel writes it (0 means "no checksum" for UDP)
  put16(&ip[start + offset], sum);
  return true;
}

Cut take_apart(const VnetHeader& h, std::span<const std::uint8_t> ip, Pool& pool, std::vector<Packet*>& out) {
  if (h.gso_type != kVnetGsoNone) return cut(h, ip, pool, out);
  Packet* p = pool.alloc();
  if (p == nullptr) return Cut::no_buffer;
  if (!p->resize(ip.size())) {
    pool.free(p);
    return Cut::malformed;
  }
  std::memcpy(p->data(), ip.data(), ip.size());
  if ((h.flags & kVnetNeedsCsum) != 0 && !finish_checksum(p->bytes(), h.csum_start, h.csum_offset)) {
    pool.free(p);
    return Cut::malformed;
  }
  out.push_back(p);
  return Cut::ok;
}

ReadBuffers::ReadBuffers(std::size_t count)
    : memory_(std::make_unique_for_overwrite<std::uint8_t[]>(count * kSize)) {
  packets_.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    packets_.emplace_back(memory_.get() + i * kSize, static_cast<std::uint32_t>(kSize), 0);
}

Packet* ReadBuffers::operator[](std::size_t i) {
  packets_[i].reset(0);
  return &packets_[i];
}

}  // namespace waygate::net
