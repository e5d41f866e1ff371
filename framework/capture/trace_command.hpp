// `waygate trace -c FILE [--identity I] [--socket S] [--count N] [--seconds T] [--json]
// [EXPRESSION]`: for each packet of a running connector that matches, every stage it went
// through, what each did with it (passed, replied, dropped and why, took it), what changed and
// the time spent there, through the admin API (/v1/trace). Stops on the count, the time or Ctrl-C.
#pragma once

namespace waygate {

int trace_command(int argc, char** argv);

}  // namespace waygate
