// fuzz-sources: framework/control/socket_file.cpp sdk/src/config.cpp sdk/src/files.cpp
// fuzz-flags: -Iframework/control -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DBOOST_JSON_DYN_LINK -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -ltomlplusplus -lboost_json -lspdlog -lfmt
//
// The body of POST /v1/sockets on the admin API (framework/control/socket_file.cpp): arbitrary
// bytes as the JSON body. It is refused with std::invalid_argument, or the socket's table
// appended to a config file's text must read back — the file still parses, and the new
// [[socket]] holds exactly the name, description, connector, allow and deny sent, whatever
// quotes, escapes, newlines or characters they carry.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "socket_file.hpp"
#include "waygate/config.hpp"

namespace {
// The file the table is appended to ends as operators' files may: a comment, no newline.
const char* kFile = R"(# a connector
[host]
admin = "127.0.0.1:9190"
[[socket]]
name = "corporate-exit"
type = "exit_node"
description = '''a multi-line literal'''  # and a comment)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace waygate;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  NewSocket s;
  try {
    s = parse_new_socket(body);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  const std::string text = with_socket(kFile, s);
  Config root = Config::parse(text, "fuzz.toml");  // a ConfigError here is the finding
  auto sockets = root.tables("socket");
  if (sockets.size() != 2) __builtin_trap();
  const Config& added = sockets.back();
  if (added.string("name") != s.name || added.string("type") != "exit_node" ||
      added.string("description", "") != s.description || added.string("connector", "") != s.connector ||
      added.strings("allow") != s.allow || added.strings("deny") != s.deny)
    __builtin_trap();
  if (sockets.front().string("name") != "corporate-exit") __builtin_trap();
  return 0;
}
