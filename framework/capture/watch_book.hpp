// The captures, or the traces, of one worker: those running and those ended whose reader has not
// yet taken what they hold. Each holds a ring allocated at its start, so at most kMost are kept:
// an ended one nobody read makes room for a new one, a running one does not. The admin API reads
// one (GET PREFIX/ID, what it holds is taken) or ends it (DELETE); once ended and read, it is gone.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "watch_request.hpp"

namespace waygate {

// What a capture and a trace have alike: what was asked and until when, the ring its records wait
// in for the reader (allocated at start), and the directory's names for the answer.
template <typename Record>
struct Watched {
  std::uint32_t id = 0;
  WatchRequest asked;
  std::chrono::steady_clock::time_point until;
  std::string ended;  // why it ended; "" while it runs
  std::vector<Record> ring;
  std::size_t head = 0, held = 0;
  std::uint64_t taken = 0, lost = 0;  // records taken; packets lost (a reader too slow)
  std::vector<std::string> identities, sockets;

  std::string name(const std::vector<std::string>& names, std::uint32_t i) const {
    return i < names.size() ? names[i] : std::string("-");
  }
  // The next record to fill, or null when the reader is behind (the packet is counted as lost).
  Record* slot() {
    if (held == ring.size()) {
      ++lost;
      return nullptr;
    }
    return &ring[(head + held++) % ring.size()];
  }
  // Each record held, oldest first, taken from the ring.
  template <typename Take>
  void drain(Take&& take) {
    for (; held > 0; --held, head = (head + 1) % ring.size()) take(ring[head]);
  }
};

// Item: a Watched<Record>.
template <typename Item>
class WatchBook {
 public:
  static constexpr std::size_t kMost = 8;

  bool any() const { return !running_.empty(); }
  const std::vector<std::unique_ptr<Item>>& running() const { return running_; }

  // Throws Refused (429) when kMost run already.
  // A new one for a POST's `body`, its ring of `records` allocated; add() it once checked. Throws
  // Refused: 429 when kMost run already, or what read_watch_request() refuses.
  std::unique_ptr<Item> open(std::string_view what, const std::string& body, const Directory& directory,
                             WatchLimits limits, std::size_t records) {
    if (running_.size() + ended_.size() >= kMost && !ended_.empty()) ended_.erase(ended_.begin());
    if (running_.size() >= kMost) throw Refused(429, fmt::format("{} {} run already: end one first", kMost, what));
    auto item = std::make_unique<Item>();
    item->asked = read_watch_request(body, directory, limits);
    item->until = std::chrono::steady_clock::now() + item->asked.seconds;
    item->ring.resize(records);
    for (auto& i : directory.identities) item->identities.push_back(i.name);
    for (auto& s : directory.sockets) item->sockets.push_back(s.name);
    return item;
  }
  std::uint32_t add(std::unique_ptr<Item> item) {
    item->id = next_id_++;
    running_.push_back(std::move(item));
    return running_.back()->id;
  }

  static void end(Item& item, const std::string& why) {
    if (item.ended.empty()) item.ended = why;
  }
  void end_all(const std::string& why) {
    for (auto& item : running_) end(*item, why);
    retire();
  }
  // Those that ended wait, with what they hold, for their reader.
  void retire() {
    for (auto it = running_.begin(); it != running_.end();)
      if (!(*it)->ended.empty()) {
        ended_.push_back(std::move(*it));
        it = running_.erase(it);
      } else {
        ++it;
      }
  }

  // GET or DELETE `prefix`/ID: `read(item)` answers with what it holds. nullopt for other paths.
  template <typename Read>
  std::optional<Response> answer(const Request& request, std::string_view prefix, Read&& read) {
    if (!request.path.starts_with(prefix) || request.path.size() <= prefix.size()) return std::nullopt;
    const std::string id = request.path.substr(prefix.size());
    for (auto* list : {&running_, &ended_})
      for (auto it = list->begin(); it != list->end(); ++it) {
        if (std::to_string((*it)->id) != id) continue;
        if (request.method != "GET" && request.method != "DELETE")
          return json_error(405, "GET reads it, DELETE ends it");
        if (request.method == "DELETE") end(**it, "its reader ended it");
        if (std::chrono::steady_clock::now() >= (*it)->until) end(**it, "its time is up");  // no packet said so
        Response r = read(**it);
        if (!(*it)->ended.empty() && (*it)->held == 0) list->erase(it);  // all of it read
        retire();
        return r;
      }
    return json_error(404, "nothing numbered " + id + " (ended and read, or never started)");
  }

 private:
  std::vector<std::unique_ptr<Item>> running_;
  std::vector<std::unique_ptr<Item>> ended_;
  std::uint32_t next_id_ = 1;
};

}  // namespace waygate
