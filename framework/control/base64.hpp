// Base64 (RFC 4648, with padding) for what travels in JSON: etcd's keys and values through its
// gateway, a capture's packets through the admin API. libsodium does the work.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace waygate {

std::string to_base64(std::string_view bytes);
// nullopt for text that is not base64.
std::optional<std::string> from_base64(std::string_view text);

}  // namespace waygate
