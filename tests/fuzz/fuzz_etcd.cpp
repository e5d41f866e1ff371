// fuzz-sources: framework/directory/etcd_answers.cpp framework/directory/registration.cpp framework/control/base64.cpp
// fuzz-flags: -Iframework/directory -Iframework/control -DBOOST_JSON_DYN_LINK -lboost_json -lsodium
//
// What etcd answers, as the directory reads it (framework/directory/etcd_answers.cpp): a range, a
// transaction's outcome, a lease, a watch's messages and connectors' registrations. Anything may come back over the network; reading
// it either succeeds or throws std::runtime_error, never anything else.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "etcd_answers.hpp"
#include "registration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const waygate::Snapshot s = waygate::read_range(text);
    for (auto& kv : s.kvs)
      if (kv.key.size() > size || kv.value.size() > size) __builtin_trap();  // base64 only shrinks
  } catch (const std::runtime_error&) {
  }
  try {
    (void)waygate::read_txn(text);
  } catch (const std::runtime_error&) {
  }
  try {
    (void)waygate::read_lease(text);
  } catch (const std::runtime_error&) {
  }
  const waygate::WatchBatch batch = waygate::read_watch(text);
  for (auto& e : batch.events)
    if (e.kv.key.size() > size || e.kv.value.size() > size) __builtin_trap();
  (void)waygate::changes_directory(batch, "/waygate/");
  if (auto r = waygate::read_registration(text); r && r->name.empty()) __builtin_trap();
  return 0;
}
