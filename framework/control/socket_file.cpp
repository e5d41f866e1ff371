#include "socket_file.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "waygate/files.hpp"

namespace waygate {

namespace {

std::string field(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "";
  if (!v->is_string()) throw std::invalid_argument("'" + std::string(key) + "' must be a string");
  return std::string(v->as_string());
}

// An array of at most 64 strings of at most 64 characters each (prefixes), or nothing.
std::vector<std::string> strings(const boost::json::object& o, std::string_view key) {
  std::vector<std::string> out;
  auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array() || v->as_array().size() > 64)
    throw std::invalid_argument("'" + std::string(key) + "' must be an array of at most 64 prefixes");
  for (auto& item : v->as_array()) {
    if (!item.is_string() || item.as_string().size() > 64)
      throw std::invalid_argument("'" + std::string(key) + "' must hold prefixes such as \"10.0.0.0/8\"");
    out.emplace_back(item.as_string());
  }
  return out;
}

// A basic string, every quote and control character escaped: toml++'s default formatting may
// choose a multi-line literal string, which a text holding three single quotes ends early.
std::string toml_string(const std::string& s) {
  std::ostringstream out;
  out << toml::toml_formatter{toml::value<std::string>(s), toml::format_flags::allow_unicode_strings};
  return out.str();
}

}  // namespace

NewSocket parse_new_socket(std::string_view json) {
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec || !value.is_object()) throw std::invalid_argument("the body must be a JSON object");
  const auto& o = value.as_object();
  NewSocket s{field(o, "name"), field(o, "description"), field(o, "connector"), strings(o, "allow"),
              strings(o, "deny")};
  if (s.name.empty() || s.name.size() > 64) throw std::invalid_argument("'name' must have 1 to 64 characters");
  for (char c : s.name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      throw std::invalid_argument("'name' may hold only a-z 0-9 - _ .");
  if (s.description.size() > 512 || s.connector.size() > 64)
    throw std::invalid_argument("'description' (512) or 'connector' (64) is too long");
  return s;
}

std::string with_socket(std::string_view text, const NewSocket& s) {
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += "\n[[socket]]\nname = " + toml_string(s.name) + "\ntype = \"exit_node\"\n";
  if (!s.description.empty()) out += "description = " + toml_string(s.description) + "\n";
  if (!s.connector.empty()) out += "connector = " + toml_string(s.connector) + "\n";
  for (auto [key, prefixes] : {std::pair{"allow", &s.allow}, {"deny", &s.deny}}) {
    if (prefixes->empty()) continue;
    out += std::string(key) + " = [";
    for (std::size_t i = 0; i < prefixes->size(); ++i) out += (i ? ", " : "") + toml_string((*prefixes)[i]);
    out += "]\n";
  }
  return out;
}

Response socket_error(unsigned status, const std::string& why) {
  return {status, "application/json", boost::json::serialize(boost::json::object{{"error", why}}) + "\n"};
}

Response created(const NewSocket& socket) {
  boost::json::array allow(socket.allow.begin(), socket.allow.end()), deny(socket.deny.begin(), socket.deny.end());
  boost::json::object out{{"name", socket.name}, {"type", "exit_node"}, {"description", socket.description},
                          {"connector", socket.connector}, {"allow", allow}, {"deny", deny}};
  return {201, "application/json", boost::json::serialize(out) + "\n"};
}

namespace {
Response error(unsigned status, const std::string& why) { return socket_error(status, why); }
}  // namespace

Response create_socket(const std::string& path, std::string_view body,
                       const std::function<std::function<std::string()>(const std::string& text)>& check) {
  NewSocket socket;
  try {
    socket = parse_new_socket(body);
  } catch (const std::exception& e) {
    return error(400, e.what());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(500, "cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string next = with_socket(text, socket);
  std::function<std::string()> apply;
  try {
    apply = check(next);
  } catch (const std::exception& e) {
    return error(400, e.what());
  }
  try {
    struct stat old{};
    write_file_atomically(path, next, ::stat(path.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0640);
  } catch (const std::exception& e) {
    return error(500, e.what());
  }
  if (std::string why = apply(); !why.empty()) {
    spdlog::error("new socket '{}' written to {} but not applied: {}", socket.name, path, why);
    return error(500, "written, but not applied: " + why);
  }
  spdlog::info("new socket '{}' written to {} and applied", socket.name, path);
  return created(socket);
}

}  // namespace waygate
