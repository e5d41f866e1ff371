#include "waygate/admin_client.hpp"
#include "waygate/metric_names.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <fmt/format.h>

#include "waygate/config.hpp"
#include "waygate/secret.hpp"

namespace waygate {

namespace http = boost::beast::http;
using Clock = Connection::Clock;

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

std::string tls_error() {
  const unsigned long e = ::ERR_get_error();
  char text[256] = "unknown TLS error";
  if (e != 0) ::ERR_error_string_n(e, text, sizeof text);
  return text;
}

int connect_tcp(const std::string& address, Clock::time_point until) {
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
    const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int error = 0;
    socklen_t len = sizeof error;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) why = std::strerror(errno);
    else if (!ready(fd, POLLOUT, until)) why = "did not answer in time";
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) why = std::strerror(error);
    else {
      ::freeaddrinfo(found);
      // A peer gone without a word (its host lost, a link cut) ends a long read, such as a
      // watch's stream, within about 20 s instead of never: TCP asks after 10 s of quiet.
      const int on = 1, idle = 10, interval = 3, probes = 3;
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
      return fd;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  throw std::runtime_error(fmt::format("{}: {}", address, why));
}

}  // namespace

Connection::Connection(const std::string& address, Clock::time_point until, const Tls* tls)
    : address_(address), fd_(connect_tcp(address, until)) {
  if (tls == nullptr) return;
  auto fail = [&](const std::string& why) {
    close();  // a constructor that throws runs no destructor
    throw std::runtime_error(fmt::format("{}: TLS: {}", address, why));
  };
  SSL_CTX* ctx = ::SSL_CTX_new(::TLS_client_method());
  ctx_ = ctx;
  if (ctx == nullptr) fail(tls_error());
  ::SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (::SSL_CTX_load_verify_locations(ctx, tls->ca.c_str(), nullptr) != 1) fail("ca " + tls->ca + ": " + tls_error());
  if (!tls->cert.empty() && ::SSL_CTX_use_certificate_chain_file(ctx, tls->cert.c_str()) != 1)
    fail("cert " + tls->cert + ": " + tls_error());
  if (!tls->key.empty() && ::SSL_CTX_use_PrivateKey_file(ctx, tls->key.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("key " + tls->key + ": " + tls_error());
  SSL* ssl = ::SSL_new(ctx);
  ssl_ = ssl;
  if (ssl == nullptr) fail(tls_error());
  ::SSL_set_fd(ssl, fd_);
  // The certificate must name what was dialled: an IP literal, or a DNS name.
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl);
  if (::X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    ::X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    ::SSL_set_tlsext_host_name(ssl, host.c_str());
  }
  for (;;) {
    const int rc = ::SSL_connect(ssl);
    if (rc == 1) break;
    const int e = ::SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ && ready(fd_, POLLIN, until)) continue;
    if (e == SSL_ERROR_WANT_WRITE && ready(fd_, POLLOUT, until)) continue;
    const long verify = ::SSL_get_verify_result(ssl);
    fail(verify != X509_V_OK ? ::X509_verify_cert_error_string(verify) : tls_error());
  }
}

Connection::~Connection() { close(); }

void Connection::close() {
  if (ssl_ != nullptr) ::SSL_free(static_cast<SSL*>(ssl_));
  if (ctx_ != nullptr) ::SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
  ssl_ = ctx_ = nullptr;
  fd_ = -1;
}

void Connection::abort() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Connection::send(std::string_view bytes, Clock::time_point until) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    if (ssl_ != nullptr) {
      const int n = ::SSL_write(static_cast<SSL*>(ssl_), bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      const int e = ::SSL_get_error(static_cast<SSL*>(ssl_), n);
      if ((e == SSL_ERROR_WANT_WRITE && ready(fd_, POLLOUT, until)) || (e == SSL_ERROR_WANT_READ && ready(fd_, POLLIN, until)))
        continue;
      throw std::runtime_error(fmt::format("{}: TLS: {}", address_, tls_error()));
    }
    if (!ready(fd_, POLLOUT, until)) throw std::runtime_error(fmt::format("{} did not answer in time", address_));
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw std::runtime_error(fmt::format("{}: {}", address_, std::strerror(errno)));
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
}

std::size_t Connection::receive(char* buffer, std::size_t size, Clock::time_point until) {
  for (;;) {
    if (ssl_ != nullptr) {
      const int n = ::SSL_read(static_cast<SSL*>(ssl_), buffer, static_cast<int>(size));
      if (n > 0) return static_cast<std::size_t>(n);
      const int e = ::SSL_get_error(static_cast<SSL*>(ssl_), n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!ready(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until))
          throw std::runtime_error(fmt::format("{} did not answer in time", address_));
        continue;
      }
      ::ERR_clear_error();
      return 0;  // closed, reset or broken: the stream ends here, as a plain socket's would
    }
    if (!ready(fd_, POLLIN, until)) throw std::runtime_error(fmt::format("{} did not answer in time", address_));
    const ssize_t n = ::recv(fd_, buffer, size, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EAGAIN && errno != EINTR) return 0;
  }
}

// Beast's serializer and parser over a Connection, no Asio I/O object: the host runs its own Asio
// on io_uring, and one binary must not hold two builds of it (nor can a process that gave up
// CAP_IPC_LOCK count on a new ring's locked memory).
HttpAnswer http_request(const std::string& address, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& token, std::chrono::milliseconds deadline,
                        const Tls* tls) {
  const auto until = Clock::now() + deadline;
  Connection c(address, until, tls);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, address);
  req.set(http::field::connection, "close");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  // The admin API takes a change (any method but GET) only as JSON: a DELETE without a body too.
  if (!body.empty() || (method != "GET" && method != "HEAD")) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  std::ostringstream wire;
  wire << req;
  c.send(wire.str(), until);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  std::string pending;
  char buffer[16384];
  while (!parser.is_done()) {
    const std::size_t n = c.receive(buffer, sizeof buffer, until);
    boost::beast::error_code ec;
    if (n == 0) {
      parser.put_eof(ec);
      if (ec || !parser.is_done()) throw std::runtime_error(fmt::format("{}: the answer ended early", address));
      break;
    }
    pending.append(buffer, n);
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

namespace {

// The sum of the values of the sample lines `counts` takes.
template <class Counts>
double sum_lines(const std::string& text, Counts&& counts) {
  double sum = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#' || !counts(line)) continue;
    const std::size_t space = line.rfind(' ');
    if (space != std::string_view::npos) sum += std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return sum;
}

}  // namespace

double metric_sum(const std::string& text, const std::string& name) {
  return sum_lines(text, [&](std::string_view line) {
    return line.starts_with(name) && (line.size() == name.size() || line[name.size()] == '{' || line[name.size()] == ' ');
  });
}

double metric_sum_of(const std::string& text, std::string_view name) {
  return sum_lines(text, [&](std::string_view line) { return metric::is(line.substr(0, line.find_first_of("{ ")), name); });
}

}  // namespace waygate
