#include "replication.hpp"

#include <sodium.h>

#include <cstring>

namespace waygate::nat {

namespace {

constexpr std::uint8_t kMagic[4] = {'W', 'G', 'N', 'R'};
constexpr std::uint8_t kVersion = 2;
constexpr std::size_t kNonce = crypto_secretbox_NONCEBYTES, kMac = crypto_secretbox_MACBYTES;
constexpr std::size_t kHeader = 4 + 1 + 1 + 8 + 8 + 1 + 2;  // and the sender's name
static_assert(kNonce + kMac + kHeader + kMaxSender == kOverheadBytes);

struct Writer {
  std::uint8_t* p;
  void u8(std::uint8_t v) { *p++ = v; }
  void u16(std::uint16_t v) { u8(static_cast<std::uint8_t>(v >> 8)), u8(static_cast<std::uint8_t>(v)); }
  void u32(std::uint32_t v) { u16(static_cast<std::uint16_t>(v >> 16)), u16(static_cast<std::uint16_t>(v)); }
  void u64(std::uint64_t v) { u32(static_cast<std::uint32_t>(v >> 32)), u32(static_cast<std::uint32_t>(v)); }
  void address(const net::Address& a) {
    std::memset(p, 0, 16);
    std::memcpy(p, a.bytes().data(), a.size());
    p += 16;
  }
};

struct Reader {
  const std::uint8_t* p;
  std::uint8_t u8() { return *p++; }
  std::uint16_t u16() { return static_cast<std::uint16_t>((u8() << 8) | u8()); }
  std::uint32_t u32() { return (std::uint32_t{u16()} << 16) | u16(); }
  std::uint64_t u64() { return (std::uint64_t{u32()} << 32) | u32(); }
  net::Address address(std::uint8_t version) {
    const net::Address a = version == 4 ? net::Address::v4(std::span<const std::uint8_t, 4>(p, 4))
                                        : net::Address::v6(std::span<const std::uint8_t, 16>(p, 16));
    p += 16;
    return a;
  }
};

// libsodium wants its init once before use (it picks implementations, seeds its generator).
void ready() {
  static const bool once = sodium_init() >= 0;
  (void)once;
}

}  // namespace

std::size_t seal(const ReplicationKey& key, const Header& h, std::span<const SessionChange> records,
                 std::span<std::uint8_t> out) {
  const std::size_t plain = kHeader + h.sender_size + records.size() * kRecordBytes;
  if (records.size() > kRecordsPerDatagram || out.size() < kNonce + kMac + plain) return 0;
  ready();
  std::array<std::uint8_t, kMaxDatagram> text;
  Writer w{text.data()};
  for (std::uint8_t b : kMagic) w.u8(b);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(h.kind));
  w.u64(h.epoch);
  w.u64(h.sequence);
  w.u8(h.sender_size);
  for (std::size_t i = 0; i < h.sender_size; ++i) w.u8(static_cast<std::uint8_t>(h.sender_text[i]));
  w.u16(static_cast<std::uint16_t>(records.size()));
  for (const SessionChange& c : records) {
    const SessionState& s = c.state;
    w.u8(c.up ? 1 : 0);
    w.u8(s.version);
    w.u8(s.protocol);
    w.u8(s.tcp);
    w.u32(s.socket);
    w.u32(s.identity);
    w.u32(s.peer);
    w.address(s.inside);
    w.address(s.remote);
    w.u16(s.inside_port);
    w.u16(s.remote_port);
    w.u16(s.outside_port);
  }
  randombytes_buf(out.data(), kNonce);
  crypto_secretbox_easy(out.data() + kNonce, text.data(), plain, out.data(), key.data());
  return kNonce + kMac + plain;
}

std::optional<Datagram> open(const ReplicationKey& key, std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kNonce + kMac + kHeader || bytes.size() > kMaxDatagram) return std::nullopt;
  ready();
  std::array<std::uint8_t, kMaxDatagram> text;
  const std::size_t plain = bytes.size() - kNonce - kMac;
  if (crypto_secretbox_open_easy(text.data(), bytes.data() + kNonce, bytes.size() - kNonce, bytes.data(), key.data()) != 0)
    return std::nullopt;
  Reader r{text.data()};
  for (std::uint8_t b : kMagic)
    if (r.u8() != b) return std::nullopt;
  if (r.u8() != kVersion) return std::nullopt;
  Datagram d;
  const std::uint8_t kind = r.u8();
  if (kind < static_cast<std::uint8_t>(Kind::changes) || kind > static_cast<std::uint8_t>(Kind::ask_snapshot))
    return std::nullopt;
  d.kind = static_cast<Kind>(kind);
  d.epoch = r.u64();
  d.sequence = r.u64();
  const std::size_t named = r.u8();
  if (named > kMaxSender || plain < kHeader + named) return std::nullopt;
  for (std::size_t i = 0; i < named; ++i) d.sender_text[i] = static_cast<char>(r.u8());
  d.sender_size = static_cast<std::uint8_t>(named);
  const std::size_t count = r.u16();
  if (plain != kHeader + named + count * kRecordBytes) return std::nullopt;
  d.records.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    SessionChange c;
    const std::uint8_t up = r.u8();
    SessionState& s = c.state;
    s.version = r.u8();
    if (up > 1 || (s.version != 4 && s.version != 6)) return std::nullopt;
    c.up = up == 1;
    s.protocol = r.u8();
    s.tcp = r.u8();
    s.socket = r.u32();
    s.identity = r.u32();
    s.peer = r.u32();
    s.inside = r.address(s.version);
    s.remote = r.address(s.version);
    s.inside_port = r.u16();
    s.remote_port = r.u16();
    s.outside_port = r.u16();
    d.records.push_back(c);
  }
  return d;
}

Replica::Step Replica::receive(const Datagram& d) {
  if (d.kind == Kind::ask_snapshot) return Step::ignore;  // the standby's own word
  // A snapshot begins: the one asked for, or one the active sends of itself (it restarted).
  if (d.kind == Kind::snapshot_begin && (awaiting_ || d.epoch != epoch_ || d.sequence == next_)) {
    epoch_ = d.epoch;
    next_ = d.sequence + 1;
    awaiting_ = false;
    in_snapshot_ = true;
    return Step::begin;
  }
  if (awaiting_) {
    if (d.epoch == epoch_) return Step::ignore;  // asked already; the link asks again on its timer
    epoch_ = d.epoch;  // another active's start meanwhile: ask it
    return Step::ask;
  }
  if (d.epoch == epoch_ && d.sequence < next_) return Step::ignore;  // old, or repeated
  if (d.epoch != epoch_ || d.sequence != next_) {  // a gap, or the active restarted
    epoch_ = d.epoch;
    awaiting_ = true;
    behind_ = true;
    in_snapshot_ = false;
    return Step::ask;
  }
  ++next_;
  switch (d.kind) {
    case Kind::changes:
      return Step::apply;
    case Kind::snapshot_part:
      return in_snapshot_ ? Step::apply : Step::ignore;
    case Kind::snapshot_end:
      if (!in_snapshot_) return Step::ignore;
      in_snapshot_ = false;
      behind_ = false;
      return Step::end;
    default:
      return Step::ignore;  // a heartbeat: its sequence was the news
  }
}

}  // namespace waygate::nat
