// fuzz-sources: framework/control/control_plane.cpp
// fuzz-flags: -Iframework/control -DBOOST_ASIO_HAS_IO_URING -DBOOST_ASIO_DISABLE_EPOLL -DBOOST_ASIO_NO_DEPRECATED -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -lspdlog -lfmt -luring -pthread -fno-sanitize=function
//
// The admin listener as anyone who reaches it could drive it: the fuzz input is written whole to
// a TCP connection to the host's real control plane (framework/control/control_plane.cpp: Beast's
// parser, the token check, the routing to /healthz, /metrics, the portal's files and the stages'
// endpoints), on loopback with a token set. Whatever arrives — pipelined requests, cut ones,
// garbage — every answer is an HTTP response, the connection ends once the input has, the
// listener keeps accepting, and nothing behind the token (the metrics, a stage's answer, the
// socket writer) is reached by an input that does not carry the token.
// (-fno-sanitize=function: clang 14 cannot emit that check for the coroutines of Asio's awaitables.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "control_plane.hpp"
#include "portal_assets.hpp"

namespace waygate::portal {
// The bundled portal is generated at build time; two stand-ins are enough to route to.
std::span<const Asset> assets() {
  static const std::array<Asset, 2> files = {Asset{"index.html", "text/html", "<html>portal</html>"},
                                             Asset{"portal.js", "text/javascript", "// portal"}};
  return files;
}
}  // namespace waygate::portal

namespace {

constexpr std::string_view kToken = "fuzz-admin-token-5d41402abc4b2a76";
constexpr std::string_view kBehindToken = "BEHIND-THE-TOKEN";  // in every answer that needs it
std::atomic<bool> reached_without_token{false};
std::uint16_t port = 0;

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  ::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len);
  ::close(fd);
  return ntohs(at.sin_port);
}

// A connection to the listener; -1 only if it refuses (it stopped listening). Each comes from its
// own loopback address: hundreds of thousands of them would otherwise run out of port pairs the
// server's TIME_WAIT still holds.
int connect_admin() {
  static std::uint32_t next = 0;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000000u | (1u + (next++ % 0xfffffeu)));
  ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  at.sin_port = htons(port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
  if (rc != 0 && errno == EINTR) {  // libFuzzer's timer signal: the connection goes on without us
    pollfd ready{fd, POLLOUT, 0};
    while (::poll(&ready, 1, 5000) < 0 && errno == EINTR) {
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    rc = (ready.revents & POLLOUT) != 0 && error == 0 ? 0 : -1;
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  return fd;
}

void start_once() {
  if (port != 0) return;
  spdlog::set_level(spdlog::level::off);
  port = free_port();
  static waygate::ControlHooks hooks;
  hooks.admin_token = std::string(kToken);
  hooks.reload = [] {};
  hooks.metrics = [] { return std::string(kBehindToken) + " 1\n"; };
  hooks.request = [](waygate::Listener, waygate::Request r) -> std::optional<waygate::Response> {
    if (r.path.rfind("/v1/", 0) != 0) return std::nullopt;
    return waygate::Response{200, "application/json", "{\"answer\":\"" + std::string(kBehindToken) + "\"}"};
  };
  hooks.create_socket = [](const std::string&) {
    return waygate::Response{201, "application/json", "{\"created\":\"" + std::string(kBehindToken) + "\"}"};
  };
  std::thread([] { waygate::run_control_plane("127.0.0.1:" + std::to_string(port), {}, hooks); }).detach();
  for (int i = 0; i < 500; ++i) {
    int fd = connect_admin();
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  __builtin_trap();  // the listener never came up
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  start_once();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  int fd = connect_admin();
  if (fd < 0) __builtin_trap();  // the listener stopped accepting
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server closed first (it answered garbage and went away): fine
    done += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) __builtin_trap();  // the input ended, the connection did not
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!answer.empty() && answer.rfind("HTTP/1.", 0) != 0) __builtin_trap();
  if (input.find(kToken) == std::string_view::npos && answer.find(kBehindToken) != std::string::npos)
    __builtin_trap();  // something behind the token answered a request without it
  return 0;
}
