// waygate/net/checksum.hpp — Internet checksum (RFC 1071) and incremental
// update (RFC 1624) for IPv4/TCP/UDP/ICMP/ICMPv6.
//
// Compute: fold(sum(payload, pseudo_header_sum_v4(...))) gives the value to
// store in the checksum field (with that field zeroed while summing).
// Verify: fold(sum(whole_segment_including_checksum, pseudo)) == 0.
// NAT rewrite: update16/update32/update_addr patch a stored checksum in O(1)
// without touching the payload. UDP needs udp_finalize/udp_update_fixup
// because 0x0000 on the wire means "no checksum" there.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace waygate::net {

namespace detail {

// Reduces a wide accumulator to 16 bits with end-around carry. The result is
// 0 only when the input is 0, which keeps +0/-0 handling consistent with
// RFC 1624 (a non-empty sum of non-zero data is represented as 0xFFFF).
constexpr std::uint32_t fold_carries(std::uint64_t acc) noexcept {
    while ((acc >> 16) != 0) acc = (acc & 0xFFFFu) + (acc >> 16);
    return static_cast<std::uint32_t>(acc);
}

// The sum of n bytes read 8 at a time in the machine's own order, folded to 16 bits and put in
// network order: a one's-complement sum does not care which byte of a word is high, as long as
// the result is swapped back (RFC 1071, "byte order independence"): several times faster than
// reading big-endian words byte by byte.
// With kCopy, each word is also stored at `out` as it is read: a copy and its sum in one pass.
template <bool kCopy>
inline std::uint32_t sum_words_impl(const std::uint8_t* p, std::size_t n, std::uint8_t* out) noexcept {
    // 32-bit halves added into 64-bit sums never carry out (for any packet's length), so the
    // additions are independent of each other and pipeline; four sums quarter the chain (two
    // made cutting a 64 KiB train a third slower: CutTrain in stages_bench).
    std::uint64_t even = 0, odd = 0, even2 = 0, odd2 = 0;
    auto load = [](const std::uint8_t* at, std::size_t bytes) {
        std::uint64_t v = 0;
        std::memcpy(&v, at, bytes);
        return v;
    };
    auto halves = [](std::uint64_t v) { return (v & 0xFFFFFFFFu) + (v >> 32); };
    // The last 1-7 bytes as memcpy(&v, p, n) would put them, but read 4, 2 and 1 at a time into a
    // register: a copy of n bytes became a byte loop into memory and an 8-byte load that waited on
    // those stores, a quarter of the NAT's time per packet (every address it sums is 4 bytes).
    auto tail = [&load](const std::uint8_t* at, std::size_t bytes) {
        if constexpr (std::endian::native != std::endian::little) return load(at, bytes);
        std::uint64_t v = 0;
        unsigned shift = 0;
        if ((bytes & 4) != 0) {
            std::uint32_t w;
            std::memcpy(&w, at, 4);
            v = w;
            at += 4;
            shift = 32;
        }
        if ((bytes & 2) != 0) {
            std::uint16_t w;
            std::memcpy(&w, at, 2);
            v |= std::uint64_t{w} << shift;
            at += 2;
            shift += 16;
        }
        if ((bytes & 1) != 0) v |= std::uint64_t{*at} << shift;
        return v;
    };
    for (; n >= 32; n -= 32, p += 32) {
        const std::uint64_t a = load(p, 8), b = load(p + 8, 8), c = load(p + 16, 8), d = load(p + 24, 8);
        if constexpr (kCopy) {
            std::memcpy(out, &a, 8);
            std::memcpy(out + 8, &b, 8);
            std::memcpy(out + 16, &c, 8);
            std::memcpy(out + 24, &d, 8);
            out += 32;
        }
        even += halves(a);
        odd += halves(b);
        even2 += halves(c);
        odd2 += halves(d);
    }
    even += even2;
    odd += odd2;
    if (n >= 16) {
        const std::uint64_t a = load(p, 8), b = load(p + 8, 8);
        if constexpr (kCopy) {
            std::memcpy(out, &a, 8);
            std::memcpy(out + 8, &b, 8);
            out += 16;
        }
        even += halves(a);
        odd += halves(b);
        n -= 16;
        p += 16;
    }
    if (n >= 8) {
        const std::uint64_t a = load(p, 8);
        if constexpr (kCopy) {
            std::memcpy(out, &a, 8);
            out += 8;
        }
        even += halves(a);
        n -= 8;
        p += 8;
    }
    if (n > 0) {
        if constexpr (kCopy) std::memcpy(out, p, n);
        odd += halves(tail(p, n));  // zero-padded on the right as RFC 1071 pads
    }
    const std::uint64_t acc = even + odd;
    auto folded = static_cast<std::uint16_t>(fold_carries(acc));
    if constexpr (std::endian::native == std::endian::little)
        folded = static_cast<std::uint16_t>((folded >> 8) | (folded << 8));
    return folded;
}

inline std::uint32_t sum_words(const std::uint8_t* p, std::size_t n) noexcept {
    return sum_words_impl<false>(p, n, nullptr);
}

}  // namespace detail

