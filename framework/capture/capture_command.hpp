// `waygate capture -c FILE [--at STAGE] [--identity I] [--socket S] [--count N] [--seconds T]
// [-w FILE|-] [EXPRESSION]`: the packets crossing a link of a running connector's pipeline (by
// default the one right after its tunnel: decrypted), through its admin API (/v1/capture), as
// pcapng (-w; "-" for standard output, for `| tcpdump -r -`) or one line each. Stops on the count,
// the time, or Ctrl-C, and says how many were lost to a slow reader.
#pragma once

namespace waygate {

int capture_command(int argc, char** argv);

}  // namespace waygate
