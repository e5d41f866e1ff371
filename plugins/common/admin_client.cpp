#include "admin_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace waygate {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string admin_get(const std::string& address, const std::string& target, const std::string& token) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("admin address '" + address + "' has no port");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::asio::io_context io;
  tcp::socket socket(io);
  boost::asio::connect(socket, tcp::resolver(io).resolve(host, address.substr(colon + 1)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  if (res.result() != http::status::ok)
    throw std::runtime_error(fmt::format("{} answered {} {}", address, res.result_int(), res.body()));
  return res.body();
}

}  // namespace waygate