// One's-complement sum of `data` read as big-endian 16-bit words, added to
// `initial` (a previous partial sum or pseudo-header sum). The result is
// already folded to 16 bits, so it can be chained indefinitely.
//
// When summing in pieces every piece except the last must have even length:
// an odd byte is padded with a zero on the right, exactly as RFC 1071 pads the
// end of the data, which is only correct at the very end.
constexpr std::uint32_t sum(std::span<const std::uint8_t> data,
                            std::uint32_t initial = 0) noexcept {
    if (!std::is_constant_evaluated()) {
        return detail::fold_carries(std::uint64_t{initial} + detail::sum_words(data.data(), data.size()));
    }
    std::uint64_t acc = initial;
    std::size_t i = 0;
    const std::size_t n = data.size();
    // 32-bit big-endian words are fine because 2^16 == 1 (mod 0xFFFF), so
    // their contribution after folding equals that of their two halves.
    for (; i + 4 <= n; i += 4) {
        acc += (static_cast<std::uint64_t>(data[i]) << 24) |
               (static_cast<std::uint64_t>(data[i + 1]) << 16) |
               (static_cast<std::uint64_t>(data[i + 2]) << 8) |
               static_cast<std::uint64_t>(data[i + 3]);
    }
    for (; i + 2 <= n; i += 2) {
        acc += (static_cast<std::uint64_t>(data[i]) << 8) | data[i + 1];
    }
    if (i < n) acc += static_cast<std::uint64_t>(data[i]) << 8;
    return detail::fold_carries(acc);
}

// Copies `data` to `out` and returns sum(data): one pass over the bytes where memcpy and sum()
// took two (a segment cut out of a train is copied and then summed for its checksum).
inline std::uint32_t copy_and_sum(std::span<const std::uint8_t> data, std::uint8_t* out) noexcept {
    return detail::fold_carries(detail::sum_words_impl<true>(data.data(), data.size(), out));
}

// Adds one 16-bit / 32-bit value (host order) to a partial sum.
constexpr std::uint32_t sum16(std::uint16_t value, std::uint32_t initial = 0) noexcept {
    return detail::fold_carries(static_cast<std::uint64_t>(initial) + value);
}
constexpr std::uint32_t sum32(std::uint32_t value, std::uint32_t initial = 0) noexcept {
    return detail::fold_carries(static_cast<std::uint64_t>(initial) + (value >> 16) +
                                (value & 0xFFFFu));
}

// Final step: folds carries and complements. This is the value to write into
// the checksum field (for UDP pass it through udp_finalize as well). Applied
// to a sum that included the stored checksum it yields 0 for valid data.
constexpr std::uint16_t fold(std::uint32_t partial) noexcept {
    return static_cast<std::uint16_t>(~detail::fold_carries(partial) & 0xFFFFu);
}

// Convenience: checksum of one contiguous block.
constexpr std::uint16_t checksum(std::span<const std::uint8_t> data,
                                 std::uint32_t initial = 0) noexcept {
    return fold(sum(data, initial));
}

// Pseudo-header sums (RFC 793/768 for IPv4, RFC 8200 §8.1 for IPv6). Pass the
// result as `initial` to sum() over the L4 header+payload. `l4_length` is the
// upper-layer length (L4 header + payload), not the IP total length. ICMPv4
// has no pseudo-header; ICMPv6 does (next header 58).
constexpr std::uint32_t pseudo_header_sum_v4(std::span<const std::uint8_t, 4> src,
                                             std::span<const std::uint8_t, 4> dst,
                                             std::uint8_t protocol,
                                             std::uint16_t l4_length,
                                             std::uint32_t initial = 0) noexcept {
    std::uint32_t s = sum(src, initial);
    s = sum(dst, s);
    s = sum16(protocol, s);
    return sum16(l4_length, s);
}

constexpr std::uint32_t pseudo_header_sum_v6(std::span<const std::uint8_t, 16> src,
                                             std::span<const std::uint8_t, 16> dst,
                                             std::uint8_t next_header,
                                             std::uint32_t l4_length,
                                             std::uint32_t initial = 0) noexcept {
    std::uint32_t s = sum(src, initial);
    s = sum(dst, s);
    s = sum32(l4_length, s);
    return sum16(next_header, s);
}

