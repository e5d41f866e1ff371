// Tests for waygate/net/checksum.hpp and waygate/net/headers.hpp.
// Packets are built byte by byte here; checksums are cross-checked against a
// deliberately naive reference implementation (one 16-bit word at a time,
// pseudo-header materialised as real bytes) that shares no code with the SDK.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "waygate/packet.hpp"

#include "waygate/net/checksum.hpp"
#include "waygate/net/headers.hpp"

namespace net = waygate::net;
using Bytes = std::vector<std::uint8_t>;
using A4 = std::array<std::uint8_t, 4>;
using A16 = std::array<std::uint8_t, 16>;

namespace {

// ---------------------------------------------------------------------------
// Reference implementation and packet builders
// ---------------------------------------------------------------------------

std::uint16_t ref_checksum(const Bytes& d) {
    std::uint32_t s = 0;
    for (std::size_t i = 0; i < d.size(); i += 2) {
        const std::uint32_t hi = d[i];
        const std::uint32_t lo = i + 1 < d.size() ? d[i + 1] : 0u;
        s += (hi << 8) | lo;
        if (s > 0xFFFFu) s -= 0xFFFFu;  // end-around carry
    }
    return static_cast<std::uint16_t>(~s & 0xFFFFu);
}

void put16(Bytes& b, std::size_t off, std::uint16_t v) {
    b.at(off) = static_cast<std::uint8_t>(v >> 8);
    b.at(off + 1) = static_cast<std::uint8_t>(v & 0xFFu);
}
void put32(Bytes& b, std::size_t off, std::uint32_t v) {
    put16(b, off, static_cast<std::uint16_t>(v >> 16));
    put16(b, off + 2, static_cast<std::uint16_t>(v & 0xFFFFu));
}
std::uint16_t get16(const Bytes& b, std::size_t off) {
    return static_cast<std::uint16_t>((b.at(off) << 8) | b.at(off + 1));
}
Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes tcp_seg(std::uint16_t sp, std::uint16_t dp, std::uint8_t flags, const Bytes& payload,
              const Bytes& options = {}) {
    Bytes t(20 + options.size(), 0);
    put16(t, 0, sp);
    put16(t, 2, dp);
    put32(t, 4, 0x11223344u);  // seq
    put32(t, 8, 0);            // ack
    t[12] = static_cast<std::uint8_t>(((20 + options.size()) / 4) << 4);
    t[13] = flags;
    put16(t, 14, 0xFFFF);  // window
    for (std::size_t i = 0; i < options.size(); ++i) t[20 + i] = options[i];
    return cat(t, payload);
}

Bytes udp_seg(std::uint16_t sp, std::uint16_t dp, const Bytes& payload) {
    Bytes u(8, 0);
    put16(u, 0, sp);
    put16(u, 2, dp);
    put16(u, 4, static_cast<std::uint16_t>(8 + payload.size()));
    return cat(u, payload);
}

Bytes icmp_seg(std::uint8_t type, std::uint8_t code, std::uint16_t id, std::uint16_t seq,
               const Bytes& payload) {
    Bytes m(8, 0);
    m[0] = type;
    m[1] = code;
    put16(m, 4, id);
    put16(m, 6, seq);
    return cat(m, payload);
}

Bytes pseudo4(const A4& s, const A4& d, std::uint8_t proto, std::size_t len) {
    Bytes p;
    p.insert(p.end(), s.begin(), s.end());
    p.insert(p.end(), d.begin(), d.end());
    p.push_back(0);
    p.push_back(proto);
    p.push_back(static_cast<std::uint8_t>(len >> 8));
    p.push_back(static_cast<std::uint8_t>(len & 0xFF));
    return p;
}

Bytes pseudo6(const A16& s, const A16& d, std::uint8_t nh, std::size_t len) {
    Bytes p;
    p.insert(p.end(), s.begin(), s.end());
    p.insert(p.end(), d.begin(), d.end());
    for (int sh = 24; sh >= 0; sh -= 8) p.push_back(static_cast<std::uint8_t>((len >> sh) & 0xFF));
    p.push_back(0);
    p.push_back(0);
    p.push_back(0);
    p.push_back(nh);
    return p;
}

std::size_t csum_off(std::uint8_t proto) {
    switch (proto) {
        case 6: return 16;
        case 17: return 6;
        default: return 2;  // ICMP / ICMPv6
    }
}

// Reference L4 checksum of `seg` (its checksum field is zeroed first).
std::uint16_t ref_l4_checksum_v4(Bytes seg, const A4& s, const A4& d, std::uint8_t proto) {
    put16(seg, csum_off(proto), 0);
    const Bytes data = proto == 1 ? seg : cat(pseudo4(s, d, proto, seg.size()), seg);
    std::uint16_t c = ref_checksum(data);
    if (proto == 17 && c == 0) c = 0xFFFF;
    return c;
}
std::uint16_t ref_l4_checksum_v6(Bytes seg, const A16& s, const A16& d, std::uint8_t proto) {
    put16(seg, csum_off(proto), 0);
    std::uint16_t c = ref_checksum(cat(pseudo6(s, d, proto, seg.size()), seg));
    if (proto == 17 && c == 0) c = 0xFFFF;
    return c;
}

const A4 kSrc4{192, 168, 1, 10};
const A4 kDst4{93, 184, 216, 34};
const A16 kSrc6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const A16 kDst6{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0, 0x02};

struct V4Params {
    std::uint8_t proto = 6;
    A4 src = kSrc4;
    A4 dst = kDst4;
    Bytes options;              // IPv4 options, multiple of 4
    std::uint16_t frag = 0x4000;  // DF
    std::uint16_t id = 0x1c46;
    bool l4_checksum = true;
};

V4Params v4p(std::uint8_t proto) {
    V4Params p;
    p.proto = proto;
    return p;
}

Bytes build_v4(const V4Params& p, Bytes seg) {
    if (p.l4_checksum) put16(seg, csum_off(p.proto), ref_l4_checksum_v4(seg, p.src, p.dst, p.proto));
    const std::size_t ihl = 20 + p.options.size();
    Bytes h(ihl, 0);
    h[0] = static_cast<std::uint8_t>(0x40 | (ihl / 4));
    h[1] = 0;
    put16(h, 2, static_cast<std::uint16_t>(ihl + seg.size()));
    put16(h, 4, p.id);
    put16(h, 6, p.frag);
    h[8] = 64;
    h[9] = p.proto;
    for (int i = 0; i < 4; ++i) {
        h[12 + static_cast<std::size_t>(i)] = p.src[static_cast<std::size_t>(i)];
        h[16 + static_cast<std::size_t>(i)] = p.dst[static_cast<std::size_t>(i)];
    }
    for (std::size_t i = 0; i < p.options.size(); ++i) h[20 + i] = p.options[i];
    put16(h, 10, ref_checksum(h));
    return cat(h, seg);
}

// `ext` is the extension-header chain (already linked internally); its first
// next-header is `first_nh`, and the last one must name `proto`.
Bytes build_v6(std::uint8_t first_nh, std::uint8_t proto, Bytes seg, const Bytes& ext = {},
               bool l4_checksum = true, const A16& src = kSrc6, const A16& dst = kDst6) {
    if (l4_checksum && (proto == 6 || proto == 17 || proto == 58))
        put16(seg, csum_off(proto), ref_l4_checksum_v6(seg, src, dst, proto));
    Bytes h(40, 0);
    h[0] = 0x60;
    h[1] = 0x01;  // flow label bits, irrelevant
    put16(h, 4, static_cast<std::uint16_t>(ext.size() + seg.size()));
    h[6] = first_nh;
    h[7] = 255;
    for (std::size_t i = 0; i < 16; ++i) {
        h[8 + i] = src[i];
        h[24 + i] = dst[i];
    }
    return cat(cat(h, ext), seg);
}

// Generic option-style extension header (hop-by-hop/dstopts/routing) of
// (len8+1)*8 bytes, padded with PadN-ish zeros.
Bytes ext_hdr(std::uint8_t next, std::uint8_t len8) {
    Bytes e(static_cast<std::size_t>(len8 + 1) * 8, 0);
    e[0] = next;
    e[1] = len8;
    return e;
}
Bytes frag_hdr(std::uint8_t next, std::uint16_t offset_bytes, bool more, std::uint32_t id) {
    Bytes e(8, 0);
    e[0] = next;
    put16(e, 2, static_cast<std::uint16_t>((offset_bytes & 0xFFF8u) | (more ? 1u : 0u)));
    put32(e, 4, id);
    return e;
}

std::span<const std::uint8_t> sp(const Bytes& b) { return {b.data(), b.size()}; }

// Invariants any successful parse must satisfy, whatever the input.
void check_invariants(const Bytes& b, std::size_t len, const net::ParseResult& r, bool embedded) {
    ASSERT_TRUE(r.ok());
    const auto& p = r.info;
    EXPECT_TRUE(p.version == 4 || p.version == 6);
    EXPECT_EQ(p.total_len_present, len);
    EXPECT_EQ(p.l3_header_len, p.l4_offset);
    EXPECT_LE(p.l4_offset, p.packet_end());
    EXPECT_LE(p.packet_end(), len);
    if (!embedded) {
        EXPECT_LE(p.total_len_claimed, len);
    }
    EXPECT_EQ(p.trailing_bytes, len > p.total_len_claimed ? len - p.total_len_claimed : 0u);
    if (p.has_ports || p.is_icmp) {
        EXPECT_GE(p.l4_len(), 8u);
    }
    if (p.non_first_fragment) {
        EXPECT_FALSE(p.has_ports);
        EXPECT_FALSE(p.is_icmp);
    }
    if (!embedded && !p.is_fragment && p.l4_header_len != 0) {
        EXPECT_LE(p.l4_offset + p.l4_header_len, p.packet_end());
    }
    EXPECT_EQ(p.src.family(), p.version == 4 ? net::Family::v4 : net::Family::v6);
    (void)b;
}

// Parse every prefix of `pkt` (strict and embedded). Strict parsing of a
// proper prefix must fail because the IP length then exceeds the buffer.
void check_all_prefixes(const Bytes& pkt) {
    for (std::size_t len = 0; len <= pkt.size(); ++len) {
        // Copy into an exact-size heap buffer so ASan catches any overread.
        const Bytes prefix(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(len));
        const auto strict = net::parse_packet(sp(prefix));
        if (len < pkt.size()) {
            EXPECT_FALSE(strict.ok()) << "len " << len;
        } else {
            check_invariants(prefix, len, strict, false);
        }
        if (strict.ok()) check_invariants(prefix, len, strict, false);
        const auto emb = net::parse_embedded(sp(prefix));
        if (emb.ok()) {
            check_invariants(prefix, len, emb, true);
            if (strict.ok()) {
                EXPECT_EQ(emb.info.src_port, strict.info.src_port);
                EXPECT_EQ(emb.info.protocol, strict.info.protocol);
            }
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// Checksum basics
// ---------------------------------------------------------------------------

TEST(Checksum, Rfc1071Example) {
    const Bytes d{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(net::sum(sp(d)), 0xddf2u);
    EXPECT_EQ(net::fold(net::sum(sp(d))), 0x220d);
    EXPECT_EQ(net::checksum(sp(d)), 0x220d);
    EXPECT_EQ(ref_checksum(d), 0x220d);
    // Appending the checksum makes the whole verify to zero.
    Bytes v = d;
    v.push_back(0x22);
    v.push_back(0x0d);
    EXPECT_EQ(net::checksum(sp(v)), 0);
}

TEST(Checksum, ConstexprAndEdgeCases) {
    static constexpr std::array<std::uint8_t, 8> d{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    static_assert(net::checksum(d) == 0x220d);
    EXPECT_EQ(net::sum({}), 0u);
    EXPECT_EQ(net::checksum({}), 0xFFFF);
    EXPECT_EQ(net::fold(0xFFFF), 0x0000);
    EXPECT_EQ(net::fold(0x1FFFE), 0x0000);  // 0xFFFE + 1 carry
    EXPECT_EQ(net::fold(0xFFFFFFFFu), 0x0000);
    const Bytes odd{0xab};
    EXPECT_EQ(net::sum(sp(odd)), 0xab00u);
    EXPECT_EQ(net::sum16(0x1234, 0xFFFF), 0x1234u);
    EXPECT_EQ(net::sum32(0x00010002u), 0x0003u);
}

TEST(Checksum, PiecewiseMatchesWholeAndReference) {
    std::mt19937 rng(1071);
    for (int iter = 0; iter < 2000; ++iter) {
        Bytes d(rng() % 1600);  // up to a full packet: the word-at-a-time loop and every tail
        for (auto& x : d) x = static_cast<std::uint8_t>(rng());
        const std::uint16_t whole = net::checksum(sp(d));
        EXPECT_EQ(whole, ref_checksum(d));
        std::size_t cut = d.empty() ? 0 : (rng() % (d.size() + 1)) & ~std::size_t{1};  // even cut
        const std::uint32_t s1 = net::sum(sp(d).first(cut));
        EXPECT_EQ(net::fold(net::sum(sp(d).subspan(cut), s1)), whole);
    }
    // Every short length and start, so each tail of 1-7 bytes is read from every alignment.
    Bytes all(80);
    for (auto& x : all) x = static_cast<std::uint8_t>(rng());
    for (std::size_t at = 0; at < 8; ++at)
        for (std::size_t n = 0; n <= 64; ++n) {
            const Bytes piece(all.begin() + static_cast<std::ptrdiff_t>(at), all.begin() + static_cast<std::ptrdiff_t>(at + n));
            EXPECT_EQ(net::checksum(sp(all).subspan(at, n)), ref_checksum(piece)) << "at " << at << ", " << n << " bytes";
            Bytes copy(n + 1, 0xA5);  // one byte more, which must stay untouched
            EXPECT_EQ(net::copy_and_sum(sp(all).subspan(at, n), copy.data()), net::sum(sp(all).subspan(at, n)));
            EXPECT_TRUE(std::equal(piece.begin(), piece.end(), copy.begin())) << "at " << at << ", " << n << " bytes";
            EXPECT_EQ(copy[n], 0xA5);
        }
    // Long all-0xFF input: exercises accumulator carries.
    const Bytes ff(100000, 0xFF);
    EXPECT_EQ(net::checksum(sp(ff)), ref_checksum(ff));
    EXPECT_EQ(net::checksum(sp(ff)), 0x0000);
}

TEST(Checksum, PseudoHeaderMatchesMaterialisedBytes) {
    EXPECT_EQ(net::fold(net::pseudo_header_sum_v4(kSrc4, kDst4, 6, 1234)),
              ref_checksum(pseudo4(kSrc4, kDst4, 6, 1234)));
    EXPECT_EQ(net::fold(net::pseudo_header_sum_v6(kSrc6, kDst6, 17, 0x12345)),
              ref_checksum(pseudo6(kSrc6, kDst6, 17, 0x12345)));
    const auto a = net::Address::v4(kSrc4), b = net::Address::v4(kDst4);
    EXPECT_EQ(net::pseudo_header_sum(a, b, 6, 1234), net::pseudo_header_sum_v4(kSrc4, kDst4, 6, 1234));
    EXPECT_EQ(net::pseudo_header_sum(a, net::Address::v6(kDst6), 6, 1234, 7), 7u);  // mixed families
}

TEST(Checksum, Ipv4HeaderKnownAnswer) {
    // Classic textbook header: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7
    Bytes h{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_TRUE(net::ipv4_header_checksum_ok(sp(h)));
    EXPECT_EQ(net::ipv4_header_checksum(sp(h)), std::optional<std::uint16_t>(0xb861));
    h[10] = 0;
    h[11] = 0;
    EXPECT_FALSE(net::ipv4_header_checksum_ok(sp(h)));
    EXPECT_TRUE(net::ipv4_set_header_checksum(std::span<std::uint8_t>(h)));
    EXPECT_EQ(get16(h, 10), 0xb861);
    // Malformed inputs are rejected, not read out of range.
    EXPECT_FALSE(net::ipv4_header_checksum(std::span<const std::uint8_t>(h.data(), 19)));
    h[0] = 0x4f;  // IHL 60 > 20 bytes present
    EXPECT_FALSE(net::ipv4_header_checksum(sp(h)));
    EXPECT_FALSE(net::ipv4_set_header_checksum(std::span<std::uint8_t>(h)));
    h[0] = 0x44;
    EXPECT_FALSE(net::ipv4_header_checksum_ok(sp(h)));
}

// RFC 1624 section 4: HC=0xDD2F, m=0x5555 -> m'=0x3285 must give 0x0000,
// where RFC 1141's HC' = HC + m - m' gives 0xFFFF.
TEST(Checksum, Rfc1624CornerCase) {
    EXPECT_EQ(net::update16(0xDD2F, 0x5555, 0x3285), 0x0000);
    // Data reproducing that state, recomputed from scratch.
    Bytes d{0x55, 0x55, 0xCD, 0x7A};
    EXPECT_EQ(ref_checksum(d), 0xDD2F);
    d[0] = 0x32;
    d[1] = 0x85;
    EXPECT_EQ(ref_checksum(d), 0x0000);
    // And back again.
    EXPECT_EQ(net::update16(0x0000, 0x3285, 0x5555), 0xDD2F);
    // A no-op change leaves a computed checksum untouched, 0x0000 included.
    for (std::uint32_t hc : {0x0000u, 0x0001u, 0x1234u, 0xFFFEu})
        EXPECT_EQ(net::update16(static_cast<std::uint16_t>(hc), 0xABCD, 0xABCD), hc) << hc;
    // 0xFFFF never comes out of a computation over non-zero data (only UDP's
    // "computed zero" rule stores it); eqn. 3 normalises it to 0x0000 and the
    // UDP wrapper puts it back.
    EXPECT_EQ(net::update16(0xFFFF, 0xABCD, 0xABCD), 0x0000);
    EXPECT_EQ(net::udp_update16(0xFFFF, 0xABCD, 0xABCD), 0xFFFF);
}

TEST(Checksum, UpdateVariantsAgree) {
    std::mt19937 rng(1624);
    for (int i = 0; i < 5000; ++i) {
        const auto hc = static_cast<std::uint16_t>(rng());
        const auto o = static_cast<std::uint32_t>(rng()), n = static_cast<std::uint32_t>(rng());
        const A4 ob{static_cast<std::uint8_t>(o >> 24), static_cast<std::uint8_t>(o >> 16),
                    static_cast<std::uint8_t>(o >> 8), static_cast<std::uint8_t>(o)};
        const A4 nb{static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                    static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
        const std::uint16_t via32 = net::update32(hc, o, n);
        EXPECT_EQ(net::update_addr(hc, ob, nb), via32);
        EXPECT_EQ(net::update_addr(hc, net::Address::v4(o), net::Address::v4(n)), via32);
        EXPECT_EQ(net::update16(net::update16(hc, static_cast<std::uint16_t>(o >> 16),
                                              static_cast<std::uint16_t>(n >> 16)),
                                static_cast<std::uint16_t>(o), static_cast<std::uint16_t>(n)),
                  via32);
    }
    // Family mismatch is refused rather than producing garbage.
    EXPECT_EQ(net::update_addr(0x1234, net::Address::v4(1u), net::Address::v6(kSrc6)), 0x1234);
}

TEST(Checksum, UdpZeroRules) {
    EXPECT_EQ(net::udp_finalize(0), 0xFFFF);
    EXPECT_EQ(net::udp_finalize(0x1234), 0x1234);
    EXPECT_EQ(net::udp_update_fixup(0, 0x5555), 0);  // absent stays absent
    EXPECT_EQ(net::udp_update16(0, 1000, 2000), 0);
    EXPECT_EQ(net::udp_update16(0xDD2F, 0x5555, 0x3285), 0xFFFF);  // computed 0 -> 0xFFFF
    const Bytes o{1, 2, 3, 4}, n{5, 6, 7, 8};
    EXPECT_EQ(net::udp_update_bytes(0, sp(o), sp(n)), 0);
}

// ---------------------------------------------------------------------------
// Byte accessors
// ---------------------------------------------------------------------------

TEST(Accessors, ReadWriteBigEndianChecked) {
    Bytes b{0x12, 0x34, 0x56, 0x78, 0x9a};
    EXPECT_EQ(net::read_be16(sp(b), 0), std::optional<std::uint16_t>(0x1234));
    EXPECT_EQ(net::read_be16(sp(b), 3), std::optional<std::uint16_t>(0x789a));
    EXPECT_EQ(net::read_be32(sp(b), 1), std::optional<std::uint32_t>(0x3456789au));
    EXPECT_FALSE(net::read_be16(sp(b), 4));
    EXPECT_FALSE(net::read_be16(sp(b), 5));
    EXPECT_FALSE(net::read_be16(sp(b), SIZE_MAX));
    EXPECT_FALSE(net::read_be32(sp(b), 2));
    EXPECT_FALSE(net::read_be32(sp(b), SIZE_MAX - 1));
    std::span<std::uint8_t> w(b);
    EXPECT_TRUE(net::write_be16(w, 3, 0xBEEF));
    EXPECT_EQ(b[3], 0xBE);
    EXPECT_EQ(b[4], 0xEF);
    EXPECT_TRUE(net::write_be32(w, 0, 0xDEADBEEFu));
    EXPECT_EQ(net::read_be32(sp(b), 0), std::optional<std::uint32_t>(0xDEADBEEFu));
    EXPECT_FALSE(net::write_be16(w, 4, 1));
    EXPECT_FALSE(net::write_be32(w, 2, 1));
    EXPECT_FALSE(net::write_be32(w, SIZE_MAX, 1));
    EXPECT_EQ(b[4], 0xEF);  // failed writes don't touch anything
}

// ---------------------------------------------------------------------------
// Address / Flow
// ---------------------------------------------------------------------------

A16 v6(std::initializer_list<std::uint16_t> groups) {
    A16 a{};
    std::size_t i = 0;
    for (auto g : groups) {
        a[i++] = static_cast<std::uint8_t>(g >> 8);
        a[i++] = static_cast<std::uint8_t>(g & 0xFF);
    }
    return a;
}

TEST(Address, ToString) {
    EXPECT_EQ(net::Address::v4(kSrc4).to_string(), "192.168.1.10");
    EXPECT_EQ(net::Address::v4(0u).to_string(), "0.0.0.0");
    EXPECT_EQ(net::Address::v4(0xFFFFFFFFu).to_string(), "255.255.255.255");
    EXPECT_EQ(net::Address().to_string(), "-");
    EXPECT_EQ(net::Address::v6(kSrc6).to_string(), "2001:db8::1");
    EXPECT_EQ(net::Address::v6(kDst6).to_string(), "2001:db8:1::cafe:2");
    EXPECT_EQ(net::Address::v6(v6({0, 0, 0, 0, 0, 0, 0, 0})).to_string(), "::");
    EXPECT_EQ(net::Address::v6(v6({0, 0, 0, 0, 0, 0, 0, 1})).to_string(), "::1");
    EXPECT_EQ(net::Address::v6(v6({1, 0, 0, 0, 0, 0, 0, 0})).to_string(), "1::");
    EXPECT_EQ(net::Address::v6(v6({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1})).to_string(), "2001:db8:0:1:1:1:1:1");
    EXPECT_EQ(net::Address::v6(v6({1, 0, 0, 2, 0, 0, 3, 4})).to_string(), "1::2:0:0:3:4");
    EXPECT_EQ(net::Address::v6(v6({1, 0, 0, 2, 0, 0, 0, 4})).to_string(), "1:0:0:2::4");
    EXPECT_EQ(net::Address::v6(v6({0xfe80, 0, 0, 0, 0xABCD, 0x0012, 0x3400, 0x00f0})).to_string(),
              "fe80::abcd:12:3400:f0");
    EXPECT_EQ(net::Address::v6(v6({0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201})).to_string(), "::ffff:192.0.2.1");
}

TEST(Address, FamilyAndOrdering) {
    const auto a = net::Address::v4(0x0A000001u);
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.size(), 4u);
    EXPECT_EQ(a.v4_host_order(), 0x0A000001u);
    EXPECT_EQ(a.bytes()[0], 10);
    const auto b = net::Address::v4(0x0A000002u);
    const auto c = net::Address::v6(kSrc6);
    EXPECT_TRUE(c.is_v6());
    EXPECT_EQ(c.size(), 16u);
    EXPECT_EQ(c.v4_host_order(), 0u);
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);  // every v4 before every v6
    EXPECT_LT(net::Address(), a);
    EXPECT_EQ(a, net::Address::v4(A4{10, 0, 0, 1}));
    EXPECT_NE(a, b);
    // ::a00:1 (v6) is not equal to 10.0.0.1 (v4).
    EXPECT_NE(net::Address::v6(v6({0, 0, 0, 0, 0, 0, 0x0a00, 1})), a);
}

TEST(Flow, HashAndReverse) {
    const net::Flow f{net::Address::v4(kSrc4), net::Address::v4(kDst4), 6, 40000, 443};
    const net::Flow g = f.reversed();
    EXPECT_EQ(g.src, f.dst);
    EXPECT_EQ(g.src_port, 443);
    EXPECT_EQ(g.reversed(), f);
    EXPECT_EQ(net::hash(f, 1), net::hash(net::Flow(f), 1));
    EXPECT_NE(net::hash(f, 1), net::hash(f, 2));
    EXPECT_NE(net::hash(f, 1), net::hash(g, 1));
    EXPECT_EQ(net::hash_symmetric(f, 9), net::hash_symmetric(g, 9));
    static_assert(net::hash(net::Flow{}, 3) == net::hash(net::Flow{}, 3));

    // Different families with identical leading bytes must not collide.
    const net::Flow v4f{net::Address::v4(0u), net::Address::v4(0u), 17, 0, 0};
    const net::Flow v6f{net::Address::v6(A16{}), net::Address::v6(A16{}), 17, 0, 0};
    EXPECT_NE(v4f, v6f);
    EXPECT_NE(net::hash(v4f), net::hash(v6f));

    // Rough distribution check: sequential ports over 1024 buckets.
    net::FlowHash h{0x1234};
    std::vector<int> buckets(1024, 0);
    std::unordered_set<net::Flow, net::FlowHash> set(0, h);
    for (std::uint16_t p = 0; p < 20480; ++p) {
        net::Flow x = f;
        x.src_port = p;
        ++buckets[h(x) % 1024];
        set.insert(x);
    }
    EXPECT_EQ(set.size(), 20480u);
    for (int n : buckets) {
        EXPECT_GT(n, 0);
        EXPECT_LT(n, 60);  // mean 20
    }
    EXPECT_NE(net::to_string(f).find("192.168.1.10:40000 -> 93.184.216.34:443"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Parser: well-formed packets
// ---------------------------------------------------------------------------

TEST(Parse, Ipv4TcpSyn) {
    const Bytes opts{0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02};  // MSS, NOP, NOP, SACKperm
    const Bytes pkt = build_v4({}, tcp_seg(40000, 443, net::tcpflag::syn, {}, opts));
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok()) << net::to_string(r.error);
    const auto& p = r.info;
    EXPECT_EQ(p.version, 4);
    EXPECT_EQ(p.protocol, net::ipproto::tcp);
    EXPECT_TRUE(p.is_tcp());
    EXPECT_EQ(p.ttl, 64);
    EXPECT_EQ(p.l3_header_len, 20u);
    EXPECT_EQ(p.l4_offset, 20u);
    EXPECT_EQ(p.total_len_claimed, pkt.size());
    EXPECT_EQ(p.total_len_present, pkt.size());
    EXPECT_EQ(p.trailing_bytes, 0u);
    EXPECT_EQ(p.src, net::Address::v4(kSrc4));
    EXPECT_EQ(p.dst, net::Address::v4(kDst4));
    EXPECT_EQ(p.src.to_string(), "192.168.1.10");
    EXPECT_TRUE(p.has_ports);
    EXPECT_EQ(p.src_port, 40000);
    EXPECT_EQ(p.dst_port, 443);
    EXPECT_EQ(p.l4_header_len, 28u);
    EXPECT_EQ(p.tcp_flags, net::tcpflag::syn);
    EXPECT_FALSE(p.is_fragment);
    EXPECT_TRUE(p.dont_fragment);
    EXPECT_EQ(p.frag_id, 0x1c46u);
    EXPECT_FALSE(p.is_icmp);
    EXPECT_TRUE(net::ipv4_header_checksum_ok(sp(pkt)));
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), p));
    EXPECT_EQ(net::l4_checksum(sp(pkt), p), get16(pkt, 20 + 16));
    const auto f = net::flow_of(p);
    EXPECT_EQ(f, (net::Flow{p.src, p.dst, 6, 40000, 443}));
    check_all_prefixes(pkt);
}

TEST(Parse, Ipv4WithOptionsUdpAndTrailingBytes) {
    V4Params vp;
    vp.proto = 17;
    vp.options = {0x94, 0x04, 0x00, 0x00};  // Router Alert
    Bytes pkt = build_v4(vp, udp_seg(5353, 53, {'h', 'e', 'l', 'l', 'o'}));
    const std::size_t ip_len = pkt.size();
    pkt.insert(pkt.end(), {0, 0, 0, 0, 0, 0});  // Ethernet-style padding
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok()) << net::to_string(r.error);
    EXPECT_EQ(r.info.l4_offset, 24u);
    EXPECT_EQ(r.info.total_len_claimed, ip_len);
    EXPECT_EQ(r.info.total_len_present, pkt.size());
    EXPECT_EQ(r.info.trailing_bytes, 6u);
    EXPECT_EQ(r.info.l4_len(), 13u);
    EXPECT_EQ(r.info.src_port, 5353);
    EXPECT_EQ(r.info.dst_port, 53);
    EXPECT_EQ(r.info.l4_header_len, 8u);
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r.info));
    EXPECT_TRUE(net::ipv4_header_checksum_ok(sp(pkt)));
}

TEST(Parse, Ipv4UdpWithoutChecksum) {
    V4Params vp;
    vp.proto = 17;
    vp.l4_checksum = false;
    const Bytes pkt = build_v4(vp, udp_seg(1, 2, {1, 2, 3}));
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(get16(pkt, 26), 0);
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r.info));  // 0 == "not computed"
}

