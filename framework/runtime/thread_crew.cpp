#include "thread_crew.hpp"

#include <pthread.h>

#include <algorithm>
#include <string>

namespace waygate {

namespace {

constexpr std::uint64_t pack(std::uint32_t job, std::uint64_t chunks, std::uint64_t taken) {
  return (std::uint64_t{job} << 32) | (chunks << 16) | taken;
}
constexpr std::uint32_t job_of(std::uint64_t w) { return static_cast<std::uint32_t>(w >> 32); }
constexpr std::uint64_t chunks_of(std::uint64_t w) { return (w >> 16) & 0xffff; }
constexpr std::uint64_t taken_of(std::uint64_t w) { return w & 0xffff; }

// Several chunks per member, so a thread that starts late still finds some; none smaller than a
// few items, so taking one costs little beside its work.
constexpr std::size_t kChunksPerMember = 4;
constexpr std::size_t kMinChunk = 4;
constexpr std::size_t kMaxChunks = 0xffff;
// How long the caller spins on chunks others are finishing before it sleeps: a chunk is a few
// microseconds of work.
constexpr int kSpins = 2000;

void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

void ThreadCrew::start() {
  threads_.reserve(wanted_);
  while (threads_.size() < wanted_) {
    const auto member = static_cast<unsigned>(threads_.size()) + 1;
    threads_.emplace_back([this, member] { serve(member); });
  }
}

ThreadCrew::~ThreadCrew() {
  stopping_.store(true);
  claim_.fetch_add(std::uint64_t{1} << 32);  // a new job of no chunks: wakes every thread
  claim_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadCrew::serve(unsigned member) {
  ::pthread_setname_np(::pthread_self(), ("crypto " + std::to_string(member)).c_str());
  for (;;) {
    std::uint64_t w = claim_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_relaxed)) return;
    if (taken_of(w) < chunks_of(w)) take_chunks(member);
    else claim_.wait(w, std::memory_order_acquire);
  }
}

void ThreadCrew::take_chunks(unsigned member) {
  std::uint64_t w = claim_.load(std::memory_order_acquire);
  while (taken_of(w) < chunks_of(w)) {
    // Taking a chunk is what makes the job's description safe to read: the job cannot end, and
    // the caller cannot write the next one, before this chunk is done.
    if (!claim_.compare_exchange_weak(w, w + 1, std::memory_order_acquire)) continue;
    const std::size_t begin = taken_of(w) * chunk_;
    work_(self_, member, begin, std::min(items_, begin + chunk_));
    if (done_.fetch_add(1, std::memory_order_release) + 1 == chunks_of(w)) done_.notify_one();
    w = claim_.load(std::memory_order_acquire);
  }
}

void ThreadCrew::run(std::size_t items, Work work, void* self) {
  if (threads_.empty() || items < kMinItems) {
    if (items > 0) work(self, 0, 0, items);
    return;
  }
  const std::size_t wanted = size() * kChunksPerMember;
  const std::size_t chunk = std::max({kMinChunk, (items + wanted - 1) / wanted, (items + kMaxChunks - 1) / kMaxChunks});
  const std::uint64_t chunks = (items + chunk - 1) / chunk;
  work_ = work;
  self_ = self;
  items_ = items;
  chunk_ = chunk;
  done_.store(0, std::memory_order_relaxed);
  claim_.store(pack(job_of(claim_.load(std::memory_order_relaxed)) + 1, chunks, 0), std::memory_order_release);
  claim_.notify_all();
  take_chunks(0);
  // What is left was taken by threads that are doing it now.
  for (int spins = 0;; ++spins) {
    std::uint32_t done = done_.load(std::memory_order_acquire);
    if (done == chunks) return;
    if (spins < kSpins) relax();
    else done_.wait(done, std::memory_order_acquire);
  }
}

}  // namespace waygate
