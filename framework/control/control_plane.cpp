#include "control_plane.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <stdexcept>

namespace waygate {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("admin address '" + text + "' has no port");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("admin address '" + text + "': '" + host + "' is not an IP address");
  unsigned long port = std::stoul(text.substr(colon + 1));
  if (port > 65535) throw std::invalid_argument("admin address '" + text + "': bad port");
  return {address, static_cast<unsigned short>(port)};
}

http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                         const ControlHooks& hooks) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  auto target = req.target();
  if (req.method() != http::verb::get) {
    res.result(http::status::method_not_allowed);
    res.body() = "only GET\n";
  } else if (target == "/healthz") {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain");
    res.body() = "ok\n";
  } else if (target == "/metrics") {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = hooks.metrics();
  } else {
    res.result(http::status::not_found);
    res.body() = "not found\n";
  }
  res.prepare_payload();
  return res;
}

asio::awaitable<void> serve(tcp::socket socket, const ControlHooks& hooks) {
  boost::beast::flat_buffer buffer;
  try {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      co_await http::async_read(socket, buffer, parser, asio::use_awaitable);
      auto res = answer(parser.get(), hooks);
      co_await http::async_write(socket, res, asio::use_awaitable);
      if (!res.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // A client that went away or sent garbage: nothing to keep.
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, const ControlHooks& hooks) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), hooks), asio::detached);
  }
}

}  // namespace

void run_control_plane(const std::string& admin, const ControlHooks& hooks) {
  asio::io_context io(1);
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          hooks.reload();
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("signal {}: stopping", signo);
        io.stop();
      };
  signals.async_wait(on_signal);
  // main() blocked these in every thread; now that they are handled, this thread takes them.
  sigset_t handled;
  sigemptyset(&handled);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, signo);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);

  std::optional<tcp::acceptor> acceptor;
  if (!admin.empty()) {
    tcp::endpoint at = parse_endpoint(admin);
    acceptor.emplace(io);
    acceptor->open(at.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(at);
    acceptor->listen();
    spdlog::info("admin API on http://{}", admin);
    asio::co_spawn(io, listen(*acceptor, hooks), asio::detached);
  }
  io.run();
}

}  // namespace waygate
