#include "capture_command.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "base64.hpp"
#include "host_config.hpp"
#include "pcapng.hpp"
#include "watch_session.hpp"

namespace waygate {

namespace {

namespace json = boost::json;

// One line per packet of our own enhanced packet blocks: time, the comment (direction, link,
// identity, socket), and the addresses and protocol of its IP header.
void print_lines(std::string_view blocks) {
  auto u32 = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, blocks.data() + at, 4);
    return v;
  };
  for (std::size_t at = 0; at + 12 <= blocks.size();) {
    const std::uint32_t total = u32(at + 4);
    if (total < 32 || at + total > blocks.size()) break;
    const std::uint64_t micros = (std::uint64_t{u32(at + 12)} << 32) | u32(at + 16);
    const std::uint32_t captured = u32(at + 20), length = u32(at + 24);
    const auto* ip = reinterpret_cast<const std::uint8_t*>(blocks.data() + at + 28);
    std::size_t opt = at + 28 + (captured + 3) / 4 * 4;
    std::string comment;
    if (opt + 4 <= at + total && (u32(opt) & 0xffff) == 1) comment.assign(blocks.data() + opt + 4, u32(opt) >> 16);
    char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
    unsigned protocol = 0;
    if (captured >= 20 && ip[0] >> 4 == 4) {
      ::inet_ntop(AF_INET, ip + 12, src, sizeof src);
      ::inet_ntop(AF_INET, ip + 16, dst, sizeof dst);
      protocol = ip[9];
    } else if (captured >= 40 && ip[0] >> 4 == 6) {
      ::inet_ntop(AF_INET6, ip + 8, src, sizeof src);
      ::inet_ntop(AF_INET6, ip + 24, dst, sizeof dst);
      protocol = ip[6];
    }
    const auto seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    const char* name = protocol == 1 || protocol == 58 ? "ICMP" : protocol == 6 ? "TCP" : protocol == 17 ? "UDP" : "IP";
    fmt::print("{:02}:{:02}:{:02}.{:06} {} > {} {} {} bytes  ({})\n", tm.tm_hour, tm.tm_min, tm.tm_sec, micros % 1000000,
               src, dst, name, length, comment);
    at += total;
  }
  std::fflush(stdout);
}

}  // namespace

int capture_command(int argc, char** argv) {
  CLI::App app{"Capture the packets inside a running connector's pipeline, where tcpdump cannot look", "capture"};
  std::string file, at, identity, socket, out;
  std::vector<std::string> expression;
  std::int64_t count = 0, seconds = 0;
  app.add_option("-c,--config", file, "The connector's config file (its [host] admin, admin_token_file)")->required();
  app.add_option("--at", at, "The stage the link follows (default: the tunnel's, decrypted packets; with --socket, policy's)");
  app.add_option("--identity", identity, "Only this identity's packets");
  app.add_option("--socket", socket, "Only packets of this socket (exit node)");
  app.add_option("--count", count, "Stop after this many packets")->check(CLI::PositiveNumber);
  app.add_option("--seconds", seconds, "Stop after this long")->check(CLI::PositiveNumber);
  app.add_option("-w", out, "Write pcapng to this file, or - for standard output");
  app.add_option("expression", expression, "A tcpdump filter expression, such as: tcp port 8080");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    const HostConfig config = load_host_config(file);
    // By default right after the tunnel: decrypted. A socket's packets carry it once policy bound
    // them, so those are looked for right after policy.
    const char* after = socket.empty() ? "wireguard" : "policy";
    if (at.empty())
      for (const StageSpec& s : config.stages)
        if (s.plugin == after && at.empty()) at = s.name;
    if (at.empty()) throw std::runtime_error(fmt::format("no {} stage in {}: say which link with --at STAGE", after, file));
    std::string filter;
    for (auto& word : expression) filter += (filter.empty() ? "" : " ") + word;
    json::object ask{{"at", at}, {"filter", filter}};
    if (!identity.empty()) ask["identity"] = identity;
    if (!socket.empty()) ask["socket"] = socket;
    if (count > 0) ask["count"] = count;
    if (seconds > 0) ask["seconds"] = seconds;

    std::FILE* sink = nullptr;
    if (out == "-") sink = stdout;
    else if (!out.empty() && (sink = std::fopen(out.c_str(), "wb")) == nullptr)
      throw std::runtime_error("cannot write " + out + ": " + std::strerror(errno));
    bool headed = false;
    std::uint64_t kept = 0;  // with more than one worker each holds up to --count: the count is kept here
    const std::uint64_t most = count > 0 ? static_cast<std::uint64_t>(count) : UINT64_MAX;
    const json::value last = run_watch(file, "/v1/capture", json::serialize(ask), [&](const json::value& read) {
      const std::optional<std::string> blocks = from_base64(read.at("packets").as_string());
      if (!blocks) throw std::runtime_error("the connector's answer holds packets that are not base64");
      const pcapng::Leading taken = pcapng::leading(*blocks, most - kept);
      const std::string_view mine(blocks->data(), taken.bytes);
      kept += taken.blocks;
      if (sink == nullptr) {
        print_lines(mine);
        return kept == most;
      }
      if (!headed) {  // once the connector took the capture: a refusal leaves no file behind half made
        const std::string head = pcapng::header(at);
        std::fwrite(head.data(), 1, head.size(), sink);
        headed = true;
      }
      std::fwrite(mine.data(), 1, mine.size(), sink);
      std::fflush(sink);
      return kept == most;
    });
    if (sink != nullptr && sink != stdout) std::fclose(sink);
    fmt::print(stderr, "{} packet(s) captured at the link after {}, {} lost to a slow reader; ended: {}\n", kept, at,
               json::serialize(last.at("lost")), kept == most ? "it has its packets" : std::string_view(last.at("why").as_string()));
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "waygate capture: {}\n", e.what());
    return 1;
  }
}

}  // namespace waygate
