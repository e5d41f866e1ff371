// Resources for plugin instances built only to be thrown away: to check a config before a live
// instance sees it. Every I/O is refused, no counter reaches a real registry, nothing is logged.
// The host validates whole pipelines with it, the rig single plugins.
#pragma once

#include "stage_context.hpp"
#include "thread_crew.hpp"

namespace waygate {

struct Scratch {
  class NoIo final : public Io {
   public:
    explicit NoIo(Pool& p) : pool(p) {}
    void read(int, Packet* p, std::uint64_t) override { pool.free(p); }
    void write(int, Packet* p, std::uint64_t) override { pool.free(p); }
    void receive(int, Packet* p, std::uint64_t) override { pool.free(p); }
    void send(int, Packet* p, std::uint64_t) override { pool.free(p); }
    void send_segments(int, std::span<Packet* const> ps, std::uint64_t) override {
      for (Packet* p : ps) pool.free(p);
    }
    void read_many(int, std::uint64_t) override {}
    void receive_many(int, std::uint64_t) override {}
    void receive_segments(int, std::uint64_t) override {}
    void cancel(int) override {}
    Pool& pool;
  };
  class Quiet final : public Logger {
   public:
    bool enabled(Level) const override { return false; }
    void write(Level, std::string_view) override {}
  };
  CounterRegistry registry;
  TimerQueue timers;
  Pool pool{64, 2048, 128};
  NoIo io{pool};
  ThreadCrew crew{0};
  Quiet logger;

  StageContext context(std::string name) {
    return StageContext(std::move(name), MetricNaming{"", "drops_total", false}, registry, 0, timers,
                        pool, io, crew, logger);
  }
};

}  // namespace waygate
