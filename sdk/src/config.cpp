#include "waygate/config.hpp"

#include <algorithm>
#include <set>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace waygate {

struct Config::State {
  toml::table root;
  std::string origin;
  bool record = false;
  std::vector<KeyUse> asked;
  std::set<std::pair<const void*, std::string>, std::less<>> required;  // (table, key) by require()
};

namespace {

// "2m", "10s", "250ms": a default as an operator would write it.
std::string duration_text(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

namespace {

const toml::table& as_table(const void* t) { return *static_cast<const toml::table*>(t); }

std::string position(const std::string& origin, const toml::source_region& r) {
  if (r.begin.line == 0) return origin;
  return fmt::format("{}:{}:{}", origin, r.begin.line, r.begin.column);
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

}  // namespace

Config::Config(std::shared_ptr<State> state, const void* table, std::string context, std::string path)
    : state_(std::move(state)),
      table_(table),
      context_(std::move(context)),
      path_(std::move(path)),
      used_(std::make_shared<std::vector<std::string>>()) {}

Config::Config(const Config&) = default;
Config& Config::operator=(const Config&) = default;
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;
Config::~Config() = default;

Config Config::parse(std::string_view text, std::string origin) {
  auto state = std::make_shared<State>();
  state->origin = std::move(origin);
  try {
    state->root = toml::parse(text, state->origin);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: {}", position(state->origin, e.source()), e.description()));
  }
  const void* root = &state->root;
  return Config(std::move(state), root, {}, {});
}

Config Config::parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

const std::string& Config::origin() const { return state_->origin; }
void Config::set_context(std::string context) { context_ = std::move(context); }

void Config::record_keys() { state_->record = true; }
std::vector<KeyUse> Config::asked() const { return state_->asked; }

void Config::note(std::string_view key, std::string_view type, std::string fallback) const {
  if (!state_->record) return;
  if (state_->required.count({table_, std::string(key)})) fallback = "required";
  for (auto& k : state_->asked)
    if (k.key == key && k.table == path_ && k.context == context_) return;
  state_->asked.push_back({context_, path_, std::string(key), std::string(type), std::move(fallback)});
}

const void* Config::node(std::string_view key) const {
  accept(key);
  return as_table(table_).get(key);
}

void Config::accept(std::string_view key) const {
  if (std::find(used_->begin(), used_->end(), key) == used_->end()) used_->emplace_back(key);
}

bool Config::has(std::string_view key) const { return as_table(table_).contains(key); }

void Config::release(std::string_view key) {
  accept(key);
  const_cast<toml::table&>(as_table(table_)).erase(key);
}

void Config::require(std::string_view key, std::string_view what) const {
  state_->required.emplace(table_, std::string(key));
  // Called after the getter, it still marks what the getter recorded.
  for (auto& k : state_->asked)
    if (k.key == key && k.table == path_ && k.context == context_) k.fallback = "required";
  if (!has(key)) fail(key, fmt::format("missing ({} is required)", what));
}

bool Config::same_as(const Config& other) const { return as_table(table_) == as_table(other.table_); }

std::string Config::where(std::string_view key) const {
  const toml::table& t = as_table(table_);
  if (!key.empty()) {
    for (auto&& [k, v] : t)
      if (k.str() == key) return position(state_->origin, k.source());
  }
  return position(state_->origin, t.source());
}

void Config::fail(std::string_view key, std::string_view message) const {
  throw ConfigError(located(key, message));
}

std::string Config::located(std::string_view key, std::string_view message) const {
  std::string text = where(key) + ": ";
  if (!context_.empty()) text += context_ + ": ";
  if (!key.empty()) text += fmt::format("key '{}': ", key);
  return text + std::string(message);
}

void Config::complete() const {
  for (auto&& [k, v] : as_table(table_)) {
    if (std::find(used_->begin(), used_->end(), k.str()) == used_->end())
      fail(k.str(), "unknown key");
  }
}

std::string Config::string(std::string_view key) const {
  note(key, "string", "required");
  auto* n = static_cast<const toml::node*>(node(key));
  if (n == nullptr) fail(key, "missing (a string is required)");
  if (!n->is_string()) fail(key, fmt::format("expected a string, got {}", type_name(*n)));
  return std::string(n->as_string()->get());
}

std::string Config::string(std::string_view key, std::string_view fallback) const {
  note(key, "string", fmt::format("\"{}\"", fallback));
  if (!has(key)) {
    accept(key);
    return std::string(fallback);
  }
  return string(key);
}

std::int64_t Config::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  note(key, fmt::format("integer {}..{}", min, max), "required");
  auto* n = static_cast<const toml::node*>(node(key));
  if (n == nullptr) fail(key, "missing (an integer is required)");
  if (!n->is_integer()) fail(key, fmt::format("expected an integer, got {}", type_name(*n)));
  std::int64_t v = n->as_integer()->get();
  if (v < min || v > max) fail(key, fmt::format("expected an integer from {} to {}, got {}", min, max, v));
  return v;
}

std::int64_t Config::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                             std::int64_t max) const {
  note(key, fmt::format("integer {}..{}", min, max), std::to_string(fallback));
  if (!has(key)) {
    accept(key);
    return fallback;
  }
  return integer(key, min, max);
}

bool Config::boolean(std::string_view key, bool fallback) const {
  note(key, "boolean", fallback ? "true" : "false");
  auto* n = static_cast<const toml::node*>(node(key));
  if (n == nullptr) return fallback;
  if (!n->is_boolean()) fail(key, fmt::format("expected a boolean, got {}", type_name(*n)));
  return n->as_boolean()->get();
}

std::vector<std::string> Config::strings(std::string_view key) const {
  note(key, "array of strings", "[]");
  auto* n = static_cast<const toml::node*>(node(key));
  std::vector<std::string> out;
  if (n == nullptr) return out;
  if (n->is_string()) return {std::string(n->as_string()->get())};
  if (!n->is_array()) fail(key, fmt::format("expected an array of strings, got {}", type_name(*n)));
  for (auto&& e : *n->as_array()) {
    if (!e.is_string()) fail(key, fmt::format("expected an array of strings, found {} in it", type_name(e)));
    out.emplace_back(e.as_string()->get());
  }
  return out;
}

std::vector<std::int64_t> Config::integers(std::string_view key, std::int64_t min, std::int64_t max) const {
  note(key, fmt::format("array of integers {}..{}", min, max), "[]");
  auto* n = static_cast<const toml::node*>(node(key));
  std::vector<std::int64_t> out;
  if (n == nullptr) return out;
  if (!n->is_array()) fail(key, fmt::format("expected an array of integers, got {}", type_name(*n)));
  for (auto&& e : *n->as_array()) {
    if (!e.is_integer()) fail(key, fmt::format("expected an array of integers, found {} in it", type_name(e)));
    std::int64_t v = e.as_integer()->get();
    if (v < min || v > max) fail(key, fmt::format("each value must be from {} to {}, got {}", min, max, v));
    out.push_back(v);
  }
  return out;
}

Duration Config::duration(std::string_view key, Duration fallback) const {
  note(key, "duration", duration_text(fallback));
  auto* n = static_cast<const toml::node*>(node(key));
  if (n == nullptr) return fallback;
  if (n->is_integer()) {
    std::int64_t s = n->as_integer()->get();
    if (s < 0) fail(key, "a duration cannot be negative");
    return std::chrono::seconds(s);
  }
  if (!n->is_string()) fail(key, fmt::format("expected a duration such as \"10s\", got {}", type_name(*n)));
  // One or more number-unit parts, summed: "250ms", "10s", "2h4m", "1m30s"; a bare number is seconds.
  std::string_view text = n->as_string()->get();
  auto bad = [&]() -> Duration {
    fail(key, fmt::format("'{}' is not a duration such as \"10s\" or \"2h4m\" (units ms, s, m, h)", text));
  };
  Duration total{0};
  const char* p = text.data();
  const char* end = p + text.size();
  if (p == end) bad();
  while (p < end) {
    std::int64_t value = 0;
    auto [after, ec] = std::from_chars(p, end, value);
    if (ec != std::errc{} || value < 0 || value > 1'000'000'000) bad();
    std::string_view rest(after, static_cast<std::size_t>(end - after));
    std::size_t unit = 0;
    while (unit < rest.size() && rest[unit] >= 'a' && rest[unit] <= 'z') ++unit;
    std::string_view u = rest.substr(0, unit);
    if (u == "ns") total += std::chrono::nanoseconds(value);
    else if (u == "us") total += std::chrono::microseconds(value);
    else if (u == "ms") total += std::chrono::milliseconds(value);
    else if (u == "s" || (u.empty() && after == end && p == text.data())) total += std::chrono::seconds(value);
    else if (u == "m") total += std::chrono::minutes(value);
    else if (u == "h") total += std::chrono::hours(value);
    else bad();
    p = after + unit;
  }
  return total;
}

Config Config::table(std::string_view key) const {
  note(key, "table", "required");
  auto* n = static_cast<const toml::node*>(node(key));
  if (n == nullptr) fail(key, "missing (a table is required)");
  if (!n->is_table()) fail(key, fmt::format("expected a table, got {}", type_name(*n)));
  return Config(state_, n->as_table(), context_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

std::vector<Config> Config::tables(std::string_view key) const {
  note(key, "array of tables", "[]");
  auto* n = static_cast<const toml::node*>(node(key));
  std::vector<Config> out;
  if (n == nullptr) return out;
  if (!n->is_array_of_tables()) fail(key, fmt::format("expected an array of tables ([[{}]]), got {}", key, type_name(*n)));
  const std::string path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  for (auto&& e : *n->as_array()) out.push_back(Config(state_, e.as_table(), context_, path));
  return out;
}

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  for (auto&& [k, v] : as_table(table_)) out.emplace_back(k.str());
  return out;
}

}  // namespace waygate
