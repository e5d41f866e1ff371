// A test stage: does one configured thing to every packet (pass, reply or drop) and counts what
// it saw in each direction. Lets the executor be tested with real edges and no special hooks.
#include "waygate/plugin.hpp"

namespace {

class Probe final : public waygate::Plugin {
 public:
  explicit Probe(waygate::Context& c)
      : seen_out_(c.counter("seen_total", "", {{"direction", "outbound"}})),
        seen_in_(c.counter("seen_total", "", {{"direction", "inbound"}})),
        dropped_(c.drop_reason("probe_drop")) {}
  void configure(const waygate::Config& c) override {
    std::string action = c.string("action", "pass");
    if (action != "pass" && action != "reply" && action != "drop")
      c.fail("action", "expected pass, reply or drop");
    action_ = action;
  }
  void process(waygate::Burst& b, waygate::Output& out) override {
    (b.direction() == waygate::Direction::outbound ? seen_out_ : seen_in_).add(b.size());
    for (auto* p : b) {
      if (action_ == "pass") out.pass(p);
      else if (action_ == "reply") out.reply(p);
      else out.drop(p, dropped_);
    }
  }

 private:
  waygate::Counter seen_out_, seen_in_;
  waygate::Drop dropped_;
  std::string action_ = "pass";
};

}  // namespace

WAYGATE_PLUGIN(Probe, "probe", "1.0")
