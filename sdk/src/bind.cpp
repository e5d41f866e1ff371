#include "waygate/net/bind.hpp"

#include <cerrno>
#include <chrono>
#include <thread>

namespace waygate::net {

int bind_port(int fd, const sockaddr* address, socklen_t length) {
  using namespace std::chrono_literals;
  for (int tries = 0;; ++tries) {
    if (::bind(fd, address, length) == 0) return 0;
    if (errno != EADDRINUSE || tries == 20) return errno;
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace waygate::net
