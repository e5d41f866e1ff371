// A tcpdump expression ("tcp port 8080", "icmp and host 10.64.0.2"), compiled by libpcap for raw
// IP packets and run on a packet's bytes in user space: what a capture keeps. Never parsed here.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

struct bpf_program;

namespace waygate {

class CaptureFilter {
 public:
  // "" keeps every packet. Throws std::invalid_argument naming the expression and libpcap's reason.
  explicit CaptureFilter(const std::string& expression);
  ~CaptureFilter();
  CaptureFilter(const CaptureFilter&) = delete;
  CaptureFilter& operator=(const CaptureFilter&) = delete;

  bool matches(std::span<const std::uint8_t> packet) const;

 private:
  std::unique_ptr<bpf_program> program_;  // null: every packet
};

}  // namespace waygate