TEST(Parse, Ipv4IcmpEcho) {
    Bytes seg = icmp_seg(net::icmp4::echo_request, 0, 0x4242, 7, {'p', 'i', 'n', 'g'});
    V4Params vp;
    vp.proto = 1;
    const Bytes pkt = build_v4(vp, seg);
    // ICMPv4 checksum has no pseudo-header.
    Bytes s2(pkt.begin() + 20, pkt.end());
    EXPECT_EQ(ref_checksum(s2), 0);
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.info.is_icmp);
    EXPECT_EQ(r.info.icmp_type, 8);
    EXPECT_EQ(r.info.icmp_code, 0);
    EXPECT_TRUE(r.info.has_icmp_id);
    EXPECT_EQ(r.info.icmp_id, 0x4242);
    EXPECT_EQ(r.info.icmp_seq, 7);
    EXPECT_FALSE(r.info.has_ports);
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r.info));
    const auto f = net::flow_of(r.info);
    EXPECT_EQ(f.src_port, 0x4242);
    EXPECT_EQ(f.dst_port, 0x4242);
    // The reply's flow is the request's flow reversed.
    vp.src = kDst4;
    vp.dst = kSrc4;
    const Bytes reply = build_v4(vp, icmp_seg(net::icmp4::echo_reply, 0, 0x4242, 7, {}));
    const auto rr = net::parse_packet(sp(reply));
    ASSERT_TRUE(rr.ok());
    EXPECT_EQ(net::flow_of(rr.info), f.reversed());
    check_all_prefixes(pkt);
}

