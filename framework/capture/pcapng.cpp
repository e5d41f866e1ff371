#include "pcapng.hpp"

#include <cstring>

namespace waygate::pcapng {

namespace {

void put32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put16(std::string& out, std::uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); }
void pad(std::string& out) { out.append((4 - out.size() % 4) % 4, '\0'); }

// An option: code, length, value padded to 4 bytes.
void option(std::string& out, std::uint16_t code, std::string_view value) {
  put16(out, code);
  put16(out, static_cast<std::uint16_t>(value.size()));
  out.append(value);
  pad(out);
}

// A block: type, total length, body, total length again. The host's byte order, which the
// section header's magic tells readers.
std::string block(std::uint32_t type, const std::string& body) {
  std::string out;
  const auto total = static_cast<std::uint32_t>(12 + body.size());
  put32(out, type);
  put32(out, total);
  out += body;
  put32(out, total);
  return out;
}

}  // namespace

std::string header(std::string_view interface_name) {
  std::string shb;
  put32(shb, 0x1A2B3C4D);  // byte-order magic
  put16(shb, 1);
  put16(shb, 0);
  put32(shb, 0xFFFFFFFF);  // section length: not given
  put32(shb, 0xFFFFFFFF);
  option(shb, 4, "waygate");  // shb_userappl
  put32(shb, 0);              // opt_endofopt
  std::string idb;
  put16(idb, 101);  // LINKTYPE_RAW: IPv4 or IPv6, no link header
  put16(idb, 0);
  put32(idb, kSnapLength);
  option(idb, 2, interface_name);  // if_name
  option(idb, 9, std::string_view("\x06", 1));  // if_tsresol: microseconds
  put32(idb, 0);
  return block(0x0A0D0D0A, shb) + block(0x00000001, idb);
}

std::string packet(std::uint64_t micros, std::span<const std::uint8_t> bytes, std::uint32_t length,
                   std::string_view comment) {
  std::string epb;
  const auto captured = static_cast<std::uint32_t>(bytes.size() < kSnapLength ? bytes.size() : kSnapLength);
  put32(epb, 0);  // interface 0
  put32(epb, static_cast<std::uint32_t>(micros >> 32));
  put32(epb, static_cast<std::uint32_t>(micros));
  put32(epb, captured);
  put32(epb, length);
  epb.append(reinterpret_cast<const char*>(bytes.data()), captured);
  pad(epb);
  option(epb, 1, comment);  // opt_comment
  put32(epb, 0);
  return block(0x00000006, epb);
}

Leading leading(std::string_view blocks, std::uint64_t most) {
  Leading l;
  while (l.blocks < most && l.bytes + 12 <= blocks.size()) {
    std::uint32_t total;  // a block's length, its second word
    std::memcpy(&total, blocks.data() + l.bytes + 4, 4);
    if (total < 12 || l.bytes + total > blocks.size()) break;
    l.bytes += total;
    ++l.blocks;
  }
  return l;
}

}  // namespace waygate::pcapng
