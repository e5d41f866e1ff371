#include "control_plane.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "portal_assets.hpp"
#include "waygate/net/prefix.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <csignal>
#include <list>
#include <set>
#include <stdexcept>

namespace waygate {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("listener address '" + text + "' has no port");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("listener address '" + text + "': '" + host + "' is not an IP address");
  unsigned long port = std::stoul(text.substr(colon + 1));
  if (port > 65535) throw std::invalid_argument("listener address '" + text + "': bad port");
  return {address, static_cast<unsigned short>(port)};
}

void plain(http::response<http::string_body>& res, http::status status, std::string body) {
  res.result(status);
  res.set(http::field::content_type, "text/plain");
  res.body() = std::move(body);
}

// What a stage serves: the request goes to the worker running it.
void from_stage(Listener listener, const http::request<http::string_body>& req, const tcp::endpoint& peer,
                const ControlHooks& hooks, http::response<http::string_body>& res) {
  Request request;
  request.method = std::string(req.method_string());
  std::string_view target = req.target();
  auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.body = req.body();
  auto address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  if (auto a = net::parse_address(address.to_string())) request.peer = *a;
  std::optional<Response> answer;
  try {
    answer = hooks.request(listener, std::move(request));
  } catch (const std::exception& e) {
    plain(res, http::status::internal_server_error, std::string(e.what()) + "\n");
    return;
  }
  if (!answer) return plain(res, http::status::not_found, "not found\n");
  res.result(static_cast<http::status>(answer->status));
  res.set(http::field::content_type, answer->content_type);
  res.body() = std::move(answer->body);
}

