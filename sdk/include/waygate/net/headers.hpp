// waygate/net/headers.hpp — IPv4/IPv6 packet parsing and header helpers.
//
// parse_packet(bytes) takes a raw IP packet (as read from a TUN device without
// packet-info header) and returns a ParseResult: either a ParseError whose
// to_string() is a stable drop-counter label, or a PacketInfo with addresses,
// offsets, ports/ICMP id and fragment state. Every read is bounds-checked, so
// arbitrary bytes are safe input. parse_embedded() does the same for the
// (usually truncated) packet quoted inside an ICMP error. Flow + FlowHash give
// a 5-tuple key for connection tables.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "waygate/net/checksum.hpp"

namespace waygate::net {

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

// IP protocol / IPv6 next-header numbers.
namespace ipproto {
inline constexpr std::uint8_t hopopts = 0;
inline constexpr std::uint8_t icmp = 1;
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
inline constexpr std::uint8_t routing = 43;
inline constexpr std::uint8_t fragment = 44;
inline constexpr std::uint8_t esp = 50;
inline constexpr std::uint8_t ah = 51;
inline constexpr std::uint8_t icmpv6 = 58;
inline constexpr std::uint8_t none = 59;  // IPv6 "no next header"
inline constexpr std::uint8_t dstopts = 60;
}  // namespace ipproto

// ICMPv4 types (RFC 792) and the codes a NAT cares about.
namespace icmp4 {
inline constexpr std::uint8_t echo_reply = 0;
inline constexpr std::uint8_t dest_unreachable = 3;
inline constexpr std::uint8_t echo_request = 8;
inline constexpr std::uint8_t time_exceeded = 11;
inline constexpr std::uint8_t parameter_problem = 12;
inline constexpr std::uint8_t code_frag_needed = 4;  // with dest_unreachable: PMTU
}  // namespace icmp4

// ICMPv6 types (RFC 4443).
namespace icmp6 {
inline constexpr std::uint8_t dest_unreachable = 1;
inline constexpr std::uint8_t packet_too_big = 2;
inline constexpr std::uint8_t time_exceeded = 3;
inline constexpr std::uint8_t parameter_problem = 4;
inline constexpr std::uint8_t echo_request = 128;
inline constexpr std::uint8_t echo_reply = 129;
}  // namespace icmp6

// TCP flag bits as found in byte 13 of the TCP header.
namespace tcpflag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
inline constexpr std::uint8_t ece = 0x40;
inline constexpr std::uint8_t cwr = 0x80;
}  // namespace tcpflag

inline constexpr std::size_t ipv4_min_header_len = 20;
inline constexpr std::size_t ipv6_header_len = 40;
inline constexpr std::size_t tcp_min_header_len = 20;
inline constexpr std::size_t udp_header_len = 8;
inline constexpr std::size_t icmp_header_len = 8;

// Offsets of the checksum field inside each L4 header.
inline constexpr std::size_t tcp_checksum_offset = 16;
inline constexpr std::size_t udp_checksum_offset = 6;
inline constexpr std::size_t icmp_checksum_offset = 2;
inline constexpr std::size_t ipv4_checksum_offset = 10;

// ---------------------------------------------------------------------------
// Big-endian field access. Checked: out-of-range access returns nullopt/false
// rather than touching memory, so callers can't turn a bad offset into UB.
// Byte shifts (not pointer casts) keep this free of alignment/aliasing issues.
// ---------------------------------------------------------------------------

[[nodiscard]] constexpr std::optional<std::uint16_t> read_be16(std::span<const std::uint8_t> b,
                                                               std::size_t off) noexcept {
    if (off > b.size() || b.size() - off < 2) return std::nullopt;
    return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

[[nodiscard]] constexpr std::optional<std::uint32_t> read_be32(std::span<const std::uint8_t> b,
                                                               std::size_t off) noexcept {
    if (off > b.size() || b.size() - off < 4) return std::nullopt;
    return (static_cast<std::uint32_t>(b[off]) << 24) | (static_cast<std::uint32_t>(b[off + 1]) << 16) |
           (static_cast<std::uint32_t>(b[off + 2]) << 8) | static_cast<std::uint32_t>(b[off + 3]);
}

constexpr bool write_be16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t v) noexcept {
    if (off > b.size() || b.size() - off < 2) return false;
    b[off] = static_cast<std::uint8_t>(v >> 8);
    b[off + 1] = static_cast<std::uint8_t>(v);
    return true;
}

