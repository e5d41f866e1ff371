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

std::optional<Snapshot> DirectoryWatch::copy() const {
  std::lock_guard lock(mutex_);
  if (revision_ == 0) return std::nullopt;
  Snapshot s{revision_, {}};
  s.kvs.reserve(copy_.size());
  for (const auto& [key, kv] : copy_) s.kvs.push_back(kv);
  return s;
}

void DirectoryWatch::apply(const WatchBatch& batch) {
  std::lock_guard lock(mutex_);
  for (const WatchBatch::Event& e : batch.events) {
    if (e.deleted) copy_.erase(e.kv.key);
    else copy_[e.kv.key] = e.kv;
  }
  if (batch.compacted > 0) revision_ = 0;  // read everything again
  else if (batch.revision > revision_) revision_ = batch.revision;
}

bool DirectoryWatch::read_whole(const std::string& member) {
  try {
    const Snapshot s = Etcd({member}, where_.tls_or_null()).range(where_.prefix);
    std::lock_guard lock(mutex_);
    copy_.clear();
    for (const KeyValue& kv : s.kvs) copy_[kv.key] = kv;
    revision_ = s.revision;
    return true;
  } catch (const std::exception& e) {
    spdlog::debug("etcd {}: {}", member, e.what());
    return false;
  }
}

void DirectoryWatch::run() {
  bool lost = false;
  auto backoff = std::chrono::seconds(1);
  while (!stopping_) {
    for (const std::string& member : where_.members) {
      if (stopping_) return;
      std::int64_t had = 0;
      {
        std::lock_guard lock(mutex_);
        had = revision_;
      }
      if (had == 0) {
        if (!read_whole(member)) continue;
        // What was read is news when the connector runs an older revision: after an outage, a
        // compaction, or a change between its start and this read.
        if (copy()->revision > from_revision_ && !stopping_) changed_();
      }
      const bool reached = watch(member_address(member, where_.tls_or_null()));
      if (!reached) continue;
      if (lost) {
        spdlog::info("etcd answers again ({}): the watch resumes", member);
        lost = false;
      }
      backoff = std::chrono::seconds(1);
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

bool DirectoryWatch::watch(const std::string& member) {
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
  std::int64_t from_revision = 0;
  {
    std::lock_guard lock(mutex_);
    from_revision = revision_ + 1;
  }
  // After the copy's revision: every event that followed the read, none twice.
  json::object create{{"key", to_base64(where_.prefix)},
                      {"range_end", to_base64(prefix_end(where_.prefix))},
                      {"start_revision", from_revision}};
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
  bool created = false, compacted = false;
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
      const WatchBatch batch = read_watch(json::serialize(messages.release()));
      messages.reset();
      created |= batch.created;
      apply(batch);
      if (batch.compacted > 0) {
        spdlog::info("etcd: revision {} is compacted: reading everything again", from_revision);
        compacted = true;  // the loop below ends the watch; run() reads whole
        return body.size();
      }
      if (changes_directory(batch, where_.prefix) && !stopping_) changed_();
    }
    return body.size();
  };
  http::response_parser<http::string_body> parser;  // after on_body, which it refers to
  parser.body_limit(boost::none);
  parser.on_chunk_body(on_body);
  char buffer[16384];
  std::string pending;  // received, not yet taken by the parser
  while (ok && !stopping_ && !compacted) {
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
