#include "watch_session.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "waygate/admin_client.hpp"

namespace waygate {

namespace json = boost::json;

namespace {

std::atomic<bool> interrupted{false};

}  // namespace

json::value run_watch(const std::string& config_file, const std::string& path, const std::string& ask,
                      const std::function<bool(const json::value&)>& take) {
  const AdminAccess admin = admin_access(config_file);
  const HttpAnswer started = http_request(admin.address, "POST", path, ask, admin.token);
  boost::system::error_code ec;
  const json::value s = json::parse(started.body, ec);
  if (started.status != 201) {
    const json::value* why = !ec && s.is_object() ? s.as_object().if_contains("error") : nullptr;
    throw std::runtime_error(why != nullptr && why->is_string() ? std::string(why->as_string()) : started.body);
  }
  const std::string id = json::serialize(s.at("id"));

  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGINT);
  sigaddset(&wanted, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &wanted, nullptr);  // the binary blocks them for the host's own use

  for (bool enough = false;;) {
    const bool stop = interrupted || enough;
    const HttpAnswer a = http_request(admin.address, stop ? "DELETE" : "GET", path + "/" + id, "", admin.token);
    if (a.status != 200) throw std::runtime_error(fmt::format("the connector answered {}: {}", a.status, a.body));
    json::value last = json::parse(a.body);
    enough = take(last);
    if (last.at("state").as_string() == "done") return last;
    if (!enough) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace waygate
