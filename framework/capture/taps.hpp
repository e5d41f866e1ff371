// The captures running on a worker (`waygate capture`, /v1/capture on the admin API). A capture
// watches one link of the pipeline, the one after a stage: packets leaving that stage outbound
// and entering it inbound. Those of its identity and socket that its filter keeps are copied into
// a ring of its own, allocated when it starts, and the admin API drains it. The pipeline offers a
// burst to the taps only while a capture runs: one test per burst and stage otherwise. A full ring
// loses the packet, counted: the data plane never waits for a reader.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pcapng.hpp"
#include "watch_book.hpp"
#include "watch_request.hpp"
#include "waygate/api.hpp"
#include "waygate/burst.hpp"
#include "waygate/directory.hpp"

namespace waygate {

class Taps {
 public:
  static constexpr std::size_t kRing = 2048;  // packets a capture holds until read (4 MiB)

  bool any() const { return book_.any(); }
  // A burst crossing the link after stage `link`.
  void offer(std::string_view link, const Burst& burst);

  // POST /v1/capture {"at", "identity", "socket", "filter", "count", "seconds"}: 201 {"id",
  // "header": base64 of the pcapng file's first blocks, ...}; "at" is by default the first stage
  // (an exit node's tunnel: decrypted packets). GET /v1/capture/ID: {"state": "running"|"done",
  // "why", "captured", "lost", "packets": base64 of pcapng packet blocks}, the blocks taken;
  // DELETE /v1/capture/ID ends it. GET /v1/capture: the stages, with their plugins, a capture may
  // follow. nullopt for other paths. `stages`: the pipeline's, in order.
  std::optional<Response> handle(const Request& request, const Directory& directory,
                                 const std::vector<StageName>& stages, WatchLimits limits);
  // A reload ends every capture (ids and stages may have moved): each says why at its next read.
  void end_all(const std::string& why) { book_.end_all(why); }

 private:
  struct Record {
    std::uint64_t micros;
    std::uint32_t length, captured;
    Direction direction;
    std::uint32_t identity, socket;
    std::uint8_t bytes[pcapng::kSnapLength];
  };
  using Capture = Watched<Record>;
  Response start(const Request& request, const Directory& directory, const std::vector<StageName>& stages,
                 WatchLimits limits);
  Response read(Capture& c);

  WatchBook<Capture> book_;
};

}  // namespace waygate
