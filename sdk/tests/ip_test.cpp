// The IP header's fields without a parse: each only with the whole fixed header there.
#include "waygate/net/ip.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "waygate/net/prefix.hpp"

namespace {

namespace ip = waygate::net::ip;
using waygate::net::parse_address;

std::vector<std::uint8_t> v4() {
  std::vector<std::uint8_t> b(28, 0);
  b[0] = 0x45, b[3] = 28, b[9] = 17;
  b[12] = 10, b[13] = 64, b[14] = 0, b[15] = 2;
  b[16] = 8, b[17] = 8, b[18] = 4, b[19] = 4;
  return b;
}

std::vector<std::uint8_t> v6() {
  std::vector<std::uint8_t> b(48, 0);
  b[0] = 0x60, b[5] = 8, b[6] = 58;
  auto s = *parse_address("fd64::2"), d = *parse_address("2001:4860::8888");
  std::copy(s.bytes().begin(), s.bytes().end(), b.begin() + 8);
  std::copy(d.bytes().begin(), d.bytes().end(), b.begin() + 24);
  return b;
}

TEST(IpHeader, FieldsOfBothFamilies) {
  auto a = v4(), b = v6();
  EXPECT_EQ(ip::version(a), 4u);
  EXPECT_EQ(ip::source(a), *parse_address("10.64.0.2"));
  EXPECT_EQ(ip::destination(a), *parse_address("8.8.4.4"));
  EXPECT_EQ(ip::claimed_length(a), 28u);
  EXPECT_EQ(ip::protocol(a), 17u);
  EXPECT_EQ(ip::version(b), 6u);
  EXPECT_EQ(ip::source(b), *parse_address("fd64::2"));
  EXPECT_EQ(ip::destination(b), *parse_address("2001:4860::8888"));
  EXPECT_EQ(ip::destination_bytes(b).size(), 16u);
  EXPECT_EQ(ip::claimed_length(b), 48u);
  EXPECT_EQ(ip::protocol(b), 58u);
}

TEST(IpHeader, NothingWithoutTheWholeHeader) {
  auto a = v4(), b = v6();
  for (auto* bytes : {&a, &b}) {
    std::span<const std::uint8_t> all(*bytes);
    auto cut = all.first(ip::version(all) == 4 ? 19 : 39);
    EXPECT_EQ(ip::version(cut), 0u);
    EXPECT_TRUE(ip::source_bytes(cut).empty());
    EXPECT_EQ(ip::destination(cut).family(), waygate::net::Family::none);
    EXPECT_EQ(ip::claimed_length(cut), 0u);
  }
  a[0] = 0x55;  // version 5
  EXPECT_EQ(ip::version(a), 0u);
  EXPECT_EQ(ip::version({}), 0u);
}

}  // namespace
