#include "waygate/admin_client.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "waygate/config.hpp"
#include "waygate/secret.hpp"

namespace waygate {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

int remaining_ms(Clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits until fd is ready for `events` or the deadline passes.
bool ready(int fd, short events, Clock::time_point until) {
  pollfd p{fd, events, 0};
  int n;
  do n = ::poll(&p, 1, remaining_ms(until));
  while (n < 0 && errno == EINTR);
  return n == 1;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

int connect_tcp(const std::string& address, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("address '" + address + "' has no port");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), address.c_str() + colon + 1, &hints, &found); rc != 0)
    throw std::runtime_error(fmt::format("{}: {}", address, ::gai_strerror(rc)));
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Fd s{::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) continue;
    if (::connect(s.fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = std::strerror(errno);
      continue;
    }
    int error = 0;
    socklen_t len = sizeof error;
    if (!ready(s.fd, POLLOUT, until)) {
      why = fmt::format("did not answer within {} ms", deadline.count());
      continue;
    }
    if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      why = std::strerror(error);
      continue;
    }
    ::freeaddrinfo(found);
    const int fd = s.fd;
    s.fd = -1;
    return fd;
  }
  ::freeaddrinfo(found);
  throw std::runtime_error(fmt::format("{}: {}", address, why));
}

// Plain sockets and Beast's serializer and parser, no Asio I/O object: the host runs its own Asio
// on io_uring, and one binary must not hold two builds of it (nor may a process that gave up
// CAP_IPC_LOCK count on a new ring's locked memory).
HttpAnswer http_request(const std::string& address, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& token, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  Fd s{connect_tcp(address, deadline)};
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, address);
  req.set(http::field::connection, "close");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  std::ostringstream wire;
  wire << req;
  const std::string out = wire.str();
  for (std::size_t sent = 0; sent < out.size();) {
    if (!ready(s.fd, POLLOUT, until)) throw std::runtime_error(fmt::format("{} did not answer within {} ms", address, deadline.count()));
    const ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw std::runtime_error(fmt::format("{}: {}", address, std::strerror(errno)));
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  std::string pending;
  char buffer[16384];
  while (!parser.is_done()) {
    if (!ready(s.fd, POLLIN, until)) throw std::runtime_error(fmt::format("{} did not answer within {} ms", address, deadline.count()));
    const ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) throw std::runtime_error(fmt::format("{}: {}", address, std::strerror(errno)));
    boost::beast::error_code ec;
    if (n == 0) {
      parser.put_eof(ec);
      if (ec || !parser.is_done()) throw std::runtime_error(fmt::format("{}: the answer ended early", address));
      break;
    }
    pending.append(buffer, static_cast<std::size_t>(n));
    while (!pending.empty() && !parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) throw std::runtime_error(fmt::format("{}: not an HTTP answer: {}", address, ec.message()));
      if (used == 0) break;
    }
  }
  return {parser.get().result_int(), parser.get().body()};
}

AdminAccess admin_access(const std::string& config_file) {
  AdminAccess a;
  Config root = Config::parse_file(config_file);
  if (!root.has("host")) return a;
  Config host = root.table("host");
  a.address = host.string("admin", a.address);
  if (host.has("admin_token_file")) {
    std::filesystem::path f(host.string("admin_token_file"));
    if (f.is_relative()) f = std::filesystem::path(config_file).parent_path() / f;
    a.token = read_secret_file(f.string(), "token file", 1024);
  }
  return a;
}

std::string admin_get(const std::string& address, const std::string& target, const std::string& token) {
  HttpAnswer a = http_request(address, "GET", target, "", token);
  if (a.status != 200) throw std::runtime_error(fmt::format("{} answered {} {}", address, a.status, a.body));
  return a.body;
}

double metric_sum(const std::string& text, const std::string& name) {
  double sum = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (!line.starts_with(name)) continue;
    if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
    const std::size_t space = line.rfind(' ');
    if (space != std::string_view::npos) sum += std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return sum;
}

}  // namespace waygate
