// Country of an address from a MaxMind DB file (GeoLite2/GeoIP2 Country or City, DB-IP, ...),
// read with libmaxminddb. The file is mapped once at configure time; a lookup walks the mapped
// tree, and the stage only looks up when an identity's endpoint changes.
#pragma once

#include <memory>
#include <string>

#include "waygate/net/headers.hpp"

namespace waygate::policy {

class GeoIp {
 public:
  explicit GeoIp(const std::string& path);  // throws std::runtime_error naming the file
  ~GeoIp();
  GeoIp(GeoIp&&) noexcept;
  GeoIp& operator=(GeoIp&&) noexcept;
  // ISO 3166-1 alpha-2 ("DE"), or "" when the database does not know the address.
  std::string country(const net::Address& a) const;

 private:
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace waygate::policy