TEST(Parse, Ipv4IcmpErrorWithEmbeddedPacket) {
    // Time exceeded quoting the IP header + first 8 bytes of a UDP datagram.
    const Bytes inner = build_v4(v4p(17), udp_seg(33434, 33435, Bytes(32, 0xAA)));
    const Bytes quote(inner.begin(), inner.begin() + 28);
    V4Params vp;
    vp.proto = 1;
    vp.src = {10, 0, 0, 1};
    const Bytes pkt = build_v4(vp, cat(icmp_seg(net::icmp4::time_exceeded, 0, 0, 0, {}), quote));
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.info.icmp_type, net::icmp4::time_exceeded);
    EXPECT_FALSE(r.info.has_icmp_id);
    const auto body = sp(pkt).subspan(r.info.l4_offset + 8);
    EXPECT_FALSE(net::parse_packet(body).ok());  // IP length says 60, 28 present
    const auto e = net::parse_embedded(body);
    ASSERT_TRUE(e.ok()) << net::to_string(e.error);
    EXPECT_EQ(e.info.protocol, 17);
    EXPECT_EQ(e.info.src_port, 33434);
    EXPECT_EQ(e.info.dst_port, 33435);
    EXPECT_EQ(e.info.total_len_claimed, inner.size());
    EXPECT_EQ(e.info.total_len_present, 28u);
    EXPECT_EQ(e.info.l4_len(), 8u);
    // Quoted TCP: only ports guaranteed.
    const Bytes tinner = build_v4({}, tcp_seg(1000, 80, net::tcpflag::ack, Bytes(10, 1)));
    const Bytes tquote(tinner.begin(), tinner.begin() + 28);
    const auto te = net::parse_embedded(sp(tquote));
    ASSERT_TRUE(te.ok());
    EXPECT_EQ(te.info.src_port, 1000);
    EXPECT_EQ(te.info.tcp_flags, 0);
    EXPECT_EQ(te.info.l4_header_len, 0u);
}

