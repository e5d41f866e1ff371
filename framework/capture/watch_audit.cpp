#include "watch_audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "waygate/utc.hpp"

namespace waygate {

namespace json = boost::json;

WatchAudit::WatchAudit(const std::string& path, bool token) : path_(path), token_(token) {
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "[host] audit_log " + path);
}

WatchAudit::~WatchAudit() {
  if (fd_ >= 0) ::close(fd_);
}

bool WatchAudit::starts(const Request& request) {
  return request.method == "POST" && (request.path == "/v1/capture" || request.path == "/v1/trace");
}

void WatchAudit::record(const Request& request, const Response& answer) {
  boost::system::error_code ec;
  const json::value asked = json::parse(request.body, ec), started = json::parse(answer.body);
  auto field = [&](const char* key) -> json::value {
    for (const json::value* v : {&started, &asked})
      if (v->is_object())
        if (const json::value* f = v->as_object().if_contains(key)) return *f;
    return nullptr;
  };
  const bool capture = request.path == "/v1/capture";
  json::object line{{"time", format_utc(std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()))},
                    {"event", capture ? "capture" : "trace"},
                    {"id", field("id")},
                    {"by", request.peer.to_string()},
                    {"with_token", token_}};
  for (const char* key : {"at", "identity", "socket", "filter", "count", "seconds"})
    if (json::value v = field(key); !v.is_null() && (!v.is_string() || !v.as_string().empty())) line[key] = v;
  const std::string text = json::serialize(line);
  // Decrypted traffic leaves the pipeline: the log says so too, where no audit file is kept.
  spdlog::warn("{} {} started by {}: {}", capture ? "capture" : "trace", json::serialize(line["id"]),
               request.peer.to_string(), text);
  if (fd_ < 0) return;
  const std::string written = text + "\n";
  if (::write(fd_, written.data(), written.size()) != static_cast<ssize_t>(written.size()))
    spdlog::error("cannot append to the audit log {}: {}", path_, std::generic_category().message(errno));
}

}  // namespace waygate
