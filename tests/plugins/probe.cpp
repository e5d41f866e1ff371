// A test stage: does one configured thing to every packet (pass, reply or drop), optionally
// writing a socket into its metadata, and counts what it saw in each direction. Lets the executor be tested with real edges and no special hooks.
// Serves /v1/probe/<stage> on the admin listener (its action and what it saw), for the worker's
// requests, /v1/probe/<stage>/instance: which instance of the plugin this is (counted from 1
// in the process), so a test tells a stage carried over a reload from one made again, and
// /v1/probe/<stage>/stall: the worker sleeps for the milliseconds in the body.
#include <chrono>
#include <string>
#include <thread>

#include "waygate/plugin.hpp"

namespace {

int instances = 0;  // only the worker's thread makes plugins

class Probe final : public waygate::Plugin {
 public:
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
};

}  // namespace

WAYGATE_PLUGIN(Probe, "probe", "1.0")