TEST(Parse, Ipv6Udp) {
    const Bytes pkt = build_v6(17, 17, udp_seg(5000, 53, Bytes(20, 0x11)));
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok()) << net::to_string(r.error);
    const auto& p = r.info;
    EXPECT_EQ(p.version, 6);
    EXPECT_EQ(p.ttl, 255);
    EXPECT_EQ(p.l3_header_len, 40u);
    EXPECT_EQ(p.total_len_claimed, 68u);
    EXPECT_EQ(p.src.to_string(), "2001:db8::1");
    EXPECT_EQ(p.dst.to_string(), "2001:db8:1::cafe:2");
    EXPECT_EQ(p.src_port, 5000);
    EXPECT_EQ(p.dst_port, 53);
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), p));
    EXPECT_EQ(net::l4_checksum(sp(pkt), p), get16(pkt, 46));
    check_all_prefixes(pkt);
}

TEST(Parse, Ipv6TcpThroughExtensionHeaders) {
    // hop-by-hop -> destination options -> routing -> destination options -> TCP
    const Bytes ext = cat(cat(cat(ext_hdr(60, 0), ext_hdr(43, 1)), ext_hdr(60, 0)), ext_hdr(6, 2));
    ASSERT_EQ(ext.size(), 8u + 16 + 8 + 24);
    const Bytes pkt = build_v6(0, 6, tcp_seg(1234, 22, net::tcpflag::ack | net::tcpflag::psh, {1, 2, 3}), ext);
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok()) << net::to_string(r.error);
    EXPECT_EQ(r.info.protocol, 6);
    EXPECT_EQ(r.info.l3_header_len, 40u + ext.size());
    EXPECT_EQ(r.info.src_port, 1234);
    EXPECT_EQ(r.info.dst_port, 22);
    EXPECT_EQ(r.info.tcp_flags, net::tcpflag::ack | net::tcpflag::psh);
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r.info));
    check_all_prefixes(pkt);
}

