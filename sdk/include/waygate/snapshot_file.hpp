// A state file written whole, in the background, for state a stage keeps across restarts while it
// runs (a quota's use, say): the lines go to FILE.tmp through the worker's io_uring in pool
// buffers, and only when every write has landed is FILE.tmp renamed over FILE, so a reader finds
// the old snapshot or the new one, never a mix. The data plane waits for nothing but an open() and
// a rename(). Lines may land in any order: each must stand on its own. There is no fsync: a
// process that dies loses nothing written, a machine that does may lose the last snapshot.
//
//   if (!snapshot.busy() && snapshot.begin(path)) { for (...) snapshot.line(text); snapshot.commit(); }
//   in on_io(): if (snapshot.owns(c)) return snapshot.done(c);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "waygate/context.hpp"

namespace waygate {

class SnapshotFile {
 public:
  // Counts under <name>_snapshots_total and <name>_snapshots_failed_total.
  SnapshotFile(Context& ctx, std::string_view name);
  ~SnapshotFile();
  SnapshotFile(const SnapshotFile&) = delete;
  SnapshotFile& operator=(const SnapshotFile&) = delete;

  // A snapshot is being written (begun, or committed with writes in flight).
  bool busy() const { return fd_ >= 0; }
  // Starts a snapshot of `path`; false (and logged) when FILE.tmp cannot be opened.
  bool begin(const std::string& path);
  // Adds a line (a newline is added). Lines longer than a pool buffer fail the snapshot.
  void line(std::string_view text);
  // No more lines: FILE is replaced once the writes in flight land.
  void commit();
  // Gives up a snapshot in flight (its writes cancelled, FILE.tmp removed): for stop().
  void abandon();

  bool owns(const Completion& c) const { return c.tag == kTag; }
  void done(const Completion& c);

 private:
  static constexpr std::uint64_t kTag = 0x736e617073686f74ull;  // "snapshot"
  void send();
  void finish();

  Context& ctx_;
  Counter written_, failed_;
  std::string path_;
  int fd_ = -1;
  Packet* filling_ = nullptr;
  std::uint64_t in_flight_ = 0;
  bool committed_ = false, broken_ = false;
};

}  // namespace waygate