constexpr bool write_be32(std::span<std::uint8_t> b, std::size_t off, std::uint32_t v) noexcept {
    if (off > b.size() || b.size() - off < 4) return false;
    b[off] = static_cast<std::uint8_t>(v >> 24);
    b[off + 1] = static_cast<std::uint8_t>(v >> 16);
    b[off + 2] = static_cast<std::uint8_t>(v >> 8);
    b[off + 3] = static_cast<std::uint8_t>(v);
    return true;
}

// ---------------------------------------------------------------------------
// Address
// ---------------------------------------------------------------------------

enum class Family : std::uint8_t { none = 0, v4 = 4, v6 = 6 };

// An IPv4 or IPv6 address in network byte order. IPv4 uses the first 4 bytes;
// the rest stay zero so that defaulted comparison/hashing see a canonical
// value. Ordering: none < all v4 < all v6, then bytewise.
class Address {
public:
    constexpr Address() noexcept = default;

    static constexpr Address v4(std::span<const std::uint8_t, 4> b) noexcept {
        Address a;
        a.family_ = Family::v4;
        for (std::size_t i = 0; i < 4; ++i) a.bytes_[i] = b[i];
        return a;
    }
    // From a host-order integer, e.g. Address::v4(0xC0A80001) == 192.168.0.1.
    static constexpr Address v4(std::uint32_t host_order) noexcept {
        const std::array<std::uint8_t, 4> b{static_cast<std::uint8_t>(host_order >> 24),
                                            static_cast<std::uint8_t>(host_order >> 16),
                                            static_cast<std::uint8_t>(host_order >> 8),
                                            static_cast<std::uint8_t>(host_order)};
        return v4(std::span<const std::uint8_t, 4>(b));
    }
    static constexpr Address v6(std::span<const std::uint8_t, 16> b) noexcept {
        Address a;
        a.family_ = Family::v6;
        for (std::size_t i = 0; i < 16; ++i) a.bytes_[i] = b[i];
        return a;
    }

    constexpr Family family() const noexcept { return family_; }
    constexpr bool is_v4() const noexcept { return family_ == Family::v4; }
    constexpr bool is_v6() const noexcept { return family_ == Family::v6; }
    // 4, 16, or 0 for a default-constructed address.
    constexpr std::size_t size() const noexcept {
        return family_ == Family::v4 ? 4 : family_ == Family::v6 ? 16 : 0;
    }
    // Network-order bytes, size() long.
    constexpr std::span<const std::uint8_t> bytes() const noexcept {
        return std::span<const std::uint8_t>(bytes_.data(), size());
    }
    // IPv4 as a host-order integer (0 for other families).
    constexpr std::uint32_t v4_host_order() const noexcept {
        if (!is_v4()) return 0;
        return (static_cast<std::uint32_t>(bytes_[0]) << 24) | (static_cast<std::uint32_t>(bytes_[1]) << 16) |
               (static_cast<std::uint32_t>(bytes_[2]) << 8) | static_cast<std::uint32_t>(bytes_[3]);
    }
    // All 16 storage bytes (zero-padded for IPv4); used for hashing.
    constexpr const std::array<std::uint8_t, 16>& raw() const noexcept { return bytes_; }

    // Dotted quad for IPv4; RFC 5952 text for IPv6 (lower-case, longest zero
    // run compressed, IPv4-mapped as ::ffff:a.b.c.d); "-" for none.
    std::string to_string() const;

