// fuzz-sources: plugins/wireguard/messages.cpp plugins/wireguard/crypto.cpp plugins/wireguard/noise.cpp
// fuzz-flags: -Iplugins/wireguard -lcrypto -lsodium
//
// libFuzzer target for the WireGuard wire formats (plugins/wireguard/messages.hpp) and the
// responder's half of the handshake (noise.hpp), the code that reads what anyone on the
// network may send.
//
// Every datagram is classified and parsed as each type; parse must agree with classify, and a
// datagram that parses must be written back byte for byte. MAC1 and MAC2 are checked with fixed
// keys, and initiations are fed to Responder::consume with a fixed identity (the seeds in
// tests/fuzz/corpus/wireguard_messages were made for it, so mutations start from messages that
// get past the first AEAD). Any violation hits __builtin_trap() so the fuzzer records a crash.
//
//   bash tests/fuzz/run.sh /tmp/fuzz 60
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "messages.hpp"
#include "noise.hpp"

namespace wg = waygate::wg;

namespace {

#define FUZZ_CHECK(cond)               \
  do {                                 \
    if (!(cond)) __builtin_trap();     \
  } while (0)

// The responder the seed initiations were addressed to: private key 01 02 .. 20.
const wg::Identity& responder_identity() {
  static const wg::Identity id = [] {
    wg::Key k;
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i + 1);
    return wg::Identity::from_private(k);
  }();
  return id;
}

template <std::size_t N>
bool same_bytes(const std::array<std::uint8_t, N>& written, wg::Bytes datagram) {
  return datagram.size() >= N && std::memcmp(written.data(), datagram.data(), N) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wg::Bytes d(data, size);
  const wg::Identity& id = responder_identity();
  auto type = wg::classify(d);

  wg::Initiation initiation;
  bool is_initiation = wg::parse(d, initiation);
  FUZZ_CHECK(is_initiation == (type == wg::MessageType::initiation));
  wg::Response response;
  bool is_response = wg::parse(d, response);
  FUZZ_CHECK(is_response == (type == wg::MessageType::response));
  wg::CookieReply cookie_reply;
  bool is_cookie_reply = wg::parse(d, cookie_reply);
  FUZZ_CHECK(is_cookie_reply == (type == wg::MessageType::cookie_reply));
  wg::TransportHeader header;
  bool is_transport = wg::parse(d, header);
  FUZZ_CHECK(is_transport == (type == wg::MessageType::transport));

  if (is_initiation) {
    std::array<std::uint8_t, wg::kInitiationSize> back{};
    wg::write(initiation, back);
    FUZZ_CHECK(same_bytes(back, d));
    FUZZ_CHECK(wg::mac1_of(d) == initiation.mac1);
  }
  if (is_response) {
    std::array<std::uint8_t, wg::kResponseSize> back{};
    wg::write(response, back);
    FUZZ_CHECK(same_bytes(back, d));
    FUZZ_CHECK(wg::mac1_of(d) == response.mac1);
  }
  if (is_cookie_reply) {
    std::array<std::uint8_t, wg::kCookieReplySize> back{};
    wg::write(cookie_reply, back);
    FUZZ_CHECK(same_bytes(back, d));
  }
  if (is_transport) {
    std::array<std::uint8_t, wg::kTransportHeaderSize> back{};
    wg::write(header, back);
    FUZZ_CHECK(same_bytes(back, d));
  }

  // MACs: only initiations and responses have them; checking anything else is simply false.
  bool mac1 = wg::mac1_valid(d, id.mac1_key);
  FUZZ_CHECK(!mac1 || d.size() == wg::kInitiationSize || d.size() == wg::kResponseSize);
  wg::Mac cookie{};
  cookie[0] = 0x5a;
  bool mac2 = wg::mac2_valid(d, cookie);
  FUZZ_CHECK(!mac2 || d.size() == wg::kInitiationSize || d.size() == wg::kResponseSize);

  if (is_initiation) {
    wg::Responder responder;
    if (responder.consume(id, initiation)) {
      // Only an authentic initiation gets here; answering it must work too.
      wg::PeerKeys peer = wg::PeerKeys::derive(responder.peer_public_key(), wg::Key{});
      wg::Response out;
      wg::Keypair keys = responder.respond(id, peer, 1, out);
      FUZZ_CHECK(out.receiver == initiation.sender);
      FUZZ_CHECK(keys.send != keys.receive);
    }
  }
  return 0;
}
