#include "waygate/admin_client.hpp"

#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "waygate/config.hpp"
#include "waygate/secret.hpp"

namespace waygate {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

HttpAnswer http_request(const std::string& address, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& token, std::chrono::milliseconds deadline) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("address '" + address + "' has no port");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::asio::io_context io;
  tcp::socket socket(io);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;

  // connect -> write -> read, each step started by the one before; the deadline covers them all.
  std::optional<boost::system::error_code> outcome;
  auto endpoints = tcp::resolver(io).resolve(host, address.substr(colon + 1));
  boost::asio::async_connect(socket, endpoints, [&](boost::system::error_code ec, const tcp::endpoint&) {
    if (ec) return outcome.emplace(ec), void();
    http::async_write(socket, req, [&](boost::system::error_code wec, std::size_t) {
      if (wec) return outcome.emplace(wec), void();
      http::async_read(socket, buffer, res, [&](boost::system::error_code rec, std::size_t) { outcome.emplace(rec); });
    });
  });
  io.run_for(deadline);
  if (!outcome)
    throw std::runtime_error(fmt::format("{} did not answer within {} ms", address, deadline.count()));
  if (*outcome) throw std::runtime_error(fmt::format("{}: {}", address, outcome->message()));
  return {res.result_int(), res.body()};
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
