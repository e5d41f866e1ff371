// The anti-replay window for transport counters (RFC 6479's bitmap): a counter is accepted once,
// and only if it is at most kWindow behind the highest one accepted. check() before decrypting
// (cheap rejection), update() only after the packet authenticated.
#pragma once

#include <array>
#include <cstdint>

namespace waygate::wg {

class ReplayWindow {
 public:
  static constexpr std::uint64_t kWindow = 8192 - 64;  // counters kept behind the newest
  // Whitepaper 6.4: a keypair accepts no counter at or beyond this.
  static constexpr std::uint64_t kRejectAfterMessages = ~std::uint64_t{0} - (1u << 13);

  bool check(std::uint64_t counter) const;
  // Marks counter as seen; returns false (and changes nothing) if check() would have refused it.
  bool update(std::uint64_t counter);
  void reset();

 private:
  std::uint64_t newest_ = 0;
  bool any_ = false;
  std::array<std::uint64_t, 8192 / 64> bits_{};
};

}  // namespace waygate::wg
