// What etcd's JSON gateway says, read: its answers to a range and a transaction, and the messages
// of a watch's stream. Everything in them is outside input: a malformed answer is a
// std::runtime_error (or, from a watch, a message that changes nothing), never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base64.hpp"  // the gateway carries keys and values in base64

namespace waygate {

struct KeyValue {
  std::string key, value;
  std::int64_t mod_revision = 0;
};

// Everything under a prefix as of one revision of the store.
struct Snapshot {
  std::int64_t revision = 0;
  std::vector<KeyValue> kvs;  // by key
};

Snapshot read_range(std::string_view answer);
// The store's revision after a transaction that was taken, 0 for one whose comparison failed.
std::int64_t read_txn(std::string_view answer);

// A lease granted or renewed: its id and the seconds it has left (0: gone).
struct Lease {
  std::int64_t id = 0, ttl = 0;
};
Lease read_lease(std::string_view answer);

// One message of a watch's stream: a malformed one is an empty batch.
struct WatchBatch {
  struct Event {
    bool deleted = false;
    KeyValue kv;               // a delete's value is empty
    std::int64_t version = 0;  // 1: the put that made the key
  };
  bool created = false;        // the watch was taken
  std::int64_t compacted = 0;  // > 0: the revision asked for is gone; read everything again
  std::int64_t revision = 0;   // the store's, as of these events
  std::vector<Event> events;
};
WatchBatch read_watch(std::string_view message);

// Whether a watch's events on a connector's whole [directory] prefix change what it runs: a key of
// the directory itself, or a connector registering or going away (PREFIX connectors/NAME created
// or deleted; its renewals say nothing new). The rest (statuses, addresses) does not.
bool changes_directory(const WatchBatch& batch, std::string_view prefix);

}  // namespace waygate
