// libFuzzer target for waygate/net/headers.hpp and checksum.hpp.
//
// Feeds arbitrary bytes to parse_packet() and parse_embedded(); on success it
// checks the structural invariants callers rely on (offsets inside the
// buffer, ports only where an L4 header exists, ...) and then does a NAT-style
// incremental rewrite whose result must verify like a full recomputation.
// Any violation hits __builtin_trap() so the fuzzer records a crash.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
//       -Isdk/include tests/fuzz/fuzz_headers.cpp -o /tmp/fuzz_headers
//   /tmp/fuzz_headers -max_total_time=60 tests/fuzz/corpus/headers
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "waygate/net/checksum.hpp"
#include "waygate/net/headers.hpp"

namespace net = waygate::net;

namespace {

#define FUZZ_CHECK(cond)            \
    do {                            \
        if (!(cond)) __builtin_trap(); \
    } while (0)

void check_info(std::span<const std::uint8_t> b, const net::ParseResult& r, bool embedded) {
    const net::PacketInfo& p = r.info;
    FUZZ_CHECK(r.ok());
    FUZZ_CHECK(p.version == 4 || p.version == 6);
    FUZZ_CHECK(p.total_len_present == b.size());
    FUZZ_CHECK(p.l3_header_len == p.l4_offset);
    FUZZ_CHECK(p.l4_offset <= p.packet_end());
    FUZZ_CHECK(p.packet_end() <= b.size());
    if (!embedded) FUZZ_CHECK(p.total_len_claimed <= b.size());
    FUZZ_CHECK(p.trailing_bytes == (b.size() > p.total_len_claimed ? b.size() - p.total_len_claimed : 0));
    FUZZ_CHECK(p.l4_len() == p.packet_end() - p.l4_offset);

    if (p.version == 4) {
        FUZZ_CHECK(p.l3_header_len == static_cast<std::size_t>(b[0] & 0x0F) * 4);
        FUZZ_CHECK(p.l3_header_len >= 20);
        FUZZ_CHECK(p.src.is_v4() && p.dst.is_v4());
        FUZZ_CHECK(p.protocol == b[9]);
    } else {
        FUZZ_CHECK(p.l3_header_len >= 40 && (p.l3_header_len - 40) % 8 == 0);
        FUZZ_CHECK(p.src.is_v6() && p.dst.is_v6());
    }

    if (p.non_first_fragment) {
        FUZZ_CHECK(p.is_fragment);
        FUZZ_CHECK(!p.has_ports && !p.is_icmp && !p.has_icmp_id && p.tcp_flags == 0);
    }
    FUZZ_CHECK(!(p.has_ports && p.is_icmp));
    if (p.has_ports) {
        FUZZ_CHECK(p.protocol == net::ipproto::tcp || p.protocol == net::ipproto::udp);
        FUZZ_CHECK(p.l4_len() >= 8);
        FUZZ_CHECK(net::read_be16(b, p.l4_offset) == p.src_port);
        FUZZ_CHECK(net::read_be16(b, p.l4_offset + 2) == p.dst_port);
    }
    if (p.is_icmp) {
        FUZZ_CHECK(p.l4_len() >= 8);
        FUZZ_CHECK(b[p.l4_offset] == p.icmp_type);
    }
    if (p.has_icmp_id) FUZZ_CHECK(p.is_icmp);
    if (!embedded && !p.is_fragment && p.l4_header_len != 0)
        FUZZ_CHECK(p.l4_offset + p.l4_header_len <= p.packet_end());
    if (!embedded && !p.is_fragment && p.protocol == net::ipproto::tcp) FUZZ_CHECK(p.l4_header_len >= 20);

    // Must not crash, whatever the input.
    (void)p.src.to_string();
    (void)p.dst.to_string();
    const net::Flow f = net::flow_of(p);
    FUZZ_CHECK(f.reversed().reversed() == f);
    FUZZ_CHECK(net::hash_symmetric(f, 7) == net::hash_symmetric(f.reversed(), 7));
    (void)net::l4_checksum(b, p);
    (void)net::ipv4_header_checksum(b);
}

// Fix up checksums, rewrite source address and port incrementally, and check
// that the packet still verifies exactly like a full recomputation says.
void check_incremental(std::span<const std::uint8_t> in, const net::PacketInfo& p) {
    if (!p.has_ports || p.is_fragment) return;
    std::vector<std::uint8_t> buf(in.begin(), in.end());
    std::span<std::uint8_t> w(buf);
    const std::size_t coff = p.l4_offset + *net::l4_checksum_offset(p.version, p.protocol);
    const auto c0 = net::l4_checksum(buf, p);
    if (!c0) return;
    FUZZ_CHECK(net::write_be16(w, coff, *c0));
    FUZZ_CHECK(net::l4_checksum_ok(buf, p));
    if (p.version == 4) FUZZ_CHECK(net::ipv4_set_header_checksum(w));

    // New address: old bytes reversed and perturbed; new port: old one rotated.
    const std::size_t aoff = p.version == 4 ? 12 : 8;
    const std::size_t alen = p.version == 4 ? 4 : 16;
    std::vector<std::uint8_t> old_addr(buf.begin() + static_cast<std::ptrdiff_t>(aoff),
                                       buf.begin() + static_cast<std::ptrdiff_t>(aoff + alen));
    std::vector<std::uint8_t> new_addr(old_addr.rbegin(), old_addr.rend());
    new_addr[0] = static_cast<std::uint8_t>(new_addr[0] ^ 0x5A);
    const std::uint16_t old_port = p.src_port;
    const auto new_port = static_cast<std::uint16_t>((old_port << 3) | (old_port >> 13));

    std::uint16_t c = *net::read_be16(buf, coff);
    if (p.protocol == net::ipproto::udp) {
        c = net::udp_update_bytes(c, old_addr, new_addr);
        c = net::udp_update16(c, old_port, new_port);
        FUZZ_CHECK(c != 0);
    } else {
        c = net::update_bytes(c, old_addr, new_addr);
        c = net::update16(c, old_port, new_port);
    }
    FUZZ_CHECK(net::write_be16(w, coff, c));
    if (p.version == 4) {
        const std::uint16_t ipc = *net::read_be16(buf, 10);
        FUZZ_CHECK(net::write_be16(w, 10, net::update_bytes(ipc, old_addr, new_addr)));
    }
    for (std::size_t i = 0; i < alen; ++i) buf[aoff + i] = new_addr[i];
    FUZZ_CHECK(net::write_be16(w, p.l4_offset, new_port));

    const auto r2 = net::parse_packet(buf);
    FUZZ_CHECK(r2.ok());
    FUZZ_CHECK(r2.info.src_port == new_port);
    FUZZ_CHECK(net::l4_checksum(buf, r2.info) == c);
    FUZZ_CHECK(net::l4_checksum_ok(buf, r2.info));
    if (p.version == 4) FUZZ_CHECK(net::ipv4_header_checksum_ok(buf));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> b(data, size);

    const net::ParseResult strict = net::parse_packet(b);
    FUZZ_CHECK(!net::to_string(strict.error).empty());
    if (strict.ok()) {
        check_info(b, strict, false);
        check_incremental(b, strict.info);
    }

    const net::ParseResult emb = net::parse_embedded(b);
    if (emb.ok()) {
        check_info(b, emb, true);
        if (strict.ok()) {
            FUZZ_CHECK(emb.info.src == strict.info.src && emb.info.dst == strict.info.dst);
            FUZZ_CHECK(emb.info.protocol == strict.info.protocol);
            FUZZ_CHECK(emb.info.l4_offset == strict.info.l4_offset);
            FUZZ_CHECK(emb.info.src_port == strict.info.src_port);
            FUZZ_CHECK(emb.info.icmp_id == strict.info.icmp_id);
        }
    } else {
        // Embedded parsing is strictly more lenient.
        FUZZ_CHECK(!strict.ok());
    }

    // Checked accessors at arbitrary offsets never read out of range.
    if (size >= 2) {
        const std::size_t off = data[0] | (static_cast<std::size_t>(data[1]) << 8);
        const auto v16 = net::read_be16(b, off);
        FUZZ_CHECK(v16.has_value() == (off + 2 <= size));
        const auto v32 = net::read_be32(b, off);
        FUZZ_CHECK(v32.has_value() == (off + 4 <= size));
    }
    // Whole-buffer checksum: appending it must verify to zero (even sizes).
    if (size % 2 == 0) {
        const std::uint16_t c = net::checksum(b);
        const std::uint8_t tail[2] = {static_cast<std::uint8_t>(c >> 8), static_cast<std::uint8_t>(c)};
        FUZZ_CHECK(net::fold(net::sum(tail, net::sum(b))) == 0);
    }
    return 0;
}
