// A test stage: does one configured thing to every packet (pass, reply or drop), optionally
// writing a socket into its metadata, and counts what it saw in each direction. Lets the executor be tested with real edges and no special hooks.
// Serves /v1/probe/<stage> on the admin listener (its action and what it saw), for the worker's
// requests, /v1/probe/<stage>/instance: which instance of the plugin this is (counted from 1
// in the process), so a test tells a stage carried over a reload from one made again, and
// /v1/probe/<stage>/stall: the worker sleeps for the milliseconds in the body. With more than one
// worker, POST /v1/probe/<stage>/hand?to=N hands a packet holding the body to worker N's instance
// (tag 7), which lists what it was handed, as "worker:tag:bytes" lines, at /v1/probe/<stage>/handed;
// /v1/probe/<stage>/worker says which worker answers, gathered from all of them ("0+1").
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "waygate/plugin.hpp"

namespace {

int instances = 0;  // only the worker's thread makes plugins

class Probe final : public waygate::Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit Probe(waygate::Context& c)
      : instance_(++instances),
        ctx_(c),
        seen_out_(c.counter("seen_total", "", {{"direction", "outbound"}})),
        seen_in_(c.counter("seen_total", "", {{"direction", "inbound"}})),
        dropped_(c.drop_reason("probe_drop")) {}
  void configure(const waygate::Config& c) override {
    std::string action = c.string("action", "pass");
    if (action != "pass" && action != "reply" && action != "drop")
      c.fail("action", "expected pass, reply or drop");
    const auto socket = c.integer("socket", -1, -1, 1000);  // writes meta.socket when given
    action_ = action;
    socket_ = socket;
  }
  void start() override {
    ctx_.serve(waygate::Listener::admin, "/v1/probe/" + std::string(ctx_.name()), [this](const waygate::Request&) {
      return waygate::Response{200, "text/plain",
                               action_ + " " + std::to_string(seen_out_.value() + seen_in_.value())};
    });
    ctx_.serve(waygate::Listener::admin, "/v1/probe/" + std::string(ctx_.name()) + "/instance",
               [this](const waygate::Request&) { return waygate::Response{200, "text/plain", std::to_string(instance_)}; });
    // A worker stuck for the milliseconds in the body: what the host's watchdog must notice.
    ctx_.serve(waygate::Listener::admin, "/v1/probe/" + std::string(ctx_.name()) + "/stall", [](const waygate::Request& r) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(r.body)));
      return waygate::Response{200, "text/plain", "stalled\n"};
    });
    ctx_.serve(waygate::Listener::admin, "/v1/probe/" + std::string(ctx_.name()) + "/hand", [this](const waygate::Request& r) {
      waygate::Packet* p = ctx_.pool().alloc();
      if (p == nullptr) return waygate::Response{503, "text/plain", "no buffer\n"};
      p->resize(r.body.size());
      std::copy(r.body.begin(), r.body.end(), p->data());
      if (ctx_.hand_over(static_cast<unsigned>(std::stoul(r.query.substr(r.query.find('=') + 1))), p, 7))
        return waygate::Response{200, "text/plain", "handed\n"};
      ctx_.pool().free(p);
      return waygate::Response{409, "text/plain", "refused\n"};
    });
    // Which worker answers; gathered from every worker's: "0+1".
    ctx_.serve(
        waygate::Listener::admin, "/v1/probe/" + std::string(ctx_.name()) + "/worker",
        [this](const waygate::Request&) { return waygate::Response{200, "text/plain", std::to_string(ctx_.worker())}; },
        [](std::vector<waygate::Response> all) {
          std::string joined;
          for (auto& r : all) joined += (joined.empty() ? "" : "+") + r.body;
          return waygate::Response{200, "text/plain", joined};
        });
    ctx_.serve(waygate::Listener::admin, "/v1/probe/" + std::string(ctx_.name()) + "/handed",
               [this](const waygate::Request&) { return waygate::Response{200, "text/plain", handed_}; });
  }
  void on_handed(waygate::Packet* p, std::uint32_t tag, waygate::Output&) override {
    handed_ += std::to_string(ctx_.worker()) + ":" + std::to_string(tag) + ":" +
               std::string(reinterpret_cast<const char*>(p->data()), p->size()) + "\n";
    ctx_.pool().free(p);
  }
  void process(waygate::Burst& b, waygate::Output& out) override {
    (b.direction() == waygate::Direction::outbound ? seen_out_ : seen_in_).add(b.size());
    for (auto* p : b) {
      if (socket_ >= 0) p->meta.socket = static_cast<std::uint32_t>(socket_);
      if (action_ == "pass") out.pass(p);
      else if (action_ == "reply") out.reply(p);
      else out.drop(p, dropped_);
    }
  }

 private:
  int instance_;
  waygate::Context& ctx_;
  waygate::Counter seen_out_, seen_in_;
  waygate::Drop dropped_;
  std::string action_ = "pass";
  std::int64_t socket_ = -1;
  std::string handed_;
};

}  // namespace

WAYGATE_PLUGIN(Probe, "probe", "1.0")