    friend constexpr auto operator<=>(const Address&, const Address&) noexcept = default;
    friend constexpr bool operator==(const Address&, const Address&) noexcept = default;

private:
    Family family_ = Family::none;
    std::array<std::uint8_t, 16> bytes_{};
};

namespace detail {

inline void append_dotted(std::string& out, const std::uint8_t* b) {
    for (int i = 0; i < 4; ++i) {
        if (i != 0) out.push_back('.');
        out += std::to_string(static_cast<unsigned>(b[i]));
    }
}

inline void append_hex16(std::string& out, std::uint16_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
        const unsigned nib = (v >> shift) & 0xFu;
        if (nib != 0 || started || shift == 0) {
            out.push_back(digits[nib]);
            started = true;
        }
    }
}

}  // namespace detail

inline std::string Address::to_string() const {
    std::string out;
    if (is_v4()) {
        detail::append_dotted(out, bytes_.data());
        return out;
    }
    if (!is_v6()) return "-";

    std::array<std::uint16_t, 8> g{};
    for (std::size_t i = 0; i < 8; ++i)
        g[i] = static_cast<std::uint16_t>((bytes_[2 * i] << 8) | bytes_[2 * i + 1]);

    // IPv4-mapped: the embedded IPv4 address is what an operator recognises.
    if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xFFFF) {
        out = "::ffff:";
        detail::append_dotted(out, bytes_.data() + 12);
        return out;
    }

    // Longest run of >= 2 zero groups; first one wins on ties (RFC 5952 4.2).
    int best_start = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[static_cast<std::size_t>(i)] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && g[static_cast<std::size_t>(j)] == 0) ++j;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) {
        best_start = -1;
        best_len = 0;
    }

    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (i != 0 && i != best_start + best_len) out.push_back(':');
        detail::append_hex16(out, g[static_cast<std::size_t>(i)]);
    }
    return out;
}

inline std::string to_string(const Address& a) { return a.to_string(); }

// Pseudo-header sum for either family; 0 if the families differ or are none
// (a caller bug that must not read out of range).
constexpr std::uint32_t pseudo_header_sum(const Address& src, const Address& dst,
                                          std::uint8_t protocol, std::size_t l4_length,
                                          std::uint32_t initial = 0) noexcept {
    if (src.is_v4() && dst.is_v4())
        return pseudo_header_sum_v4(src.bytes().first<4>(), dst.bytes().first<4>(), protocol,
                                    static_cast<std::uint16_t>(l4_length), initial);
    if (src.is_v6() && dst.is_v6())
        return pseudo_header_sum_v6(src.bytes().first<16>(), dst.bytes().first<16>(), protocol,
                                    static_cast<std::uint32_t>(l4_length), initial);
    return initial;
}

