// A journal: a file of lines (one JSON object per event: an access decision, a NAT session)
// written through the worker's io_uring, so the data plane never waits on the disk. Each line is a
// pool buffer handed to an asynchronous append; a line that finds no free buffer is counted as
// lost, never waited for. Rotated by size: at `max_bytes` the file becomes FILE.1 (FILE.1 becomes
// FILE.2, ... up to FILE.<keep>) and a new FILE is begun; writes still in flight finish in the old.
//
// The plugin hands its completions back: `if (journal.owns(c)) return journal.done(c);` in on_io().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "waygate/context.hpp"

namespace waygate {

class Journal {
 public:
  // Counts under <name>_lines_total and <name>_lines_lost_total.
  Journal(Context& ctx, std::string_view name);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // "" for none. max_bytes 0: never rotated. Throws std::system_error naming the file.
  void open(const std::string& path, std::uint64_t max_bytes = 0, unsigned keep = 5);
  void close();
  bool is_open() const { return fd_ >= 0; }
  void write(std::string_view line);  // a newline is added

  bool owns(const Completion& c) const { return (c.tag & ~kGenerationMask) == kTag; }
  void done(const Completion& c);

 private:
  static constexpr std::uint64_t kTag = 0x6a6f75726e000000ull;  // "journ"
  static constexpr std::uint64_t kGenerationMask = 0xffffff;
  void rotate();

  Context& ctx_;
  Counter lines_, lost_;
  std::string path_;
  std::uint64_t max_bytes_ = 0, bytes_ = 0;
  unsigned keep_ = 5;
  int fd_ = -1;
  std::uint64_t generation_ = 0;
  // Descriptors of rotated files with writes still in flight: (generation, fd, writes).
  struct Retiring {
    std::uint64_t generation;
    int fd;
    std::uint64_t in_flight;
  };
  std::vector<Retiring> retiring_;
  std::uint64_t in_flight_ = 0;
};

}  // namespace waygate
