#include "capture_filter.hpp"

#include <pcap/pcap.h>

#include <stdexcept>

namespace waygate {

CaptureFilter::CaptureFilter(const std::string& expression) {
  if (expression.empty()) return;
  // Raw IPv4 and IPv6 packets, as the pipeline carries them: no link-layer header.
  pcap_t* dead = ::pcap_open_dead(DLT_RAW, 65535);
  if (dead == nullptr) throw std::runtime_error("libpcap: cannot open a dead handle");
  program_ = std::make_unique<bpf_program>();
  const int rc = ::pcap_compile(dead, program_.get(), expression.c_str(), 1, PCAP_NETMASK_UNKNOWN);
  const std::string why = rc == 0 ? "" : ::pcap_geterr(dead);
  ::pcap_close(dead);
  if (rc != 0) {
    program_.reset();
    throw std::invalid_argument("the filter '" + expression + "' does not compile: " + why);
  }
}

CaptureFilter::~CaptureFilter() {
  if (program_) ::pcap_freecode(program_.get());
}

bool CaptureFilter::matches(std::span<const std::uint8_t> packet) const {
  if (!program_) return true;
  pcap_pkthdr header{};
  header.caplen = header.len = static_cast<bpf_u_int32>(packet.size());
  return ::pcap_offline_filter(program_.get(), &header, packet.data()) != 0;
}

}  // namespace waygate
