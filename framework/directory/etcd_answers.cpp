#include "etcd_answers.hpp"

#include <charconv>
#include <stdexcept>

#include <boost/json.hpp>

#include "base64.hpp"

namespace waygate {

namespace {

namespace json = boost::json;

std::runtime_error bad(const std::string& why) { return std::runtime_error("etcd's answer: " + why); }

// A key or value as the gateway carries it: base64 in a JSON string ("" when absent).
std::string bytes_of(const json::value* v) {
  if (v == nullptr) return "";
  if (!v->is_string()) throw bad("a key or value that is not a string");
  std::optional<std::string> bytes = waygate::from_base64(v->as_string());
  if (!bytes) throw bad("a key or value that is not base64");
  return std::move(*bytes);
}

// The gateway writes 64-bit numbers as strings, and leaves out zeros.
std::int64_t number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  std::int64_t n = 0;
  if (v->is_string()) {
    const json::string& s = v->as_string();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) throw bad(std::string(key) + " is not a number");
    return n;
  }
  if (v->is_int64()) return v->as_int64();
  throw bad(std::string(key) + " is not a number");
}

const json::object& object(const json::value& v, std::string_view what) {
  if (!v.is_object()) throw bad(std::string(what) + " is not an object");
  return v.as_object();
}

json::value parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw bad("not JSON: " + ec.message());
  return v;
}

const json::object& header(const json::object& answer) {
  const json::value* h = answer.if_contains("header");
  if (h == nullptr) throw bad("no header");
  return object(*h, "header");
}

}  // namespace

Snapshot read_range(std::string_view text) {
  const json::value v = parse(text);
  const json::object& answer = object(v, "the answer");
  Snapshot s;
  s.revision = number(header(answer), "revision");
  if (const json::value* kvs = answer.if_contains("kvs")) {
    if (!kvs->is_array()) throw bad("kvs is not a list");
    for (const json::value& kv : kvs->as_array()) {
      const json::object& o = object(kv, "a key-value");
      s.kvs.push_back({bytes_of(o.if_contains("key")), bytes_of(o.if_contains("value")), number(o, "mod_revision")});
    }
  }
  return s;
}

std::int64_t read_txn(std::string_view text) {
  const json::value v = parse(text);
  const json::object& answer = object(v, "the answer");
  const json::value* ok = answer.if_contains("succeeded");
  if (ok == nullptr || !ok->is_bool() || !ok->as_bool()) return 0;
  return number(header(answer), "revision");
}

Lease read_lease(std::string_view text) {
  const json::value v = parse(text);
  const json::object* answer = &object(v, "the answer");
  if (const json::value* r = answer->if_contains("result")) answer = &object(*r, "the result");  // a keepalive's
  return {number(*answer, "ID"), number(*answer, "TTL")};
}

WatchBatch read_watch(std::string_view text) {
  WatchBatch batch;
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return batch;
  const json::value* r = v.as_object().if_contains("result");
  if (r == nullptr || !r->is_object()) return batch;
  const json::object& result = r->as_object();
  try {
    batch.created = result.contains("created");
    batch.compacted = number(result, "compact_revision");
    if (const json::value* h = result.if_contains("header"); h != nullptr && h->is_object())
      batch.revision = number(h->as_object(), "revision");
    if (const json::value* events = result.if_contains("events"); events != nullptr && events->is_array())
      for (const json::value& e : events->as_array()) {
        const json::object& event = object(e, "an event");
        const json::value* has_kv = event.if_contains("kv");
        if (has_kv == nullptr) throw bad("an event without its key");
        const json::object& kv = object(*has_kv, "an event's kv");
        const json::value* type = event.if_contains("type");
        batch.events.push_back({type != nullptr && type->is_string() && type->as_string() == "DELETE",
                                {bytes_of(kv.if_contains("key")), bytes_of(kv.if_contains("value")), number(kv, "mod_revision")},
                                number(kv, "version")});
      }
  } catch (const std::runtime_error&) {
    return {};
  }
  return batch;
}

bool changes_directory(const WatchBatch& batch, std::string_view prefix) {
  for (const WatchBatch::Event& e : batch.events) {
    if (!e.kv.key.starts_with(prefix)) continue;
    const std::string_view below = std::string_view(e.kv.key).substr(prefix.size());
    if (below.starts_with("directory/")) return true;
    if (below.starts_with("connectors/") && (e.deleted || e.version == 1)) return true;
  }
  return batch.compacted > 0;
}


}  // namespace waygate