TEST(Parse, Ipv6IcmpEchoAndPacketTooBig) {
    const Bytes pkt = build_v6(58, 58, icmp_seg(net::icmp6::echo_request, 0, 0x0102, 3, {9, 9}));
    const auto r = net::parse_packet(sp(pkt));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.info.is_icmp);
    EXPECT_TRUE(r.info.has_icmp_id);
    EXPECT_EQ(r.info.icmp_id, 0x0102);
    EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r.info));
    check_all_prefixes(pkt);

    Bytes ptb = icmp_seg(net::icmp6::packet_too_big, 0, 0, 0, {});
    put32(ptb, 4, 1280);  // MTU
    const Bytes inner = build_v6(17, 17, udp_seg(1, 2, Bytes(100, 0)));
    const Bytes pkt2 = build_v6(58, 58, cat(ptb, inner));
    const auto r2 = net::parse_packet(sp(pkt2));
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2.info.icmp_type, net::icmp6::packet_too_big);
    EXPECT_FALSE(r2.info.has_icmp_id);
    const auto e = net::parse_embedded(sp(pkt2).subspan(r2.info.l4_offset + 8));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e.info.dst_port, 2);

    // ICMPv4 type numbers carried in IPv6 are opaque, and vice versa.
    const Bytes odd = build_v6(1, 1, icmp_seg(8, 0, 1, 1, {}), {}, false);
    const auto r3 = net::parse_packet(sp(odd));
    ASSERT_TRUE(r3.ok());
    EXPECT_FALSE(r3.info.is_icmp);
}

TEST(Parse, Ipv6Fragments) {
    const Bytes seg = udp_seg(7000, 7001, Bytes(64, 0x33));
    // First fragment: carries only part of the UDP datagram, UDP length larger.
    const Bytes first_part(seg.begin(), seg.begin() + 24);
    const Bytes f1 = build_v6(44, 17, first_part, frag_hdr(17, 0, true, 0xabcdef01u), false);
    const auto r1 = net::parse_packet(sp(f1));
    ASSERT_TRUE(r1.ok()) << net::to_string(r1.error);
    EXPECT_TRUE(r1.info.is_fragment);
    EXPECT_FALSE(r1.info.non_first_fragment);
    EXPECT_TRUE(r1.info.more_fragments);
    EXPECT_EQ(r1.info.frag_id, 0xabcdef01u);
    EXPECT_TRUE(r1.info.has_ports);
    EXPECT_EQ(r1.info.src_port, 7000);
    EXPECT_EQ(r1.info.l4_offset, 48u);
    EXPECT_FALSE(net::l4_checksum(sp(f1), r1.info));  // can't checksum a fragment
    check_all_prefixes(f1);

    // Non-first fragment: protocol known, no ports.
    const Bytes rest(seg.begin() + 24, seg.end());
    const Bytes f2 = build_v6(44, 17, rest, frag_hdr(17, 24, false, 0xabcdef01u), false);
    const auto r2 = net::parse_packet(sp(f2));
    ASSERT_TRUE(r2.ok());
    EXPECT_TRUE(r2.info.is_fragment);
    EXPECT_TRUE(r2.info.non_first_fragment);
    EXPECT_FALSE(r2.info.more_fragments);
    EXPECT_EQ(r2.info.frag_offset, 24u);
    EXPECT_EQ(r2.info.protocol, 17);
    EXPECT_FALSE(r2.info.has_ports);
    EXPECT_EQ(net::flow_of(r2.info).src_port, 0);
    check_all_prefixes(f2);

    // Atomic fragment (offset 0, M=0) is a whole packet.
    const Bytes fa = build_v6(44, 17, seg, frag_hdr(17, 0, false, 5));
    const auto ra = net::parse_packet(sp(fa));
    ASSERT_TRUE(ra.ok());
    EXPECT_FALSE(ra.info.is_fragment);
    EXPECT_TRUE(net::l4_checksum_ok(sp(fa), ra.info));

    // Two fragment headers.
    const Bytes ff = build_v6(44, 17, seg, cat(frag_hdr(44, 0, false, 5), frag_hdr(17, 0, false, 5)), false);
    EXPECT_EQ(net::parse_packet(sp(ff)).error, net::ParseError::bad_ext_header);
}

