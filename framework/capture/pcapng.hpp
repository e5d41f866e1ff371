// The pcapng blocks a capture is written in (the IETF's pcapng draft): a section header, one
// interface of raw IP packets, and an enhanced packet block per packet with a comment saying its
// direction, stage, identity and socket, which tcpdump and Wireshark read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace waygate::pcapng {

inline constexpr std::uint32_t kSnapLength = 2048;  // bytes kept of a packet; its length is kept whole

// The section header and the interface description: what a file (or stream) starts with.
std::string header(std::string_view interface_name);
// One packet: its time (microseconds since the epoch), bytes (up to kSnapLength of them), whole
// length, and the comment.
std::string packet(std::uint64_t micros, std::span<const std::uint8_t> bytes, std::uint32_t length,
                   std::string_view comment);

// Of blocks one after another (a capture's answer), the first `most` whole ones: how many bytes,
// how many blocks.
struct Leading {
  std::size_t bytes = 0, blocks = 0;
};
Leading leading(std::string_view blocks, std::uint64_t most);

}  // namespace waygate::pcapng
