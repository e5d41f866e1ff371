// net::bind_port: a port still held a moment (a killed predecessor's socket, closed late) is
// bound once it is let go; one held for good is refused after the wait, with EADDRINUSE.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>

#include "waygate/net/bind.hpp"

namespace {

struct Udp {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ~Udp() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A port the kernel picked, held by the returned socket.
std::uint16_t held_port(const Udp& holder) {
  sockaddr_in a = loopback(0);
  EXPECT_EQ(::bind(holder.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(holder.fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

}  // namespace

TEST(BindPort, APortLetGoAMomentLaterIsBound) {
  auto holder = std::make_unique<Udp>();
  const std::uint16_t port = held_port(*holder);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    holder.reset();
  });
  Udp successor;
  const sockaddr_in a = loopback(port);
  EXPECT_EQ(waygate::net::bind_port(successor.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  release.join();
}

TEST(BindPort, APortHeldForGoodIsRefused) {
  Udp holder;
  const std::uint16_t port = held_port(holder);
  Udp other;
  const sockaddr_in a = loopback(port);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(waygate::net::bind_port(other.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), EADDRINUSE);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << "given up at once";
}
