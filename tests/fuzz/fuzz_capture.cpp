// fuzz-sources: framework/control/base64.cpp framework/capture/taps.cpp framework/capture/tracer.cpp framework/capture/watch_request.cpp framework/capture/capture_filter.cpp framework/capture/pcapng.cpp sdk/src/directory.cpp sdk/src/config.cpp sdk/src/assignments.cpp sdk/src/state_version.cpp sdk/src/files.cpp
// fuzz-flags: -Iframework/capture -Iframework/control -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DUSE_OS_TZDB=1 -DBOOST_JSON_DYN_LINK -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -ltomlplusplus -lboost_json -lpcap -lsodium -lspdlog -lfmt -ldate-tz
//
// The capture and trace requests of the admin API (framework/capture/watch.hpp), as anyone
// holding the admin token could send them: a sequence of requests, each [control byte][length
// byte][body]. The control byte picks captures or traces (0x80), the method and path (start, read
// or end one of the first ones); the body is the rest. Between requests a packet of the input's
// bytes crosses the pipeline as the pipeline tells it: in at an edge, into a stage and out of it
// (passed, replied, taken, or dropped), so running captures and traces take packets. Every answer
// is a status, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "watch.hpp"
#include "waygate/pool.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static waygate::Pool pool(64, 2048, 128);
  waygate::Watch watch;
  const waygate::Directory directory;
  const std::vector<waygate::StageName> stages{{"tunnel", "wireguard"}, {"policy", "policy"}, {"nat", "nat"}};
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t control = data[at], length = data[at + 1];
    at += 2;
    const std::size_t n = std::min<std::size_t>(length, size - at);
    const std::string base = control & 0x80 ? "/v1/trace" : "/v1/capture";
    waygate::Request r;
    r.method = control & 1 ? "POST" : control & 2 ? "GET" : "DELETE";
    r.path = control & 4 ? base : base + "/" + std::to_string((control >> 4) & 7);
    r.body.assign(reinterpret_cast<const char*>(data + at), n);
    const auto answer = watch.handle(r, directory, stages, {std::chrono::seconds(30), 1000});
    if (!answer || answer->status < 200) __builtin_trap();
    if (waygate::Packet* p = pool.alloc()) {
      p->resize(n);
      std::copy_n(data + at, n, p->data());
      const auto d = control & 8 ? waygate::Direction::outbound : waygate::Direction::inbound;
      waygate::Burst burst(d), passed(d), replies(waygate::opposite(d)), none(d);
      burst.push(p);
      watch.taps.offer(stages[control % 3].name, burst);
      // In at the edge, through policy, then passed on, replied, taken or dropped at nat.
      watch.tracer.received(0, burst);
      watch.tracer.entering(1, burst);
      (control & 0x40 ? replies : passed).push(p);
      watch.tracer.left(1, burst, passed, replies);
      watch.tracer.entering(2, burst);
      if (control & 0x20) watch.tracer.dropped(*p, "fuzzed");
      else watch.tracer.left(2, burst, none, none);
      pool.free(p);
    }
    at += n;
  }
  return 0;
}
