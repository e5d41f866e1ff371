// A plugin's view of its TOML table. Each getter reads one key, converts and range-checks it, and
// remembers the key as known; a key the plugin never asked for is an error when the host calls
// complete(). Every error is a ConfigError whose message reads the same everywhere:
//   exit-node.toml:12:7: stage 'inside': key 'mtu': expected an integer from 576 to 65535
// Throwing from configure() leaves the running plugin with its old configuration.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "waygate/timer.hpp"

namespace waygate {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A key some code asked a Config for: the schema as the code has it, for the reference docs and
// the test that keeps them in step (`waygate check --keys`).
struct KeyUse {
  std::string context;   // "stage 'tunnel'", "policy 'staff'", or "" at the top
  std::string table;     // the key's table in the document: "host", "stage", "stage.peer"
  std::string key;
  std::string type;      // "string", "integer 576..65535", "boolean", "duration", ...
  std::string fallback;  // the default, as text; "required" when there is none
};

class Config {
 public:
  // Parses TOML text; `origin` names it in errors (a file path, or "<rig>").
  static Config parse(std::string_view toml, std::string origin);
  static Config parse_file(const std::string& path);

  Config(const Config&);
  Config& operator=(const Config&);
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();

  bool has(std::string_view key) const;
  // A key that must be there, for the getters whose absent value is a default or an empty list:
  // `c.require("ports", "an array of ports"); c.integers("ports", 1, 65535)`. Absent: a ConfigError
  // "missing (<what> is required)"; `waygate check --keys` shows it required either way.
  void require(std::string_view key, std::string_view what) const;
  // The same keys with the same values, whatever their order or place in the file.
  bool same_as(const Config& other) const;

  std::string string(std::string_view key) const;  // required
  std::string string(std::string_view key, std::string_view fallback) const;
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::vector<std::string> strings(std::string_view key) const;  // absent: empty
  std::vector<std::int64_t> integers(std::string_view key, std::int64_t min,
                                     std::int64_t max) const;
  // "250ms", "10s", "2m", "1h", several parts summed ("2h4m", "1m30s"), or integer seconds.
  Duration duration(std::string_view key, Duration fallback) const;
  Config table(std::string_view key) const;         // required sub-table
  std::vector<Config> tables(std::string_view key) const;  // array of tables; absent: empty
  std::vector<std::string> keys() const;            // every key of this table, sorted

  // Marks a key as handled without reading it through a getter.
  void accept(std::string_view key) const;
  // Frees what a key holds once it has been read into something else: every table of a document
  // keeps the whole document alive, and a directory of ten thousand identities need not stay.
  void release(std::string_view key);
  // Throws ConfigError naming the first key no getter asked for.
  void complete() const;

  // A ConfigError about `key` (or the table itself when the key is absent), for checks a plugin
  // makes on its own: "peer 'x' listed twice", "prefix not in the pool".
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;
  // The same text, not thrown: for a warning that reads like an error.
  std::string located(std::string_view key, std::string_view message) const;
  std::string where(std::string_view key = {}) const;  // "file:line:col"
  const std::string& origin() const;
  // Prefix for every error message, e.g. "stage 'inside'".
  void set_context(std::string context);
  // From now on, remember every key asked of any table of this document (off by default: only
  // `waygate check --keys` wants it), and what was asked so far, in the order first asked.
  void record_keys();
  std::vector<KeyUse> asked() const;

 private:
  struct State;
  Config(std::shared_ptr<State> state, const void* table, std::string context, std::string path);
  const void* node(std::string_view key) const;
  void note(std::string_view key, std::string_view type, std::string fallback) const;

  std::shared_ptr<State> state_;  // keeps the parsed document alive
  const void* table_ = nullptr;   // a toml::table inside it
  std::string context_;
  std::string path_;  // this table's place in the document: "stage", "stage.peer"
  std::shared_ptr<std::vector<std::string>> used_;
};

}  // namespace waygate
