// The HTTP client of commands and the host: requests to a running host's admin API ([host] admin)
// for `waygate stats` and the doctors, to a connector's clients' API through the tunnel for
// `waygate client`, and to etcd (over TLS where it asks). One request per connection, with a
// deadline: a tunnel without a session would otherwise hold a command for the kernel's two
// minutes of SYN retries.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace waygate {

// TLS with a client certificate, as an etcd cluster that checks its clients asks: PEM files.
// The server's certificate must chain to `ca` and name the address dialled (its IP or DNS name).
struct Tls {
  std::string ca, cert, key;
};

// One connection to "host:port" (an IP literal or a name), TCP or TLS over it, every step within
// a deadline: what the HTTP client below and a client reading a stream of its own (etcd's watch)
// stand on. Throws std::runtime_error naming the address.
class Connection {
 public:
  using Clock = std::chrono::steady_clock;
  Connection(const std::string& address, Clock::time_point until, const Tls* tls = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(std::string_view bytes, Clock::time_point until);
  // Some bytes into `buffer`; 0 at the end of the stream (or when it broke). Throws only when the
  // deadline passes first.
  std::size_t receive(char* buffer, std::size_t size, Clock::time_point until);
  // Ends the connection from another thread: a receive() waiting returns 0.
  void abort();

 private:
  void close();
  std::string address_;
  int fd_ = -1;
  void* ctx_ = nullptr;  // SSL_CTX, SSL: OpenSSL stays out of this header
  void* ssl_ = nullptr;
};

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

// `address`: "127.0.0.1:9190" or "[::1]:9190". Throws std::runtime_error naming the address when
// nothing answers in time. `token`: a bearer token, when the host requires one; `tls`: TLS.
HttpAnswer http_request(const std::string& address, const std::string& method, const std::string& target,
                        const std::string& body = "", const std::string& token = "",
                        std::chrono::milliseconds deadline = std::chrono::seconds(5), const Tls* tls = nullptr);

// Where a host's admin API listens and the token it wants, from the config file's [host] table
// (admin, admin_token_file); the defaults when the file has none. Throws ConfigError as the host
// would for a token file it refuses.
struct AdminAccess {
  std::string address = "127.0.0.1:9190";
  std::string token;
};
AdminAccess admin_access(const std::string& config_file);

// The body of a 200 answer to a GET; throws std::runtime_error naming the address for anything
// else (nothing listening, another status).
std::string admin_get(const std::string& address, const std::string& target, const std::string& token = "");

// The sum of a metric's samples in /metrics' text, whatever their labels: "waygate_x_total" sums
// every waygate_x_total{...} line; "waygate_x_total{stage=\"a\"}" that one line. 0 when absent.
double metric_sum(const std::string& metrics_text, const std::string& name);
// The same over every metric named `name` whichever plugin publishes it (waygate/metric_names.hpp:
// "pair_standby" sums waygate_nat_pair_standby).
double metric_sum_of(const std::string& metrics_text, std::string_view name);

}  // namespace waygate
