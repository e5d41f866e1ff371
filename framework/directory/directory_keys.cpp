#include "directory_keys.hpp"

#include <sstream>

#include <toml++/toml.h>

#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace waygate {

namespace {

std::string text_of(const toml::table& t) {
  std::ostringstream out;
  out << toml::toml_formatter{t};
  return out.str() + "\n";
}

DirectoryKeys keys_of(const toml::table& root);

}  // namespace

DirectoryKeys directory_keys(const std::string& file) {
  Directory::load(Config::parse_file(file));  // every check a connector makes, or a ConfigError
  return keys_of(toml::parse_file(file));
}

DirectoryKeys directory_keys(std::string_view text, const std::string& origin) {
  Directory::load(Config::parse(text, origin));
  return keys_of(toml::parse(text, origin));
}

namespace {

DirectoryKeys keys_of(const toml::table& root) {
  DirectoryKeys keys;
  if (const toml::table* overlay = root["overlay"].as_table()) keys["overlay"] = text_of(*overlay);
  for (const char* kind : {"identity", "socket", "policy"}) {
    const toml::array* objects = root[kind].as_array();
    if (objects == nullptr) continue;
    for (const toml::node& object : *objects) {
      const toml::table& t = *object.as_table();  // Directory::load took them as tables with names
      keys[std::string(kind) + "/" + t["name"].value_or(std::string())] = text_of(t);
    }
  }
  return keys;
}

}  // namespace

std::string directory_toml(const DirectoryKeys& keys) {
  std::string out;
  for (auto& [key, text] : keys) {
    if (key == kPushedKey) continue;
    const std::string kind = key.substr(0, key.find('/'));
    out += kind == "overlay" ? "[overlay]\n" : "[[" + kind + "]]\n";
    out += text + "\n";
  }
  return out;
}

}  // namespace waygate