// Incremental checksum update for an address change (same family required;
// returns `check` unchanged otherwise).
constexpr std::uint16_t update_addr(std::uint16_t check, const Address& old_addr,
                                    const Address& new_addr) noexcept {
    if (old_addr.family() != new_addr.family()) return check;
    return update_bytes(check, old_addr.bytes(), new_addr.bytes());
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

// Why a packet was rejected. to_string() values are drop-counter labels:
// keep them stable.
enum class ParseError : std::uint8_t {
    ok = 0,
    truncated,           // buffer ends before a required header, or IP length > buffer
    bad_version,         // version nibble is neither 4 nor 6
    bad_ihl,             // IPv4 IHL < 5
    bad_length,          // IPv4 total length < header length; IPv6 jumbogram
    bad_ext_header,      // IPv6: misplaced hop-by-hop, repeated fragment header
    ext_chain_too_long,  // IPv6: more extension headers than we are willing to walk
    bad_tcp_offset,      // TCP data offset < 5
    bad_udp_length,      // UDP length < 8 or beyond the IP payload
};

constexpr std::string_view to_string(ParseError e) noexcept {
    switch (e) {
        case ParseError::ok: return "ok";
        case ParseError::truncated: return "truncated";
        case ParseError::bad_version: return "bad_version";
        case ParseError::bad_ihl: return "bad_ihl";
        case ParseError::bad_length: return "bad_length";
        case ParseError::bad_ext_header: return "bad_ext_header";
        case ParseError::ext_chain_too_long: return "ext_chain_too_long";
        case ParseError::bad_tcp_offset: return "bad_tcp_offset";
        case ParseError::bad_udp_length: return "bad_udp_length";
    }
    return "unknown";
}

// Limit on IPv6 extension headers walked. Legitimate traffic uses a handful;
// the cap bounds per-packet work on crafted chains of tiny headers.
inline constexpr unsigned ipv6_max_ext_headers = 8;

struct PacketInfo {
    std::uint8_t version = 0;   // 4 or 6
    std::uint8_t protocol = 0;  // L4 protocol; IPv6: first next-header not walked
    std::uint8_t ttl = 0;       // IPv4 TTL / IPv6 hop limit

    // Lengths/offsets in bytes from the start of the buffer.
    std::size_t l3_header_len = 0;      // IPv4 IHL*4; IPv6 40 + walked ext headers
    std::size_t l4_offset = 0;          // == l3_header_len
    std::size_t total_len_claimed = 0;  // IPv4 total length; IPv6 40 + payload length
    std::size_t total_len_present = 0;  // bytes in the buffer
    std::size_t trailing_bytes = 0;     // present beyond claimed (padding); ignore them

    Address src;
    Address dst;

    // Fragmentation. An IPv6 atomic fragment (offset 0, M=0) is not a fragment.
    bool is_fragment = false;         // part of a fragmented datagram
    bool non_first_fragment = false;  // offset != 0: no L4 header, no ports
    bool more_fragments = false;
    bool dont_fragment = false;        // IPv4 DF
    std::size_t frag_offset = 0;       // bytes
    std::uint32_t frag_id = 0;         // IPv4: 16-bit id; IPv6: 32-bit id

    // L4. Only meaningful when the matching has_* flag is set.
    bool has_ports = false;  // TCP/UDP with header present
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::size_t l4_header_len = 0;  // TCP data offset*4, UDP/ICMP 8; 0 if not parsed
    std::uint8_t tcp_flags = 0;     // tcpflag:: bits

    bool is_icmp = false;  // ICMP over IPv4 or ICMPv6 over IPv6, header present
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    bool has_icmp_id = false;  // echo request/reply
    std::uint16_t icmp_id = 0;
    std::uint16_t icmp_seq = 0;

    // End of IP data actually usable: min(claimed, present).
    constexpr std::size_t packet_end() const noexcept {
        return std::min(total_len_claimed, total_len_present);
    }
    // Bytes from the L4 header to packet_end() (the L4 length for checksums
    // when the packet is complete).
    constexpr std::size_t l4_len() const noexcept {
        const std::size_t end = packet_end();
        return end > l4_offset ? end - l4_offset : 0;
    }
    constexpr bool is_tcp() const noexcept { return protocol == ipproto::tcp; }
    constexpr bool is_udp() const noexcept { return protocol == ipproto::udp; }
};

struct ParseResult {
    ParseError error = ParseError::ok;
    PacketInfo info{};

    constexpr bool ok() const noexcept { return error == ParseError::ok; }
    constexpr explicit operator bool() const noexcept { return ok(); }
};

namespace detail {

// Byte accessors for the parser; callers have already checked bounds.
constexpr std::uint16_t ld16(std::span<const std::uint8_t> b, std::size_t off) noexcept {
    return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}
constexpr std::uint32_t ld32(std::span<const std::uint8_t> b, std::size_t off) noexcept {
    return (static_cast<std::uint32_t>(ld16(b, off)) << 16) | ld16(b, off + 2);
}

// `embedded`: the packet is quoted inside an ICMP error, so IP total length
// may exceed what is present and only the first 8 L4 bytes are guaranteed
// (RFC 792). Ports/ICMP id are still extracted from those 8 bytes.
//
// It fills `p` in place and returns only the error: parse_impl() below then returns one named
// result, which the compiler builds in the caller's memory. (Returning a fresh result on each
// failure made it build the whole struct on the stack, byte fields one by one, and copy it out
// with 16-byte loads that waited on those stores: a third of the NAT's time per packet.)
constexpr ParseError parse_into(std::span<const std::uint8_t> b, bool embedded, PacketInfo& p) noexcept {
    p.total_len_present = b.size();
    if (b.empty()) return ParseError::truncated;

    const unsigned version = b[0] >> 4;
    std::size_t end = 0;  // end of usable IP data
    std::size_t off = 0;  // current header offset

    if (version == 4) {
        if (b.size() < ipv4_min_header_len) return ParseError::truncated;
        const std::size_t ihl = static_cast<std::size_t>(b[0] & 0x0Fu) * 4;
        if (ihl < ipv4_min_header_len) return ParseError::bad_ihl;
        if (b.size() < ihl) return ParseError::truncated;
        const std::size_t tot = ld16(b, 2);
        if (tot < ihl) return ParseError::bad_length;
        if (tot > b.size() && !embedded) return ParseError::truncated;

        p.version = 4;
        p.total_len_claimed = tot;
        const std::uint16_t frag = ld16(b, 6);
        p.frag_id = ld16(b, 4);
        p.dont_fragment = (frag & 0x4000u) != 0;
        p.more_fragments = (frag & 0x2000u) != 0;
        p.frag_offset = static_cast<std::size_t>(frag & 0x1FFFu) * 8;
        p.is_fragment = p.more_fragments || p.frag_offset != 0;
        p.non_first_fragment = p.frag_offset != 0;
        p.ttl = b[8];
        p.protocol = b[9];
        p.src = Address::v4(b.subspan<12, 4>());
        p.dst = Address::v4(b.subspan<16, 4>());
        off = ihl;
        end = std::min(tot, b.size());
    } else if (version == 6) {
        if (b.size() < ipv6_header_len) return ParseError::truncated;
        const std::size_t payload = ld16(b, 4);
        std::uint8_t nh = b[6];
        // Payload length 0 with hop-by-hop is a jumbogram (RFC 2675): never
        // valid on a TUN MTU, and its real length lives in an option.
        if (payload == 0 && nh == ipproto::hopopts) return ParseError::bad_length;
        const std::size_t tot = ipv6_header_len + payload;
        if (tot > b.size() && !embedded) return ParseError::truncated;

        p.version = 6;
        p.total_len_claimed = tot;
        p.ttl = b[7];
        p.src = Address::v6(b.subspan<8, 16>());
        p.dst = Address::v6(b.subspan<24, 16>());
        end = std::min(tot, b.size());
        off = ipv6_header_len;

        bool seen_fragment = false;
        for (unsigned count = 0;; ++count) {
            const bool is_ext = nh == ipproto::hopopts || nh == ipproto::routing ||
                                nh == ipproto::dstopts || nh == ipproto::fragment;
            if (!is_ext) break;
            if (count >= ipv6_max_ext_headers) return ParseError::ext_chain_too_long;
            if (nh == ipproto::hopopts && off != ipv6_header_len)
                return ParseError::bad_ext_header;
            if (nh == ipproto::fragment) {
                if (seen_fragment) return ParseError::bad_ext_header;
                seen_fragment = true;
                if (end - off < 8) return ParseError::truncated;
                const std::uint16_t fo = ld16(b, off + 2);
                const std::size_t frag_off = fo & 0xFFF8u;
                const bool m = (fo & 0x1u) != 0;
                nh = b[off];
                off += 8;
                p.frag_id = ld32(b, off - 4);
                p.frag_offset = frag_off;
                p.more_fragments = m;
                p.is_fragment = m || frag_off != 0;
                p.non_first_fragment = frag_off != 0;
                // Later headers belong to the reassembled payload, which a
                // non-first fragment doesn't start with.
                if (p.non_first_fragment) break;
                continue;
            }
            if (end - off < 2) return ParseError::truncated;
            const std::size_t len = (static_cast<std::size_t>(b[off + 1]) + 1) * 8;
            if (end - off < len) return ParseError::truncated;
            nh = b[off];
            off += len;
        }
        p.protocol = nh;
    } else {
        return ParseError::bad_version;
    }

    p.l3_header_len = off;
    p.l4_offset = off;
    p.trailing_bytes = b.size() > p.total_len_claimed ? b.size() - p.total_len_claimed : 0;

    if (p.non_first_fragment) return ParseError::ok;

    const std::size_t avail = end - off;  // off <= end holds on every path above
    // Fragments and quoted packets carry only the start of the L4 data, so
    // length fields describing the whole datagram can't be checked against it.
    const bool partial = embedded || p.is_fragment;
    const bool icmp_here = (p.version == 4 && p.protocol == ipproto::icmp) ||
                           (p.version == 6 && p.protocol == ipproto::icmpv6);

    if (p.protocol == ipproto::tcp) {
        const std::size_t need = embedded ? 8 : tcp_min_header_len;
        if (avail < need) return ParseError::truncated;
        p.has_ports = true;
        p.src_port = ld16(b, off);
        p.dst_port = ld16(b, off + 2);
        if (avail >= 13) {
            const std::size_t doff = static_cast<std::size_t>(b[off + 12] >> 4) * 4;
            if (doff < tcp_min_header_len) return ParseError::bad_tcp_offset;
            if (doff > avail && !partial) return ParseError::truncated;
            p.l4_header_len = doff;
        }
        if (avail >= 14) p.tcp_flags = b[off + 13];
    } else if (p.protocol == ipproto::udp) {
        if (avail < udp_header_len) return ParseError::truncated;
        const std::size_t ulen = ld16(b, off + 4);
        if (!partial && (ulen < udp_header_len || ulen > avail))
            return ParseError::bad_udp_length;
        p.has_ports = true;
        p.src_port = ld16(b, off);
        p.dst_port = ld16(b, off + 2);
        p.l4_header_len = udp_header_len;
    } else if (icmp_here) {
        if (avail < icmp_header_len) return ParseError::truncated;
        p.is_icmp = true;
        p.icmp_type = b[off];
        p.icmp_code = b[off + 1];
        p.l4_header_len = icmp_header_len;
        const bool echo = p.version == 4
                              ? (p.icmp_type == icmp4::echo_request || p.icmp_type == icmp4::echo_reply)
                              : (p.icmp_type == icmp6::echo_request || p.icmp_type == icmp6::echo_reply);
        if (echo) {
            p.has_icmp_id = true;
            p.icmp_id = ld16(b, off + 4);
            p.icmp_seq = ld16(b, off + 6);
        }
    }
    return ParseError::ok;
}

constexpr ParseResult parse_impl(std::span<const std::uint8_t> b, bool embedded) noexcept {
    ParseResult r;
    r.error = parse_into(b, embedded, r.info);
    if (r.error != ParseError::ok) r.info = PacketInfo{};  // a failure tells nothing else
    return r;
}

}  // namespace detail

// Parses a complete IP packet. Trailing bytes beyond the IP length are
// tolerated and reported; an IP length beyond the buffer is `truncated`.
// The IPv4 header checksum is not verified here (see ipv4_header_checksum_ok).
constexpr ParseResult parse_packet(std::span<const std::uint8_t> bytes) noexcept {
    return detail::parse_impl(bytes, false);
}

// Parses the IP packet quoted in an ICMP error body (after the 8-byte ICMP
// header). The quote is usually cut short, so an IP length larger than the
// buffer is accepted and only 8 L4 bytes are required; tcp_flags and
// l4_header_len are filled only if present.
constexpr ParseResult parse_embedded(std::span<const std::uint8_t> bytes) noexcept {
    return detail::parse_impl(bytes, true);
}

// ---------------------------------------------------------------------------
// Checksum helpers tied to headers
// ---------------------------------------------------------------------------

// IPv4 header checksum over IHL*4 bytes with the checksum field taken as 0.
// nullopt if `pkt` isn't an IPv4 header that fits in the buffer.
constexpr std::optional<std::uint16_t> ipv4_header_checksum(std::span<const std::uint8_t> pkt) noexcept {
    if (pkt.size() < ipv4_min_header_len || (pkt[0] >> 4) != 4) return std::nullopt;
    const std::size_t ihl = static_cast<std::size_t>(pkt[0] & 0x0Fu) * 4;
    if (ihl < ipv4_min_header_len || ihl > pkt.size()) return std::nullopt;
    std::uint32_t s = sum(pkt.first(ipv4_checksum_offset));
    s = sum(pkt.subspan(ipv4_checksum_offset + 2, ihl - ipv4_checksum_offset - 2), s);
    return fold(s);
}

// True if the stored IPv4 header checksum is correct.
constexpr bool ipv4_header_checksum_ok(std::span<const std::uint8_t> pkt) noexcept {
    if (!ipv4_header_checksum(pkt)) return false;
    const std::size_t ihl = static_cast<std::size_t>(pkt[0] & 0x0Fu) * 4;
    return fold(sum(pkt.first(ihl))) == 0;
}

// Computes and stores the IPv4 header checksum; false if not a valid header.
constexpr bool ipv4_set_header_checksum(std::span<std::uint8_t> pkt) noexcept {
    const auto c = ipv4_header_checksum(pkt);
    if (!c) return false;
    return write_be16(pkt, ipv4_checksum_offset, *c);
}

// Offset of the checksum field inside the L4 header for `protocol` on IP
// `version`, or nullopt when the protocol has none we know.
constexpr std::optional<std::size_t> l4_checksum_offset(std::uint8_t version,
                                                        std::uint8_t protocol) noexcept {
    if (protocol == ipproto::tcp) return tcp_checksum_offset;
    if (protocol == ipproto::udp) return udp_checksum_offset;
    if ((version == 4 && protocol == ipproto::icmp) || (version == 6 && protocol == ipproto::icmpv6))
        return icmp_checksum_offset;
    return std::nullopt;
}

// Computes the TCP/UDP/ICMP/ICMPv6 checksum of a parsed, complete,
// unfragmented packet, treating the stored checksum field as 0. For UDP the
// result is already udp_finalize()d. nullopt for fragments, unknown
// protocols or when the L4 header isn't fully present.
// Note: with an IPv6 routing header the pseudo-header should use the final
// destination (RFC 8200 §8.1); this uses the IPv6 header's destination.
constexpr std::optional<std::uint16_t> l4_checksum(std::span<const std::uint8_t> pkt,
                                                   const PacketInfo& info) noexcept {
    if (info.is_fragment || info.packet_end() > pkt.size()) return std::nullopt;
    const auto coff = l4_checksum_offset(info.version, info.protocol);
    if (!coff) return std::nullopt;
    const std::size_t len = info.l4_len();
    if (info.l4_offset > pkt.size() || len < *coff + 2) return std::nullopt;
    const auto seg = pkt.subspan(info.l4_offset, len);
    std::uint32_t s = 0;
    if (!(info.version == 4 && info.protocol == ipproto::icmp))
        s = pseudo_header_sum(info.src, info.dst, info.protocol, len);
    s = sum(seg.first(*coff), s);  // *coff is even, so piecewise summing is exact
    s = sum(seg.subspan(*coff + 2), s);
    const std::uint16_t c = fold(s);
    return info.protocol == ipproto::udp ? udp_finalize(c) : c;
}

// True if the stored L4 checksum verifies (an IPv4 UDP checksum of 0 counts
// as "not present" and passes). False when l4_checksum() would be nullopt.
constexpr bool l4_checksum_ok(std::span<const std::uint8_t> pkt, const PacketInfo& info) noexcept {
    const auto c = l4_checksum(pkt, info);
    if (!c) return false;
    const auto stored = read_be16(pkt, info.l4_offset + *l4_checksum_offset(info.version, info.protocol));
    if (!stored) return false;
    if (info.version == 4 && info.protocol == ipproto::udp && *stored == 0) return true;
    return *stored == *c;
}

// ---------------------------------------------------------------------------
// Flow
// ---------------------------------------------------------------------------

// 5-tuple. For ICMP echo both ports hold the identifier, so a reply's flow
// is exactly reversed() of the request's flow.
struct Flow {
    Address src;
    Address dst;
    std::uint8_t protocol = 0;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;

    constexpr Flow reversed() const noexcept { return Flow{dst, src, protocol, dst_port, src_port}; }

    friend constexpr auto operator<=>(const Flow&, const Flow&) noexcept = default;
    friend constexpr bool operator==(const Flow&, const Flow&) noexcept = default;
};

// Flow of a parsed packet. Ports are 0 when the packet has none (non-first
// fragments, other protocols, ICMP other than echo).
constexpr Flow flow_of(const PacketInfo& p) noexcept {
    Flow f{p.src, p.dst, p.protocol, 0, 0};
    if (p.has_ports) {
        f.src_port = p.src_port;
        f.dst_port = p.dst_port;
    } else if (p.has_icmp_id) {
        f.src_port = p.icmp_id;
        f.dst_port = p.icmp_id;
    }
    return f;
}

inline std::string to_string(const Flow& f) {
    auto ep = [](const Address& a, std::uint16_t port) {
        std::string s = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
        return s + ":" + std::to_string(port);
    };
    return ep(f.src, f.src_port) + " -> " + ep(f.dst, f.dst_port) + " proto " +
           std::to_string(static_cast<unsigned>(f.protocol));
}

namespace detail {

constexpr std::uint64_t load_le64(const std::array<std::uint8_t, 16>& a, std::size_t off) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(a[off + i]) << (8 * i);
    return v;
}

// Multiply-xorshift mixing step; the odd multipliers spread every input bit
// over the word, the shifts feed high bits back down.
constexpr std::uint64_t mix64(std::uint64_t h, std::uint64_t w) noexcept {
    h ^= w;
    h *= 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;
    return h;
}

constexpr std::uint64_t finalize64(std::uint64_t h) noexcept {
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 31;
    return h;
}

}  // namespace detail