TEST(Parse, Ipv4Fragments) {
    const Bytes seg = udp_seg(7000, 7001, Bytes(64, 0x33));
    V4Params vp;
    vp.proto = 17;
    vp.l4_checksum = false;
    vp.frag = 0x2000;  // MF, offset 0
    const Bytes f1 = build_v4(vp, Bytes(seg.begin(), seg.begin() + 24));
    const auto r1 = net::parse_packet(sp(f1));
    ASSERT_TRUE(r1.ok()) << net::to_string(r1.error);
    EXPECT_TRUE(r1.info.is_fragment);
    EXPECT_FALSE(r1.info.non_first_fragment);
    EXPECT_TRUE(r1.info.has_ports);
    EXPECT_EQ(r1.info.dst_port, 7001);
    check_all_prefixes(f1);

    vp.frag = 3;  // offset 24 bytes, last fragment
    const Bytes f2 = build_v4(vp, Bytes(seg.begin() + 24, seg.end()));
    const auto r2 = net::parse_packet(sp(f2));
    ASSERT_TRUE(r2.ok());
    EXPECT_TRUE(r2.info.non_first_fragment);
    EXPECT_EQ(r2.info.frag_offset, 24u);
    EXPECT_FALSE(r2.info.has_ports);
    EXPECT_FALSE(r2.info.dont_fragment);
    check_all_prefixes(f2);

    // A non-first fragment may be shorter than any L4 header.
    vp.frag = 0x2005;
    const Bytes f3 = build_v4(vp, Bytes{1, 2});
    EXPECT_TRUE(net::parse_packet(sp(f3)).ok());
    // A first fragment too short for the ports is rejected (tiny-fragment).
    vp.frag = 0x2000;
    const Bytes f4 = build_v4(vp, Bytes{1, 2, 3, 4});
    EXPECT_EQ(net::parse_packet(sp(f4)).error, net::ParseError::truncated);
}

TEST(Parse, UnknownAndTerminalNextHeaders) {
    // ESP after a destination-options header: stop there, no ports.
    const Bytes esp = build_v6(60, 50, Bytes(24, 0x77), ext_hdr(50, 0), false);
    const auto r = net::parse_packet(sp(esp));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.info.protocol, 50);
    EXPECT_EQ(r.info.l4_offset, 48u);
    EXPECT_FALSE(r.info.has_ports);
    EXPECT_FALSE(net::l4_checksum(sp(esp), r.info));
    // No next header, empty payload.
    const Bytes none = build_v6(59, 59, {}, {}, false);
    const auto rn = net::parse_packet(sp(none));
    ASSERT_TRUE(rn.ok());
    EXPECT_EQ(rn.info.protocol, 59);
    EXPECT_EQ(rn.info.l4_len(), 0u);
    // GRE over IPv4.
    V4Params vp;
    vp.proto = 47;
    vp.l4_checksum = false;
    const auto rg = net::parse_packet(sp(build_v4(vp, Bytes(4, 0))));
    ASSERT_TRUE(rg.ok());
    EXPECT_EQ(rg.info.protocol, 47);
    EXPECT_FALSE(rg.info.has_ports);
}

// ---------------------------------------------------------------------------
// Parser: malformed packets
// ---------------------------------------------------------------------------

TEST(ParseErrors, Labels) {
    std::set<std::string> seen;
    for (int i = 0; i <= static_cast<int>(net::ParseError::bad_udp_length); ++i) {
        const std::string s(net::to_string(static_cast<net::ParseError>(i)));
        EXPECT_TRUE(seen.insert(s).second) << s;
        for (char c : s) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << s;
    }
    EXPECT_EQ(net::to_string(net::ParseError::ok), "ok");
    EXPECT_EQ(net::to_string(net::ParseError::truncated), "truncated");
    EXPECT_EQ(net::to_string(net::ParseError::bad_ihl), "bad_ihl");
    static_assert(net::to_string(net::ParseError::bad_version) == "bad_version");
}

TEST(ParseErrors, Ipv4Header) {
    const Bytes good = build_v4({}, tcp_seg(1, 2, net::tcpflag::syn, {}));
    EXPECT_EQ(net::parse_packet({}).error, net::ParseError::truncated);

    Bytes b = good;
    b[0] = 0x55;  // version 5
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::bad_version);
    b[0] = 0x05;  // version 0
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::bad_version);
    EXPECT_EQ(net::parse_packet(sp(Bytes{0x00})).error, net::ParseError::bad_version);
    EXPECT_EQ(net::parse_packet(sp(Bytes{0x45})).error, net::ParseError::truncated);

    for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
        b = good;
        b[0] = static_cast<std::uint8_t>(0x40 | ihl);
        EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::bad_ihl) << int(ihl);
    }
    b = good;
    b[0] = 0x4f;  // 60-byte header, only 40 bytes present
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::truncated);
    b[0] = 0x47;  // 28-byte header but total length 40 -> fine header, TCP truncated
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::truncated);

    b = good;
    put16(b, 2, 19);  // total length < header
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::bad_length);
    put16(b, 2, 0);
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::bad_length);
    put16(b, 2, static_cast<std::uint16_t>(good.size() + 1));  // > buffer
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::truncated);
    EXPECT_TRUE(net::parse_embedded(sp(b)).ok());
    put16(b, 2, 20);  // header only: TCP missing
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::truncated);
}

TEST(ParseErrors, L4Headers) {
    Bytes b = build_v4({}, tcp_seg(1, 2, 0, {}));
    for (std::uint8_t doff = 0; doff < 5; ++doff) {
        b[20 + 12] = static_cast<std::uint8_t>(doff << 4);
        EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::bad_tcp_offset);
    }
    b[20 + 12] = 0x60;  // 24-byte header, 20 present
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::truncated);

    Bytes u = build_v4(v4p(17), udp_seg(1, 2, {1, 2, 3, 4}));
    put16(u, 24, 7);
    EXPECT_EQ(net::parse_packet(sp(u)).error, net::ParseError::bad_udp_length);
    put16(u, 24, 13);
    EXPECT_EQ(net::parse_packet(sp(u)).error, net::ParseError::bad_udp_length);
    put16(u, 24, 10);  // shorter than IP payload: tolerated
    EXPECT_TRUE(net::parse_packet(sp(u)).ok());

    const Bytes icmp = build_v4(v4p(1), Bytes{8, 0, 0, 0, 0, 1});
    EXPECT_EQ(net::parse_packet(sp(icmp)).error, net::ParseError::truncated);
}

TEST(ParseErrors, Ipv6) {
    const Bytes good = build_v6(17, 17, udp_seg(1, 2, {}));
    EXPECT_EQ(net::parse_packet(sp(Bytes(good.begin(), good.begin() + 39))).error,
              net::ParseError::truncated);
    Bytes b = good;
    put16(b, 4, 9);  // payload length beyond buffer
    EXPECT_EQ(net::parse_packet(sp(b)).error, net::ParseError::truncated);

    // Hop-by-hop anywhere but first.
    const Bytes hbh_late = build_v6(60, 17, udp_seg(1, 2, {}), cat(ext_hdr(0, 0), ext_hdr(17, 0)));
    EXPECT_EQ(net::parse_packet(sp(hbh_late)).error, net::ParseError::bad_ext_header);

    // Extension header length running past the payload.
    Bytes ext_long = build_v6(60, 17, {}, ext_hdr(17, 0), false);
    ext_long[41] = 1;  // claims 16 bytes, 8 present
    EXPECT_EQ(net::parse_packet(sp(ext_long)).error, net::ParseError::truncated);
    // Extension header beyond the claimed payload length but inside the buffer.
    Bytes beyond = build_v6(60, 17, {}, {}, false);
    beyond.insert(beyond.end(), 8, 0);
    EXPECT_EQ(net::parse_packet(sp(beyond)).error, net::ParseError::truncated);

    // Long chain of destination options.
    Bytes chain;
    for (int i = 0; i < 12; ++i) chain = cat(chain, ext_hdr(i == 11 ? 17 : 60, 0));
    const Bytes longc = build_v6(60, 17, udp_seg(1, 2, {}), chain);
    EXPECT_EQ(net::parse_packet(sp(longc)).error, net::ParseError::ext_chain_too_long);
    Bytes ok_chain;
    for (unsigned i = 0; i < net::ipv6_max_ext_headers; ++i)
        ok_chain = cat(ok_chain, ext_hdr(i + 1 == net::ipv6_max_ext_headers ? 17 : 60, 0));
    EXPECT_TRUE(net::parse_packet(sp(build_v6(60, 17, udp_seg(1, 2, {}), ok_chain))).ok());

    // Jumbogram marker.
    Bytes jumbo = build_v6(0, 17, udp_seg(1, 2, {}), ext_hdr(17, 0));
    put16(jumbo, 4, 0);
    EXPECT_EQ(net::parse_packet(sp(jumbo)).error, net::ParseError::bad_length);
}

