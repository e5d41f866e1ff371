#include "waygate/net/prefix_map.hpp"

#include <gtest/gtest.h>

#include <random>

#include "waygate/net/special_purpose.hpp"

namespace waygate::net {
namespace {

Prefix pfx(const char* text) { return *Prefix::parse(text); }
Address ip(const char* text) { return *parse_address(text); }

int value_at(const PrefixMap<int>& m, const char* address) {
  const auto* e = m.find(ip(address));
  return e == nullptr ? -1 : e->value;
}

TEST(PrefixMap, TheMostSpecificPrefixDecidesAndTheLaterOfTwoEqualOnes) {
  PrefixMap<int> m({{pfx("0.0.0.0/0"), 0},
                    {pfx("10.0.0.0/8"), 1},
                    {pfx("10.1.0.0/16"), 2},
                    {pfx("10.1.2.3/32"), 3},
                    {pfx("10.0.0.0/8"), 4},  // the same prefix again: this one decides
                    {pfx("2000::/3"), 5},
                    {pfx("2001:db8::/32"), 6}});
  EXPECT_EQ(value_at(m, "8.8.8.8"), 0);
  EXPECT_EQ(value_at(m, "10.9.9.9"), 4);
  EXPECT_EQ(value_at(m, "10.1.9.9"), 2);
  EXPECT_EQ(value_at(m, "10.1.2.3"), 3);
  EXPECT_EQ(value_at(m, "10.1.2.4"), 2);
  EXPECT_EQ(value_at(m, "11.0.0.0"), 0);
  EXPECT_EQ(value_at(m, "255.255.255.255"), 0);
  EXPECT_EQ(value_at(m, "2001:db8::1"), 6);
  EXPECT_EQ(value_at(m, "2a00::1"), 5);
  EXPECT_EQ(value_at(m, "fe80::1"), -1);  // no prefix holds it
  EXPECT_EQ(value_at(m, "::"), -1);
  EXPECT_EQ(m.find(Address{}), nullptr);
  // The packet path's entry points read the same table.
  const std::uint8_t raw[4] = {10, 1, 2, 3};
  EXPECT_EQ(m.find4(raw)->value, 3);
}

TEST(PrefixMap, EmptyAndWholeSpaceTables) {
  EXPECT_EQ(PrefixMap<int>().find(ip("1.2.3.4")), nullptr);
  PrefixMap<int> all({{pfx("::/0"), 7}, {pfx("0.0.0.0/0"), 8}});
  EXPECT_EQ(value_at(all, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 7);
  EXPECT_EQ(value_at(all, "::"), 7);
  EXPECT_EQ(value_at(all, "0.0.0.0"), 8);
  EXPECT_EQ(all.ranges(), 2u);
  EXPECT_EQ(PrefixMap<int>().ranges(), 2u);  // each family one undecided range
  PrefixMap<int> edge({{pfx("255.255.255.255/32"), 1}, {pfx("0.0.0.0/32"), 2}});
  EXPECT_EQ(value_at(edge, "255.255.255.255"), 1);
  EXPECT_EQ(value_at(edge, "255.255.255.254"), -1);
  EXPECT_EQ(value_at(edge, "0.0.0.0"), 2);
  EXPECT_EQ(value_at(edge, "0.0.0.1"), -1);
}

// Against the definition, a walk of every entry, over random tables and addresses: prefixes drawn
// near each other so that they nest and overlap.
TEST(PrefixMap, AgreesWithAWalkOfEveryEntry) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const bool v6 = round % 2 == 1;
    const unsigned width = v6 ? 128 : 32;
    auto random_address = [&] {
      std::array<std::uint8_t, 16> b{};
      b[0] = static_cast<std::uint8_t>(rng() % 4);  // a small corner of the space
      for (std::size_t i = 1; i < 16; ++i) b[i] = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : 0);
      return v6 ? Address::v6(b) : Address::v4(std::span<const std::uint8_t, 4>(b.data(), 4));
    };
    std::vector<PrefixMap<int>::Entry> entries;
    for (int i = 0; i < 1 + static_cast<int>(rng() % 40); ++i)
      entries.push_back({Prefix::of(random_address(), static_cast<std::uint8_t>(rng() % (width + 1))), i});
    PrefixMap<int> m(entries);
    for (int probe = 0; probe < 300; ++probe) {
      Address a = random_address();
      const PrefixMap<int>::Entry* best = nullptr;
      for (auto& e : entries)
        if (e.prefix.contains(a) && (best == nullptr || e.prefix.bits >= best->prefix.bits)) best = &e;
      const auto* got = m.find(a);
      ASSERT_EQ(got == nullptr ? -1 : got->value, best == nullptr ? -1 : best->value)
          << "round " << round << ", " << a.to_string();
    }
  }
}

TEST(SpecialPurpose, TheInternetIsWhatTheRegistriesCallGlobal) {
  for (const char* global : {"8.8.8.8", "1.1.1.1", "192.0.0.9", "192.0.0.10", "192.31.196.1", "100.63.255.255",
                             "100.128.0.0", "2001:4860:4860::8888", "2a00:1450::1", "2001:1::1", "2001:1::3",
                             "2001:3::1", "2001:20::1", "2620:4f:8000::1"})
    EXPECT_TRUE(is_global(ip(global))) << global;
  for (const char* local :
       {"169.254.169.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "127.0.0.1",
        "0.0.0.0", "0.1.2.3", "192.0.0.8", "192.0.0.170", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9",
        "224.0.0.251", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.88.99.1",
        "::1", "::", "::ffff:8.8.8.8", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "100::1", "100:0:0:1::1",
        "2001::1", "2001:2::1", "2001:10::1", "2001:db8::1", "2002:808:808::1", "3fff::1", "5f00::1",
        "fc00::1", "fd00:ec2::254", "fe80::1", "ff02::1", "fec0::1", "4000::1"})
    EXPECT_FALSE(is_global(ip(local))) << local;
}

TEST(SpecialPurpose, SaysWhyADestinationIsNotReached) {
  PrefixMap<Reachability> internet(internet_entries());
  EXPECT_EQ(internet.find(ip("169.254.169.254"))->value.why,
            "169.254.0.0/16 is Link Local (RFC 3927), not globally reachable");
  EXPECT_EQ(internet.find(ip("64:ff9b::a9fe:a9fe"))->value.why,
            "64:ff9b::/96 is IPv4-IPv6 Translation (RFC 6052), outside IPv6's global unicast space 2000::/3");
  EXPECT_EQ(internet.find(ip("9.9.9.9"))->value.why, "the IPv4 internet");
  // Every row parses: a typo in the table would be a null prefix here.
  for (const SpecialPurpose& s : kSpecialPurpose) EXPECT_TRUE(Prefix::parse(s.prefix)) << s.prefix;
}

}  // namespace
}  // namespace waygate::net