// Compared in constant time: how much of a guess matched must not show in the answer's timing.
bool authorized(const http::request<http::string_body>& req, const std::string& token) {
  if (token.empty()) return true;
  const std::string expected = "Bearer " + token;
  std::string_view given = req[http::field::authorization];
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

// What a browser could be made to send against the operator's will. Without a token, only
// requests addressed to an IP address or localhost are answered: a page whose name an attacker
// re-points at 127.0.0.1 (DNS rebinding) would otherwise read and change the connector as if it
// were the portal. And a request that changes something must be JSON from the portal's own origin:
// another site's form can post text, not JSON, without the browser asking first.
std::optional<std::pair<http::status, std::string>> refused_for_browsers(const http::request<http::string_body>& req,
                                                                         const std::string& token) {
  const std::string_view host = req[http::field::host];
  if (token.empty()) {
    std::string name(host);
    if (name.starts_with('[')) name = name.substr(1, name.find(']') - 1);
    else if (std::count(name.begin(), name.end(), ':') == 1) name = name.substr(0, name.find(':'));
    boost::system::error_code ec;
    asio::ip::make_address(name, ec);
    if (ec && name != "localhost")
      return std::pair{http::status::forbidden,
                       "without an admin token, only requests to an IP address or localhost are answered\n"};
  }
  if (req.method() == http::verb::get || req.method() == http::verb::head) return std::nullopt;
  const std::string_view origin = req[http::field::origin];
  if (!origin.empty() && origin != "http://" + std::string(host))
    return std::pair{http::status::forbidden, "a change must come from the portal's own origin\n"};
  if (!std::string_view(req[http::field::content_type]).starts_with("application/json"))
    return std::pair{http::status::unsupported_media_type, "a change is sent as application/json\n"};
  return std::nullopt;
}

// The portal's files: the same for everyone and holding no data (that comes from the API, which
// asks for the token), so they are served without one and the page can ask for it.
const portal::Asset* portal_file(const http::request<http::string_body>& req) {
  if (req.method() != http::verb::get) return nullptr;
  std::string_view path = req.target();
  path = path.substr(0, path.find('?'));
  if (path == "/") path = "/assets/index.html";
  if (!path.starts_with("/assets/")) return nullptr;
  path.remove_prefix(8);
  for (const auto& a : portal::assets())
    if (a.name == path) return &a;
  return nullptr;
}

http::response<http::string_body> answer(Listener listener, const http::request<http::string_body>& req,
                                         const tcp::endpoint& peer, const ControlHooks& hooks) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  auto target = req.target();
  const portal::Asset* file = listener == Listener::admin ? portal_file(req) : nullptr;
  auto refused = listener == Listener::admin ? refused_for_browsers(req, hooks.admin_token) : std::nullopt;
  if (refused) {
    plain(res, refused->first, refused->second);
  } else if (file != nullptr) {
    res.result(http::status::ok);
    res.set(http::field::content_type, file->content_type);
    res.set(http::field::cache_control, "no-cache");
    // Its own files only, and never inside another site's frame: a page that framed the portal
    // could make the operator click "Create" (clickjacking).
    res.set("Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.set("X-Frame-Options", "DENY");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.body() = std::string(file->body);
  } else if (listener == Listener::admin && !authorized(req, hooks.admin_token)) {
    plain(res, http::status::unauthorized, "an admin token is required: Authorization: Bearer <token>\n");
    res.set(http::field::www_authenticate, "Bearer");
  } else if (listener == Listener::admin && req.method() == http::verb::post && target == "/v1/sockets" &&
             hooks.create_socket) {
    Response created = hooks.create_socket(req.body());
    res.result(static_cast<http::status>(created.status));
    res.set(http::field::content_type, created.content_type);
    res.body() = std::move(created.body);
  } else if (listener == Listener::admin && target == "/v1/connectors" && hooks.connectors) {
    res.result(http::status::ok);
    res.set(http::field::content_type, "application/json");
    res.body() = hooks.connectors();
  } else if (listener == Listener::tunnel || (target != "/healthz" && target != "/metrics")) {
    from_stage(listener, req, peer, hooks, res);
  } else if (req.method() != http::verb::get) {
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
  }
  res.prepare_payload();
  return res;
}

// A connection must bring each request whole, and take each answer, within this; a listener holds
// at most so many connections and closes the ones beyond at once. So neither idle nor slow
// clients can hold the control thread's descriptors.
constexpr auto kIdle = std::chrono::seconds(30);
constexpr std::size_t kMaxConnections = 256;

// A listener's open connections, so a stop can close them: every operation then ends on this
// thread before the io_context goes, instead of being destroyed with it.
struct Connections {
  std::size_t count = 0;
  std::set<boost::beast::tcp_stream*> open;
};

asio::awaitable<void> serve(Listener listener, tcp::socket socket, const ControlHooks& hooks,
                            Connections& connections) {
  boost::beast::flat_buffer buffer;
  boost::beast::tcp_stream stream(std::move(socket));
  struct Registered {
    Connections& c;
    boost::beast::tcp_stream* s;
    ~Registered() {
      c.open.erase(s);
      --c.count;
    }
  } registered{connections, &stream};
  connections.open.insert(&stream);
  try {
    const tcp::endpoint peer = stream.socket().remote_endpoint();
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      stream.expires_after(kIdle);
      co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
      auto res = answer(listener, parser.get(), peer, hooks);
      stream.expires_after(kIdle);
      co_await http::async_write(stream, res, asio::use_awaitable);
      if (!res.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // A client that went away, sent garbage or took too long, or the stop: nothing to keep.
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// Accepts until the stop closes the acceptor. An accept that fails otherwise (the process out of
// descriptors, a connection reset before it was taken) is tried again a moment later: the
// listener never ends on its own.
asio::awaitable<void> listen(Listener listener, tcp::acceptor& acceptor, const ControlHooks& hooks,
                             Connections& connections) {
  asio::steady_timer pause(acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (!acceptor.is_open()) co_return;
    if (ec) {
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (connections.count >= kMaxConnections) continue;  // closed as it goes out of scope
    ++connections.count;
    asio::co_spawn(acceptor.get_executor(), serve(listener, std::move(socket), hooks, connections), asio::detached);
  }
}

void open(tcp::acceptor& acceptor, const tcp::endpoint& at, bool freebind) {
  acceptor.open(at.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  if (freebind) {
    int on = 1;
    int level = at.address().is_v6() ? IPPROTO_IPV6 : IPPROTO_IP;
    int name = at.address().is_v6() ? IPV6_FREEBIND : IP_FREEBIND;
    ::setsockopt(acceptor.native_handle(), level, name, &on, sizeof on);
  }
  acceptor.bind(at);
  acceptor.listen();
}

}  // namespace

void run_control_plane(const std::string& admin, const std::vector<std::string>& tunnel,
                       const ControlHooks& hooks) {
  // Declared before the io_context, so they outlive every coroutine it runs.
  std::list<Connections> connections;
  asio::io_context io(1);
  std::list<tcp::acceptor> acceptors;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer ticker(io);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          hooks.reload();
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("signal {}: stopping", signo);
        // Everything pending ends with an error now, its coroutine returns, and run() with them.
        boost::system::error_code ignored;
        ticker.cancel();
        for (auto& a : acceptors) a.close(ignored);
        for (auto& c : connections)
          for (auto* s : c.open) s->socket().close(ignored);
      };
  signals.async_wait(on_signal);
  // main() blocked these in every thread; now that they are handled, this thread takes them.
  sigset_t handled;
  sigemptyset(&handled);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, signo);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);

  if (!admin.empty()) {
    open(acceptors.emplace_back(io), parse_endpoint(admin), false);
    spdlog::info("admin API on http://{}", admin);
    asio::co_spawn(io, listen(Listener::admin, acceptors.back(), hooks, connections.emplace_back()), asio::detached);
  }
  for (auto& at : tunnel) {
    open(acceptors.emplace_back(io), parse_endpoint(at), true);
    spdlog::info("tunnel API on http://{}", at);
    asio::co_spawn(io, listen(Listener::tunnel, acceptors.back(), hooks, connections.emplace_back()), asio::detached);
  }
  std::function<void(const boost::system::error_code&)> on_tick = [&](const boost::system::error_code& ec) {
    if (ec) return;
    hooks.tick();
    ticker.expires_after(hooks.tick_every);
    ticker.async_wait(on_tick);
  };
  if (hooks.tick_every.count() > 0 && hooks.tick) on_tick({});
  if (hooks.ready) hooks.ready();
  io.run();
}

}  // namespace waygate
