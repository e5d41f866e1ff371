// fuzz-sources: sdk/src/config.cpp sdk/src/directory.cpp sdk/src/assignments.cpp sdk/src/state_version.cpp sdk/src/files.cpp plugins/policy/access.cpp sdk/src/verdict.cpp plugins/policy/client_api.cpp
// fuzz-flags: -Iplugins/policy -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DUSE_OS_TZDB=1 -DBOOST_JSON_DYN_LINK -ltomlplusplus -ldate-tz -lfmt -lboost_json
//
// The clients' API (plugins/policy/client_api.cpp) as a peer in the tunnel could drive it: a
// sequence of requests, each [control byte][length byte][body]. The control byte picks the method
// (bits 0-1: GET, PUT, DELETE, POST), the path (bit 2), who asks (bits 3-4: alice, who may use
// the exit node; bob, who may not; an address no identity has) and whether an endpoint change
// comes first (bit 5). Every answer is JSON with a known status; bob never gets an exit node or a
// route, whatever he sends.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "client_api.hpp"
#include "waygate/config.hpp"

namespace {

const char* kDirectory = R"(
[overlay]
pool4 = "10.64.0.0/24"
[[identity]]
name = "alice"
public_key = "zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ="
[[identity]]
name = "bob"
public_key = "nPOeBeVKE6GYPA78yStsYfNHVu6wTIGbmekpIQzfl3w="
[[socket]]
name = "corporate-exit"
type = "exit_node"
[[socket]]
name = "second-exit"
type = "exit_node"
[[socket]]
name = "lab"
type = "subnet_router"
routes = ["192.168.10.0/24"]
[[policy]]
name = "alice-only"
organization_wide = true
permissions = ["network"]
identities = ["alice"]
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace waygate;
  static const auto directory = Directory::load(Config::parse(kDirectory, "fuzz"));
  policy::Access access;
  access.reset(directory, std::chrono::sys_seconds{});
  const net::Address who[] = {*net::parse_address("10.64.0.2"), *net::parse_address("10.64.0.3"),
                              *net::parse_address("10.64.0.99")};
  const char* methods[] = {"GET", "PUT", "DELETE", "POST"};
  for (std::size_t at = 0; at + 2 <= size;) {
    const std::uint8_t control = data[at];
    const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
    Request r;
    r.method = methods[control & 3];
    r.path = control & 4 ? "/v1/exit-node" : "/v1/routes";
    r.peer = who[((control >> 3) & 3) % 3];
    r.body.assign(reinterpret_cast<const char*>(data + at + 2), length);
    at += 2 + length;
    if (control & 0x20) {
      Endpoint e;
      e.addr.v4.sin_family = AF_INET;
      e.addr.v4.sin_port = static_cast<std::uint16_t>(control);
      e.len = sizeof e.addr.v4;
      access.set_endpoint(access.identity_at(r.peer) == kNoId ? 0 : access.identity_at(r.peer), e, {});
    }
    Response answer = policy::answer_client(access, r);
    if (answer.status != 200 && answer.status != 400 && answer.status != 403 && answer.status != 404 &&
        answer.status != 405)
      __builtin_trap();
    std::error_code ec;
    auto body = boost::json::parse(answer.body, ec);
    if (ec || !body.is_object()) __builtin_trap();
    if (access.exit_node(1) != kNoId) __builtin_trap();
    if (r.peer == who[1] && answer.status == 200 &&
        (!body.as_object().at("routes").as_array().empty() || !body.as_object().at("exit_nodes").as_array().empty()))
      __builtin_trap();
  }
  return 0;
}
