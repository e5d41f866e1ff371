#include "geoip.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

#include <maxminddb.h>

namespace waygate::policy {

struct GeoIp::Db {
  MMDB_s mmdb{};
  bool open = false;
  ~Db() {
    if (open) MMDB_close(&mmdb);
  }
};

GeoIp::GeoIp(const std::string& path) : db_(std::make_unique<Db>()) {
  int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_->mmdb);
  if (rc != MMDB_SUCCESS)
    throw std::runtime_error("cannot read GeoIP database " + path + ": " + MMDB_strerror(rc));
  db_->open = true;
}

GeoIp::~GeoIp() = default;
GeoIp::GeoIp(GeoIp&&) noexcept = default;
GeoIp& GeoIp::operator=(GeoIp&&) noexcept = default;

std::string GeoIp::country(const net::Address& a) const {
  sockaddr_storage ss{};
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, a.bytes().data(), 4);
  } else if (a.is_v6()) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, a.bytes().data(), 16);
  } else {
    return "";
  }
  int error = 0;
  MMDB_lookup_result_s found = MMDB_lookup_sockaddr(&db_->mmdb, reinterpret_cast<sockaddr*>(&ss), &error);
  if (error != MMDB_SUCCESS || !found.found_entry) return "";
  MMDB_entry_data_s data{};
  if (MMDB_get_value(&found.entry, &data, "country", "iso_code", nullptr) != MMDB_SUCCESS ||
      !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING)
    return "";
  return std::string(data.utf8_string, data.data_size);
}

}  // namespace waygate::policy
