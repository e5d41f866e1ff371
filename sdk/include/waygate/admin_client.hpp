// The commands' HTTP client: requests to a running host's admin API ([host] admin) for
// `waygate stats` and the doctors, and to a connector's clients' API through the tunnel for
// `waygate client`. One request per connection, with a deadline: a tunnel without a session
// would otherwise hold a command for the kernel's two minutes of SYN retries.
#pragma once

#include <chrono>
#include <string>

namespace waygate {

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

// `address`: "127.0.0.1:9190" or "[::1]:9190". Throws std::runtime_error naming the address when
// nothing answers in time. `token`: a bearer token, when the host requires one.
HttpAnswer http_request(const std::string& address, const std::string& method, const std::string& target,
                        const std::string& body = "", const std::string& token = "",
                        std::chrono::milliseconds deadline = std::chrono::seconds(5));

// A TCP connection to "host:port" (an IP literal or a name) within the deadline, for a client that
// reads a stream of its own (etcd's watch); throws std::runtime_error naming the address.
int connect_tcp(const std::string& address, std::chrono::milliseconds deadline);

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

}  // namespace waygate
