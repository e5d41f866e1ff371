#include "etcd_watch.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "directory_keys.hpp"
#include "etcd.hpp"
#include "etcd_answers.hpp"
#include "waygate/admin_client.hpp"

namespace waygate {

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

std::string end_of(std::string prefix) {
  ++prefix.back();  // a prefix ends with '/': the next byte up
  return prefix;
}

}  // namespace

DirectoryWatch::DirectoryWatch(EtcdDirectory where, std::int64_t from_revision, std::function<void()> changed)
    : where_(std::move(where)), from_revision_(from_revision), changed_(std::move(changed)), thread_([this] { run(); }) {}

DirectoryWatch::~DirectoryWatch() {
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);
    if (connection_ != nullptr) connection_->abort();
  }
  thread_.join();
}

void DirectoryWatch::run() {
  std::int64_t from = from_revision_ + 1;
  bool lost = false;
  auto backoff = std::chrono::seconds(1);
  while (!stopping_) {
    for (const std::string& member : where_.members) {
      if (stopping_) return;
      const bool reached = watch(member_address(member, where_.tls_or_null()), from);
      if (!reached) continue;
      if (lost) {
        spdlog::info("etcd answers again ({}): reading the directory whole", member);
        lost = false;
      }
      backoff = std::chrono::seconds(1);
      from = 0;  // a new watch starts from now, after a reload that reads everything
      if (!stopping_) changed_();
    }
    if (stopping_) return;
    if (!lost) {
      spdlog::warn("etcd: no member answers the directory's watch ({} member(s)); forwarding goes on with the "
                   "directory in use, retrying with backoff",
                   where_.members.size());
      lost = true;
    }
    for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stopping_; waited += std::chrono::milliseconds(100))
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
}

bool DirectoryWatch::watch(const std::string& member, std::int64_t from_revision) {
  std::unique_ptr<Connection> c;
  try {
    c = std::make_unique<Connection>(member, Connection::Clock::now() + std::chrono::seconds(3), where_.tls_or_null());
  } catch (const std::exception& e) {
    spdlog::debug("etcd {}: {}", member, e.what());
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    connection_ = c.get();
  }
  json::object create{{"key", to_base64(where_.prefix)}, {"range_end", to_base64(end_of(where_.prefix))}};
  if (from_revision > 0) create["start_revision"] = from_revision;
  http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
  req.set(http::field::host, member);
  req.set(http::field::content_type, "application/json");
  req.body() = json::serialize(json::object{{"create_request", create}});
  req.prepare_payload();
  std::ostringstream wire;
  wire << req;
  bool ok = true;
  try {
    c->send(wire.str(), Connection::Clock::now() + std::chrono::seconds(3));
  } catch (const std::exception&) {
    ok = false;
  }

  // The answer streams one JSON message per event batch, each in chunks of the HTTP body.
  json::stream_parser messages;
  bool created = false;
  auto on_body = [&](std::uint64_t, std::string_view body, boost::beast::error_code&) -> std::size_t {
    std::size_t at = 0;
    while (at < body.size()) {
      boost::system::error_code ec;
      at += messages.write_some(body.data() + at, body.size() - at, ec);
      if (ec) {
        messages.reset();
        return body.size();
      }
      if (!messages.done()) continue;
      const WatchNews news = read_watch(json::serialize(messages.release()), where_.prefix);
      messages.reset();
      if (news == WatchNews::created) created = true;
      if (news == WatchNews::changed && !stopping_) changed_();
    }
    return body.size();
  };
  http::response_parser<http::string_body> parser;  // after on_body, which it refers to
  parser.body_limit(boost::none);
  parser.on_chunk_body(on_body);
  char buffer[16384];
  std::string pending;  // received, not yet taken by the parser
  while (ok && !stopping_) {
    std::size_t n = 0;
    try {
      n = c->receive(buffer, sizeof buffer, Connection::Clock::now() + std::chrono::seconds(1));
    } catch (const std::exception&) {
      continue;  // a quiet second: look at stopping_ again
    }
    if (n == 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    boost::beast::error_code ec;
    while (!pending.empty() && !parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec || parser.is_done() || (parser.is_header_done() && parser.get().result() != http::status::ok)) {
      if (!created) spdlog::warn("etcd {}: the watch was not taken: {}", member, ec ? ec.message() : std::string(parser.get().reason()));
      break;
    }
  }
  {
    std::lock_guard lock(mutex_);
    connection_ = nullptr;
  }
  return true;  // reached, however the stream ended
}

}  // namespace waygate
