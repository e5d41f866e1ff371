// Where packets stop, for a doctor: a trace of a running host's pipeline (its /v1/trace, the one
// `waygate trace` prints), summed up by whose packets they were and where their way ended:
// "laptop's ICMP reaches policy and is dropped: no_exit_node (12 packets)". Started before the
// checks that make traffic, finished after them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "waygate/doctor.hpp"

namespace waygate {

class PacketTrace {
 public:
  // One way packets ended.
  struct Ending {
    std::string identity;  // "" when the host did not know whose
    std::string what;      // "ICMP", "TCP", "UDP", "IP"
    std::string stage;     // where the way ended
    std::string verdict;   // "drop" (with `reason`), "taken" (sent, or queued), "pass", "reply"
    std::string reason;
    std::size_t packets = 0;
    bool dropped() const { return verdict == "drop"; }
    // "laptop's ICMP reaches policy and is dropped: no_exit_node (12 packets)"
    std::string text() const;
  };

  // Starts a trace of `filter` (a tcpdump expression; "" for every packet) on the host whose
  // admin API is at `admin`, for at most `seconds`. Throws std::runtime_error with the host's words.
  PacketTrace(const std::string& admin, const std::string& token, int seconds, const std::string& filter = "");
  ~PacketTrace();  // ends the trace if finish() did not
  PacketTrace(const PacketTrace&) = delete;
  PacketTrace& operator=(const PacketTrace&) = delete;

  // Ends the trace; where its packets' ways ended, the most packets first. Throws
  // std::runtime_error when the host stopped answering.
  std::vector<Ending> finish();

 private:
  std::string admin_, token_, id_;
};

// The doctors' check "where packets stop": finishes the trace and tells each identity's packets by
// where their way ended. It fails when everything of an identity was dropped (nothing of hers
// gets through), and warns when something was; `config_file` is named in the hint.
Check where_packets_stop(PacketTrace& trace, const std::string& config_file);

}  // namespace waygate