// Flow hash for hash tables and spreading flows over workers. Fast and
// seeded, NOT cryptographic: pick a random seed per process so remote hosts
// can't cheaply aim collisions at one bucket, but don't rely on it against a
// determined attacker, and don't persist values (they may change between
// versions).
constexpr std::uint64_t hash(const Flow& f, std::uint64_t seed = 0) noexcept {
    std::uint64_t h = seed ^ 0x243F6A8885A308D3ull;
    h = detail::mix64(h, detail::load_le64(f.src.raw(), 0));
    h = detail::mix64(h, detail::load_le64(f.src.raw(), 8));
    h = detail::mix64(h, detail::load_le64(f.dst.raw(), 0));
    h = detail::mix64(h, detail::load_le64(f.dst.raw(), 8));
    h = detail::mix64(h, (static_cast<std::uint64_t>(f.src.family()) << 56) |
                             (static_cast<std::uint64_t>(f.dst.family()) << 48) |
                             (static_cast<std::uint64_t>(f.protocol) << 32) |
                             (static_cast<std::uint64_t>(f.src_port) << 16) | f.dst_port);
    return detail::finalize64(h);
}

// Same value for a flow and its reversed(): both directions of a connection
// land on the same worker/bucket.
constexpr std::uint64_t hash_symmetric(const Flow& f, std::uint64_t seed = 0) noexcept {
    const Flow r = f.reversed();
    return hash(r < f ? r : f, seed);
}

// std::unordered_map<Flow, V, FlowHash>{0, FlowHash{seed}}.
struct FlowHash {
    std::uint64_t seed = 0;
    std::size_t operator()(const Flow& f) const noexcept { return static_cast<std::size_t>(hash(f, seed)); }
};

}  // namespace waygate::net
