// The Crew behind every Context, in the host and in the test rig: a worker's threads that take
// chunks of the job the worker posts. One word says which job is current, how many chunks it has
// and how many are taken; a thread takes a chunk by bumping it, so a thread that wakes late, or
// not at all, only leaves more chunks to the others, and the worker does whatever nobody took.
// The worker writes that word once per job and each thread once per chunk: no lock, and nothing
// is written per item.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "waygate/crew.hpp"

namespace waygate {

class ThreadCrew final : public Crew {
 public:
  // `threads` beyond the caller; 0 runs everything on the caller. Until start(), size() already
  // counts them but the caller does all the work: the host starts them once it has dropped its
  // privileges, so that they are born with the worker's.
  explicit ThreadCrew(unsigned threads) : wanted_(threads) {}
  ~ThreadCrew() override;
  ThreadCrew(const ThreadCrew&) = delete;
  ThreadCrew& operator=(const ThreadCrew&) = delete;

  void start();
  unsigned size() const override { return wanted_ + 1; }
  void run(std::size_t items, Work work, void* self) override;

  // Jobs smaller than this many items stay on the caller: waking a thread costs more than the
  // work of a few packets.
  static constexpr std::size_t kMinItems = 8;

 private:
  void serve(unsigned member);
  // Takes and does chunks of the current job until none is left.
  void take_chunks(unsigned member);

  // job (32 bits) | chunks (16) | taken (16)
  alignas(64) std::atomic<std::uint64_t> claim_{0};
  alignas(64) std::atomic<std::uint32_t> done_{0};  // chunks finished of the current job
  // The current job: written by the caller before it publishes the job in claim_, read by a
  // thread only after it took one of its chunks (so before the job can end).
  alignas(64) Work work_ = nullptr;
  void* self_ = nullptr;
  std::size_t items_ = 0;
  std::size_t chunk_ = 0;
  unsigned wanted_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace waygate