// ---------------------------------------------------------------------------
// Incremental update, RFC 1624 eqn. 3:  HC' = ~(~HC + ~m + m')
//
// Eqn. 3 is used instead of RFC 1141's HC' = HC + m - m' because the latter
// can produce 0xFFFF where a full recomputation gives 0x0000 (and the other
// way round). Only one's-complement additions of complemented values happen
// here, so the result always equals a from-scratch recomputation. (A stored
// 0xFFFF, which no computation over non-zero data yields, comes back as
// 0x0000; the udp_* wrappers below restore UDP's 0xFFFF.)
//
// Precondition for correctness (not for safety): the changed field starts at
// an even offset of the checksummed data (pseudo-header included). This holds
// for every IP address, port, ICMP identifier and length field.
// ---------------------------------------------------------------------------

// A 16-bit field changed from `old_value` to `new_value` (host order).
constexpr std::uint16_t update16(std::uint16_t check, std::uint16_t old_value,
                                 std::uint16_t new_value) noexcept {
    std::uint64_t acc = static_cast<std::uint16_t>(~check);
    acc += static_cast<std::uint16_t>(~old_value);
    acc += new_value;
    return static_cast<std::uint16_t>(~detail::fold_carries(acc) & 0xFFFFu);
}

// A 32-bit field (e.g. an IPv4 address as a host-order integer) changed.
constexpr std::uint16_t update32(std::uint16_t check, std::uint32_t old_value,
                                 std::uint32_t new_value) noexcept {
    std::uint64_t acc = static_cast<std::uint16_t>(~check);
    acc += static_cast<std::uint16_t>(~(old_value >> 16));
    acc += static_cast<std::uint16_t>(~old_value);
    acc += new_value >> 16;
    acc += new_value & 0xFFFFu;
    return static_cast<std::uint16_t>(~detail::fold_carries(acc) & 0xFFFFu);
}

// Arbitrary byte field changed from `old_bytes` to `new_bytes` (normally the
// same, even length). Uses ~sum(m) == sum(~m) in one's-complement arithmetic,
// so it is eqn. 3 applied to every 16-bit word at once. Never reads outside
// the given spans whatever their sizes.
constexpr std::uint16_t update_bytes(std::uint16_t check,
                                     std::span<const std::uint8_t> old_bytes,
                                     std::span<const std::uint8_t> new_bytes) noexcept {
    std::uint64_t acc = static_cast<std::uint16_t>(~check);
    acc += static_cast<std::uint16_t>(~sum(old_bytes));
    acc += sum(new_bytes);
    return static_cast<std::uint16_t>(~detail::fold_carries(acc) & 0xFFFFu);
}

// IPv4 / IPv6 address changed (addresses as network-order bytes). A NAT calls
// this for the L4 checksum (pseudo-header) and, for IPv4, also for the IP
// header checksum.
constexpr std::uint16_t update_addr(std::uint16_t check, std::span<const std::uint8_t, 4> old_addr,
                                    std::span<const std::uint8_t, 4> new_addr) noexcept {
    return update_bytes(check, old_addr, new_addr);
}
constexpr std::uint16_t update_addr(std::uint16_t check, std::span<const std::uint8_t, 16> old_addr,
                                    std::span<const std::uint8_t, 16> new_addr) noexcept {
    return update_bytes(check, old_addr, new_addr);
}

// ---------------------------------------------------------------------------
// UDP special case. In UDP a transmitted checksum of 0x0000 means "sender did
// not compute one" (allowed for IPv4 only; RFC 8200 forbids it for IPv6), so a
// computed 0x0000 is sent as 0xFFFF (the other representation of zero).
//  * After computing from scratch: udp_finalize(fold(...)).
//  * After an incremental update:  udp_update_fixup(old_check, new_check):
//    an absent (0) checksum must stay absent — updating it would invent a
//    bogus checksum that the receiver would then verify and drop.
// ---------------------------------------------------------------------------
constexpr std::uint16_t udp_finalize(std::uint16_t computed) noexcept {
    return computed == 0 ? std::uint16_t{0xFFFF} : computed;
}

constexpr std::uint16_t udp_update_fixup(std::uint16_t old_check,
                                         std::uint16_t updated) noexcept {
    if (old_check == 0) return 0;
    return udp_finalize(updated);
}

// update16 for a UDP checksum field, with the rules above applied.
constexpr std::uint16_t udp_update16(std::uint16_t check, std::uint16_t old_value,
                                     std::uint16_t new_value) noexcept {
    return udp_update_fixup(check, update16(check, old_value, new_value));
}

// update_bytes for a UDP checksum field, with the rules above applied.
constexpr std::uint16_t udp_update_bytes(std::uint16_t check,
                                         std::span<const std::uint8_t> old_bytes,
                                         std::span<const std::uint8_t> new_bytes) noexcept {
    return udp_update_fixup(check, update_bytes(check, old_bytes, new_bytes));
}

}  // namespace waygate::net
