// Creating a socket from the admin API (POST /v1/sockets): the new [[socket]] table is appended to
// the config file as text, so the operator's comments and layout stay exactly as they were, and
// the file is replaced atomically. The host checks the new text loads before anything is written.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "waygate/api.hpp"

namespace waygate {

struct NewSocket {
  std::string name;
  std::string description;
  std::string connector;
  std::vector<std::string> allow, deny;  // prefixes as given: the directory's loader checks them
};

// From the request's JSON body {"name", "description", "connector", "allow", "deny"}: an exit
// node. Throws std::invalid_argument saying what is wrong (not JSON, no name, a name with
// characters a metric label or a URL would have to escape, a prefix list that is not strings).
NewSocket parse_new_socket(std::string_view json);

// `text` with the socket's table appended, its strings written as TOML basic strings.
std::string with_socket(std::string_view text, const NewSocket& socket);

// The answers of POST /v1/sockets: 201 with the socket created, or an error {"error": why}.
Response created(const NewSocket& socket);
Response socket_error(unsigned status, const std::string& why);

// The whole of POST /v1/sockets for the config file at `path`: `check` gets the new text and
// throws if it does not load (answered 400, nothing written), or returns what applies it ("" when
// applied, else why not) once the file is written, atomically and with its mode kept
// (write_file_atomically). Answers 201 with the socket, or the error.
Response create_socket(const std::string& path, std::string_view body,
                       const std::function<std::function<std::string()>(const std::string& text)>& check);

}  // namespace waygate
