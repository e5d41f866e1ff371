// fuzz-sources: framework/control/base64.cpp framework/capture/taps.cpp framework/capture/capture_filter.cpp framework/capture/pcapng.cpp sdk/src/directory.cpp sdk/src/config.cpp sdk/src/assignments.cpp sdk/src/files.cpp
// fuzz-flags: -Iframework/capture -Iframework/control -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DUSE_OS_TZDB=1 -DBOOST_JSON_DYN_LINK -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -ltomlplusplus -lboost_json -lpcap -lsodium -lspdlog -lfmt -ldate-tz
//
// The capture requests of the admin API (framework/capture/taps.cpp), as anyone holding the admin
// token could send them: a sequence of requests, each [control byte][length byte][body]. The
// control byte picks the method and path (start, read or end one of the first captures); the body
// is the rest. Between requests a burst of the input's bytes crosses a link, so running captures
// take packets. Every answer is a status, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "taps.hpp"
#include "waygate/pool.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static waygate::Pool pool(64, 2048, 128);
  waygate::Taps taps;
  const waygate::Directory directory;
  const std::vector<std::string> stages{"tunnel", "policy", "nat"};
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t control = data[at], length = data[at + 1];
    at += 2;
    const std::size_t n = std::min<std::size_t>(length, size - at);
    waygate::Request r;
    r.method = control & 1 ? "POST" : control & 2 ? "GET" : "DELETE";
    r.path = control & 4 ? "/v1/capture" : "/v1/capture/" + std::to_string(control >> 4);
    r.body.assign(reinterpret_cast<const char*>(data + at), n);
    const auto answer = taps.handle(r, directory, stages, {std::chrono::seconds(30), 1000});
    if (answer && answer->status < 200) __builtin_trap();
    if (waygate::Packet* p = pool.alloc()) {
      p->resize(n);
      std::copy_n(data + at, n, p->data());
      waygate::Burst burst(control & 8 ? waygate::Direction::outbound : waygate::Direction::inbound);
      burst.push(p);
      taps.offer(stages[control % 3], burst);
      pool.free(p);
    }
    at += n;
  }
  return 0;
}
