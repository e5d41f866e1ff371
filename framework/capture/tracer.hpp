// The traces running on a worker (`waygate trace`, /v1/trace on the admin API), as VPP's packet
// trace: for a packet that entered the pipeline, every stage it went through, what each did with
// it (passed it on, replied, dropped it and why, or took it: sent or queued), what changed (its
// addresses and ports, its identity and socket) and the time it spent there.
//
// While a trace runs, the pipeline tells the tracer of each packet an edge brings in, of each
// burst before and after a stage, and of each drop. The packet is followed by its buffer's address
// until it is dropped or taken; when it matched the trace (its identity, socket and filter, at any
// step) it lands in the trace's ring, allocated at start, for the admin API to read. Packets
// beyond what the tracer follows at once, or beyond a full ring, are lost, counted. With no trace
// running the pipeline calls none of this.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watch_book.hpp"
#include "watch_request.hpp"
#include "waygate/api.hpp"
#include "waygate/burst.hpp"
#include "waygate/directory.hpp"
#include "waygate/net/headers.hpp"

namespace waygate {

class Tracer {
 public:
  static constexpr std::size_t kRing = 256;       // traced packets a trace holds until read
  static constexpr std::size_t kFollowed = 256;   // packets followed at once, over all traces
  static constexpr std::size_t kSteps = 16;       // stages recorded of one packet

  bool any() const { return book_.any(); }

  // The pipeline's calls, only while any(). `stage`: its position in the pipeline.
  void received(std::uint32_t stage, const Burst& burst);  // an edge's packets entering
  void entering(std::uint32_t stage, const Burst& burst);  // before the stage processes them
  void left(std::uint32_t stage, const Burst& burst, const Burst& passed, const Burst& replies);
  void dropped(const Packet& p, std::string_view reason);  // by the stage it is in, or the pipeline

  // POST /v1/trace {"identity", "socket", "filter", "count", "seconds"}: 201 {"id", ...};
  // GET /v1/trace/ID: {"state", "why", "traced", "lost", "packets": [{"time", "length", "steps":
  // [{"stage", "verdict", "reason", "changed", "micros"}]}]}, those taken; DELETE ends it.
  std::optional<Response> handle(const Request& request, const Directory& directory,
                                 const std::vector<StageName>& stages, WatchLimits limits);
  void end_all(const std::string& why) { book_.end_all(why); }

 private:
  enum class Verdict : std::uint8_t { open, received, pass, reply, drop, taken };
  // What a packet looked like as it entered a stage.
  struct Look {
    net::Flow flow;
    std::uint32_t identity, socket;
  };
  struct Step {
    std::uint32_t stage;
    Verdict verdict;
    Direction direction;  // of its travel into the stage
    Look look;
    std::int64_t nanos;  // since the packet entered the pipeline
    char reason[32];
  };
  struct Packet_ {
    std::uint64_t micros = 0;  // when it entered, since the epoch
    std::uint32_t length = 0;
    std::uint32_t steps = 0;
    std::array<Step, kSteps> step;
    std::optional<Look> last;  // how it left its last stage, when known (a drop)
    std::int64_t end_nanos = 0;
  };
  struct Trace : Watched<Packet_> {
    std::vector<std::string> stages;  // names, for the answer
  };
  // A packet being followed: by which trace, where its record is being written.
  struct Followed {
    const Packet* packet;
    Trace* trace;
    Packet_ record;
    std::chrono::steady_clock::time_point began;
    bool matched;
  };

  Response start(const Request& request, const Directory& directory, const std::vector<StageName>& stages,
                 WatchLimits limits);
  Response read(Trace& t);
  void step(Followed& f, std::uint32_t stage, const Packet& p, Verdict v, std::chrono::steady_clock::time_point now);
  void finish(std::size_t i, Verdict v, std::string_view reason, const Packet* p);

  WatchBook<Trace> book_;
  std::vector<Followed> followed_;  // kFollowed reserved at the first start
};

}  // namespace waygate