// ---------------------------------------------------------------------------
// Fuzz-ish robustness: random mutations of valid packets never misbehave.
// ---------------------------------------------------------------------------

TEST(Robustness, RandomMutations) {
    std::mt19937 rng(42);
    const std::vector<Bytes> seeds{
        build_v4({}, tcp_seg(1, 2, net::tcpflag::syn, {1, 2, 3})),
        build_v4(v4p(17), udp_seg(1, 2, {1, 2})),
        build_v4(v4p(1), icmp_seg(8, 0, 1, 1, {})),
        build_v6(0, 6, tcp_seg(1, 2, 0, {}), cat(ext_hdr(44, 0), frag_hdr(6, 0, true, 1)), false),
        build_v6(58, 58, icmp_seg(128, 0, 3, 4, {5})),
    };
    int ok = 0;
    for (int iter = 0; iter < 20000; ++iter) {
        Bytes b = seeds[rng() % seeds.size()];
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        b.resize(rng() % (b.size() + 8), 0xEE);
        const auto r = net::parse_packet(sp(b));
        if (r.ok()) {
            ++ok;
            check_invariants(b, b.size(), r, false);
            (void)net::l4_checksum(sp(b), r.info);
        }
        const auto e = net::parse_embedded(sp(b));
        if (e.ok()) check_invariants(b, b.size(), e, true);
    }
    EXPECT_GT(ok, 0);
}

// ---------------------------------------------------------------------------
// Incremental update (RFC 1624) vs recomputation, as a NAT would use it.
// ---------------------------------------------------------------------------

namespace {

// Rewrites src address and src port of a parsed IPv4 TCP/UDP packet with
// incremental updates only.
void nat_rewrite_v4(Bytes& pkt, const net::PacketInfo& p, const A4& new_src, std::uint16_t new_port) {
    std::span<std::uint8_t> w(pkt);
    const A4 old_src{pkt[12], pkt[13], pkt[14], pkt[15]};
    const std::size_t coff = p.l4_offset + net::l4_checksum_offset(4, p.protocol).value();
    const std::uint16_t ip_c = *net::read_be16(sp(pkt), 10);
    std::uint16_t l4_c = *net::read_be16(sp(pkt), coff);
    const std::uint16_t old_port = *net::read_be16(sp(pkt), p.l4_offset);
    ASSERT_TRUE(net::write_be16(w, 10, net::update_addr(ip_c, old_src, new_src)));
    if (p.protocol == net::ipproto::udp) {
        l4_c = net::udp_update_bytes(l4_c, old_src, new_src);
        l4_c = net::udp_update16(l4_c, old_port, new_port);
    } else {
        l4_c = net::update_addr(l4_c, old_src, new_src);
        l4_c = net::update16(l4_c, old_port, new_port);
    }
    ASSERT_TRUE(net::write_be16(w, coff, l4_c));
    for (std::size_t i = 0; i < 4; ++i) pkt[12 + i] = new_src[i];
    ASSERT_TRUE(net::write_be16(w, p.l4_offset, new_port));
}

// From-scratch values using the reference implementation only.
std::uint16_t ref_ip_checksum(const Bytes& pkt) {
    Bytes h(pkt.begin(), pkt.begin() + 20);
    put16(h, 10, 0);
    return ref_checksum(h);
}
std::uint16_t ref_l4_of(const Bytes& pkt, std::uint8_t proto) {
    const Bytes seg(pkt.begin() + 20, pkt.end());
    const A4 s{pkt[12], pkt[13], pkt[14], pkt[15]}, d{pkt[16], pkt[17], pkt[18], pkt[19]};
    return ref_l4_checksum_v4(seg, s, d, proto);
}

// One's-complement sum (reference) of the TCP segment + pseudo-header with
// the checksum and source-port fields zeroed.
std::uint32_t ref_partial_without_port(const Bytes& pkt, const A4& src) {
    Bytes seg(pkt.begin() + 20, pkt.end());
    put16(seg, 16, 0);
    put16(seg, 0, 0);
    const A4 d{pkt[16], pkt[17], pkt[18], pkt[19]};
    return static_cast<std::uint16_t>(~ref_checksum(cat(pseudo4(src, d, 6, seg.size()), seg)));
}

A4 rand_a4(std::mt19937& rng) {
    const auto v = static_cast<std::uint32_t>(rng());
    return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
            static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

}  // namespace

TEST(Incremental, NatRewriteIpv4TcpAndUdpMatchesRecompute) {
    std::mt19937 rng(0xC0FFEE);
    int zero_tcp = 0, zero_ip = 0, udp_zero_case = 0;
    for (int iter = 0; iter < 20000; ++iter) {
        const bool udp = (iter % 3) == 2;
        Bytes payload(rng() % 64);
        for (auto& x : payload) x = static_cast<std::uint8_t>(rng());
        V4Params vp;
        vp.proto = udp ? 17 : 6;
        vp.src = rand_a4(rng);
        vp.dst = rand_a4(rng);
        vp.id = static_cast<std::uint16_t>(rng());
        const auto sport = static_cast<std::uint16_t>(rng());
        Bytes seg = udp ? udp_seg(sport, 53, payload) : tcp_seg(sport, 80, static_cast<std::uint8_t>(rng()), payload);
        Bytes pkt = build_v4(vp, seg);

        A4 new_src = rand_a4(rng);
        auto new_port = static_cast<std::uint16_t>(rng());
        if (iter % 7 == 1) {
            // Pick the new address's low half so the IP header checksum becomes 0x0000.
            Bytes h(pkt.begin(), pkt.begin() + 20);
            put16(h, 10, 0);
            h[14] = new_src[2] = 0;
            h[15] = new_src[3] = 0;
            h[12] = new_src[0];
            h[13] = new_src[1];
            const std::uint16_t partial = static_cast<std::uint16_t>(~ref_checksum(h));
            const auto low = static_cast<std::uint16_t>(~partial);
            new_src[2] = static_cast<std::uint8_t>(low >> 8);
            new_src[3] = static_cast<std::uint8_t>(low & 0xFF);
        }
        if (!udp && iter % 4 == 0) {
            // Pick the port that makes the TCP one's-complement sum 0xFFFF,
            // i.e. a recomputed checksum of exactly 0x0000. Done after the
            // address is final, since the address is in the pseudo-header.
            const std::uint32_t part = ref_partial_without_port(pkt, new_src);
            new_port = static_cast<std::uint16_t>(~part & 0xFFFFu);
            if (part == 0xFFFF) new_port = 0xFFFF;
        }
        if (udp && iter % 5 == 0) {
            put16(pkt, 26, 0);  // sender didn't compute a UDP checksum
            ++udp_zero_case;
        }
        const std::uint16_t old_udp = udp ? get16(pkt, 26) : 0;

        const auto r = net::parse_packet(sp(pkt));
        ASSERT_TRUE(r.ok());
        nat_rewrite_v4(pkt, r.info, new_src, new_port);

        const std::uint16_t ip_c = get16(pkt, 10);
        EXPECT_EQ(ip_c, ref_ip_checksum(pkt)) << iter;
        EXPECT_TRUE(net::ipv4_header_checksum_ok(sp(pkt))) << iter;
        if (ip_c == 0) ++zero_ip;
        const auto r2 = net::parse_packet(sp(pkt));
        ASSERT_TRUE(r2.ok());
        if (udp) {
            if (old_udp == 0) {
                EXPECT_EQ(get16(pkt, 26), 0) << iter;
            } else {
                EXPECT_EQ(get16(pkt, 26), ref_l4_of(pkt, 17)) << iter;
                EXPECT_NE(get16(pkt, 26), 0);
            }
            EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r2.info)) << iter;
        } else {
            const std::uint16_t c = get16(pkt, 36);
            EXPECT_EQ(c, ref_l4_of(pkt, 6)) << iter;
            EXPECT_EQ(net::l4_checksum(sp(pkt), r2.info), c) << iter;
            EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r2.info));
            if (c == 0) ++zero_tcp;
        }
    }
    EXPECT_GT(zero_tcp, 1000);  // the 0x0000 corner was really exercised
    EXPECT_GT(zero_ip, 1000);
    EXPECT_GT(udp_zero_case, 100);
}

TEST(Incremental, UpdateFromZeroChecksumTcp) {
    // Start from a packet whose TCP checksum is 0x0000 and rewrite it.
    std::mt19937 rng(7);
    for (int iter = 0; iter < 2000; ++iter) {
        Bytes pkt = build_v4({}, tcp_seg(0, 443, net::tcpflag::ack, {static_cast<std::uint8_t>(rng())}));
        const std::uint32_t part = ref_partial_without_port(pkt, kSrc4);
        const auto p0 = static_cast<std::uint16_t>(part == 0xFFFF ? 0xFFFF : ~part & 0xFFFF);
        put16(pkt, 20, p0);
        put16(pkt, 36, 0);
        put16(pkt, 36, ref_l4_of(pkt, 6));
        ASSERT_EQ(get16(pkt, 36), 0) << iter;
        const auto r = net::parse_packet(sp(pkt));
        ASSERT_TRUE(r.ok());
        nat_rewrite_v4(pkt, r.info, rand_a4(rng), static_cast<std::uint16_t>(rng()));
        EXPECT_EQ(get16(pkt, 36), ref_l4_of(pkt, 6)) << iter;
        EXPECT_EQ(get16(pkt, 10), ref_ip_checksum(pkt)) << iter;
    }
}

TEST(Incremental, UdpComputedZeroBecomesFFFF) {
    // A UDP datagram whose recomputed checksum is 0 must carry 0xFFFF after
    // an incremental update, and still verify.
    int hits = 0;
    std::mt19937 rng(99);
    for (int iter = 0; iter < 500; ++iter) {
        V4Params vp;
        vp.proto = 17;
        Bytes pkt = build_v4(vp, udp_seg(1111, 53, {static_cast<std::uint8_t>(rng()), 0}));
        const A4 new_src = rand_a4(rng);
        // Choose the new source port so the new datagram sums to 0xFFFF.
        Bytes seg(pkt.begin() + 20, pkt.end());
        put16(seg, 0, 0);
        put16(seg, 6, 0);
        const auto part = static_cast<std::uint16_t>(~ref_checksum(cat(pseudo4(new_src, kDst4, 17, seg.size()), seg)));
        const auto port = static_cast<std::uint16_t>(part == 0xFFFF ? 0xFFFF : ~part & 0xFFFF);
        const auto r = net::parse_packet(sp(pkt));
        ASSERT_TRUE(r.ok());
        nat_rewrite_v4(pkt, r.info, new_src, port);
        EXPECT_EQ(get16(pkt, 26), 0xFFFF) << iter;
        EXPECT_EQ(get16(pkt, 26), ref_l4_of(pkt, 17));
        const auto r2 = net::parse_packet(sp(pkt));
        EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r2.info));
        ++hits;
    }
    EXPECT_EQ(hits, 500);
}

TEST(Incremental, Ipv6AddressAndPortRewrite) {
    std::mt19937 rng(6);
    for (int iter = 0; iter < 5000; ++iter) {
        A16 src{}, dst{}, nsrc{};
        for (std::size_t i = 0; i < 16; ++i) {
            src[i] = static_cast<std::uint8_t>(rng());
            dst[i] = static_cast<std::uint8_t>(rng());
            nsrc[i] = static_cast<std::uint8_t>(rng());
        }
        const bool udp = iter % 2 == 1;
        Bytes payload(rng() % 40);
        for (auto& x : payload) x = static_cast<std::uint8_t>(rng());
        const auto sport = static_cast<std::uint16_t>(rng());
        Bytes pkt = udp ? build_v6(17, 17, udp_seg(sport, 9, payload), {}, true, src, dst)
                        : build_v6(6, 6, tcp_seg(sport, 9, 0, payload), {}, true, src, dst);
        auto nport = static_cast<std::uint16_t>(rng());
        if (iter % 4 < 2) {
            // Force a recomputed checksum of 0x0000 (TCP) / 0xFFFF (UDP).
            Bytes seg(pkt.begin() + 40, pkt.end());
            put16(seg, 0, 0);
            put16(seg, udp ? 6 : 16, 0);
            const auto part = static_cast<std::uint16_t>(
                ~ref_checksum(cat(pseudo6(nsrc, dst, udp ? 17 : 6, seg.size()), seg)));
            nport = static_cast<std::uint16_t>(part == 0xFFFF ? 0xFFFF : ~part & 0xFFFF);
        }
        const auto r = net::parse_packet(sp(pkt));
        ASSERT_TRUE(r.ok());
        const std::size_t coff = 40 + (udp ? 6u : 16u);
        std::uint16_t c = get16(pkt, coff);
        const auto old_src = net::Address::v6(src), new_src = net::Address::v6(nsrc);
        if (udp) {
            c = net::udp_update_bytes(c, old_src.bytes(), new_src.bytes());
            c = net::udp_update16(c, sport, nport);
        } else {
            c = net::update_addr(c, std::span<const std::uint8_t, 16>(src), std::span<const std::uint8_t, 16>(nsrc));
            c = net::update16(c, sport, nport);
        }
        put16(pkt, coff, c);
        for (std::size_t i = 0; i < 16; ++i) pkt[8 + i] = nsrc[i];
        put16(pkt, 40, nport);
        const Bytes seg(pkt.begin() + 40, pkt.end());
        EXPECT_EQ(c, ref_l4_checksum_v6(seg, nsrc, dst, udp ? 17 : 6)) << iter;
        const auto r2 = net::parse_packet(sp(pkt));
        ASSERT_TRUE(r2.ok());
        EXPECT_TRUE(net::l4_checksum_ok(sp(pkt), r2.info)) << iter;
    }
}

TEST(Incremental, IcmpEchoIdRewrite) {
    // ICMP query NAT rewrites the identifier; ICMPv4 has no pseudo-header so
    // the address change doesn't touch the ICMP checksum.
    std::mt19937 rng(1);
    for (int iter = 0; iter < 2000; ++iter) {
        const auto id = static_cast<std::uint16_t>(rng());
        const auto nid = static_cast<std::uint16_t>(rng());
        Bytes pkt = build_v4(v4p(1), icmp_seg(8, 0, id, 1, {static_cast<std::uint8_t>(rng())}));
        put16(pkt, 22, net::update16(get16(pkt, 22), id, nid));
        put16(pkt, 24, nid);
        Bytes seg(pkt.begin() + 20, pkt.end());
        EXPECT_EQ(ref_checksum(seg), 0) << iter;
    }
}

TEST(EndpointText, BothFamiliesAndNone) {
  waygate::Endpoint e;
  EXPECT_EQ(waygate::to_string(e), "");
  e.addr.v4.sin_family = AF_INET;
  e.addr.v4.sin_port = htons(51820);
  ::inet_pton(AF_INET, "192.0.2.1", &e.addr.v4.sin_addr);
  e.len = sizeof e.addr.v4;
  EXPECT_EQ(waygate::to_string(e), "192.0.2.1:51820");
  waygate::Endpoint v6;
  v6.addr.v6.sin6_family = AF_INET6;
  v6.addr.v6.sin6_port = htons(443);
  ::inet_pton(AF_INET6, "2001:db8::1", &v6.addr.v6.sin6_addr);
  v6.len = sizeof v6.addr.v6;
  EXPECT_EQ(waygate::to_string(v6), "[2001:db8::1]:443");
}
