#include "allowed_ips.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace waygate::wg {
namespace {

Prefix P(const std::string& text) {
  Prefix p;
  if (!Prefix::parse(text, p)) ADD_FAILURE() << "cannot parse " << text;
  return p;
}

// The 4 or 16 bytes of an address in text.
std::vector<std::uint8_t> A(const std::string& text) {
  std::vector<std::uint8_t> bytes(16);
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    bytes.resize(4);
    return bytes;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) ADD_FAILURE() << "bad address " << text;
  return bytes;
}

std::uint32_t find(const AllowedIps& table, const std::string& address) { return table.lookup(A(address)); }

std::vector<std::string> texts(const std::vector<Prefix>& prefixes) {
  std::vector<std::string> out;
  for (const auto& p : prefixes) out.push_back(p.to_string());
  return out;
}

// ---- Prefix ----

TEST(PrefixParse, Ipv4AndIpv6) {
  Prefix p;
  ASSERT_TRUE(Prefix::parse("10.0.0.0/8", p));
  EXPECT_FALSE(p.v6);
  EXPECT_EQ(p.bits, 8);
  EXPECT_EQ(p.address[0], 10);
  EXPECT_EQ(p.to_string(), "10.0.0.0/8");
  ASSERT_TRUE(Prefix::parse("fd00::/64", p));
  EXPECT_TRUE(p.v6);
  EXPECT_EQ(p.bits, 64);
  EXPECT_EQ(p.address[0], 0xfd);
  EXPECT_EQ(p.to_string(), "fd00::/64");
}

TEST(PrefixParse, BareAddressesAreHostRoutes) {
  EXPECT_EQ(P("192.168.1.7").to_string(), "192.168.1.7/32");
  EXPECT_EQ(P("192.168.1.7").bits, 32);
  EXPECT_EQ(P("2001:db8::1").to_string(), "2001:db8::1/128");
  EXPECT_EQ(P("2001:db8::1").bits, 128);
}

TEST(PrefixParse, HostBitsAreCleared) {
  EXPECT_EQ(P("10.1.2.3/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(P("10.1.2.3/8"), P("10.0.0.0/8"));
  EXPECT_EQ(P("255.255.255.255/13").to_string(), "255.248.0.0/13");
  EXPECT_EQ(P("1.2.3.4/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(P("fd00:1:2:3:4:5:6:7/64").to_string(), "fd00:1:2:3::/64");
  EXPECT_EQ(P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/65").to_string(), "ffff:ffff:ffff:ffff:8000::/65");
  EXPECT_EQ(P("ffff::1/0").to_string(), "::/0");
  EXPECT_EQ(P("10.1.2.3/32").to_string(), "10.1.2.3/32");
}

TEST(PrefixParse, DefaultRoutes) {
  EXPECT_EQ(P("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(P("0.0.0.0/0").bits, 0);
  EXPECT_EQ(P("::/0").to_string(), "::/0");
  EXPECT_TRUE(P("::/0").v6);
}

TEST(PrefixParse, RoundTripsToCanonicalText) {
  for (const char* text : {"10.0.0.0/8", "0.0.0.0/0", "192.0.2.1/32", "100.64.0.0/10", "::/0", "fd00::/8",
                           "2001:db8::/32", "fe80::1:2/127", "::ffff:10.0.0.0/104", "2001:db8:1:2:3:4:5:6/128"}) {
    Prefix p = P(text);
    EXPECT_EQ(p.to_string(), text);
    EXPECT_EQ(P(p.to_string()), p) << text;
  }
  EXPECT_EQ(P("FD00:0000:0::/16").to_string(), "fd00::/16");
  EXPECT_EQ(P("10.0.0.0/08").to_string(), "10.0.0.0/8");
}

TEST(PrefixParse, Rejections) {
  for (const std::string text :
       {"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/100", "::/129", "::/1000", "10.0.0.0/-1",
        "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/8/8", "10.0.0/8", "10.0.0.256",
        "10.0.0.0.0", "0x0a.0.0.0", "hello", "hello/8", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0 /8",
        "fe80::1%eth0", "fe80::1%eth0/64", ":::/0", "1:2:3:4:5:6:7:8:9/128", "gg::/16"}) {
    Prefix p = P("1.2.3.4");
    EXPECT_FALSE(Prefix::parse(text, p)) << '"' << text << '"';
    EXPECT_EQ(p, P("1.2.3.4")) << "changed on failure: " << text;
  }
  Prefix p;
  EXPECT_FALSE(Prefix::parse(std::string("10.0.0.0\0/8", 11), p));
  EXPECT_FALSE(Prefix::parse(std::string("10.0.0.0/8\0", 11), p));
}

// ---- AllowedIps ----

TEST(AllowedIps, EmptyTableHasNoPeer) {
  AllowedIps table;
  EXPECT_EQ(find(table, "10.0.0.1"), kNoPeer);
  EXPECT_EQ(find(table, "::1"), kNoPeer);
  EXPECT_TRUE(table.prefixes_of(1).empty());
}

TEST(AllowedIps, LongestPrefixWins) {
  AllowedIps table;
  table.insert(P("10.0.0.0/8"), 1);
  table.insert(P("10.1.0.0/16"), 2);
  table.insert(P("10.1.2.0/24"), 3);
  table.insert(P("10.1.2.3/32"), 4);
  table.insert(P("10.1.2.128/25"), 5);
  EXPECT_EQ(find(table, "10.9.9.9"), 1u);
  EXPECT_EQ(find(table, "10.1.9.9"), 2u);
  EXPECT_EQ(find(table, "10.1.2.4"), 3u);
  EXPECT_EQ(find(table, "10.1.2.3"), 4u);
  EXPECT_EQ(find(table, "10.1.2.200"), 5u);
  EXPECT_EQ(find(table, "11.0.0.0"), kNoPeer);
  EXPECT_EQ(find(table, "9.255.255.255"), kNoPeer);
}

TEST(AllowedIps, InsertionOrderDoesNotMatter) {
  std::vector<std::pair<std::string, std::uint32_t>> routes = {
      {"10.0.0.0/8", 1}, {"10.1.0.0/16", 2}, {"10.1.2.0/24", 3}, {"10.1.2.3/32", 4}, {"10.128.0.0/9", 5},
      {"0.0.0.0/0", 6}};
  std::sort(routes.begin(), routes.end());
  do {
    AllowedIps table;
    for (const auto& [text, peer] : routes) table.insert(P(text), peer);
    ASSERT_EQ(find(table, "10.1.2.3"), 4u);
    ASSERT_EQ(find(table, "10.1.2.4"), 3u);
    ASSERT_EQ(find(table, "10.1.3.4"), 2u);
    ASSERT_EQ(find(table, "10.2.3.4"), 1u);
    ASSERT_EQ(find(table, "10.200.3.4"), 5u);
    ASSERT_EQ(find(table, "8.8.8.8"), 6u);
  } while (std::next_permutation(routes.begin(), routes.end()));
}

TEST(AllowedIps, FamiliesAreSeparate) {
  AllowedIps table;
  table.insert(P("0.0.0.0/0"), 1);
  EXPECT_EQ(find(table, "1.2.3.4"), 1u);
  EXPECT_EQ(find(table, "::"), kNoPeer);
  EXPECT_EQ(find(table, "::ffff:1.2.3.4"), kNoPeer);
  table.insert(P("::/0"), 2);
  EXPECT_EQ(find(table, "::ffff:1.2.3.4"), 2u);
  EXPECT_EQ(find(table, "1.2.3.4"), 1u);
  // The same leading bytes in both families do not mix.
  table.insert(P("10.0.0.0/8"), 3);
  table.insert(P("a00::/8"), 4);
  EXPECT_EQ(find(table, "10.0.0.1"), 3u);
  EXPECT_EQ(find(table, "a00::1"), 4u);
  EXPECT_EQ(find(table, "b00::1"), 2u);
}

TEST(AllowedIps, ExitNodeDefaultRoutes) {
  // An exit node's client: everything goes to the server peer but the other clients' addresses.
  AllowedIps table;
  table.insert(P("0.0.0.0/0"), 1);
  table.insert(P("::/0"), 1);
  table.insert(P("10.8.0.2/32"), 2);
  table.insert(P("fd00:8::2/128"), 2);
  EXPECT_EQ(find(table, "8.8.8.8"), 1u);
  EXPECT_EQ(find(table, "0.0.0.0"), 1u);
  EXPECT_EQ(find(table, "255.255.255.255"), 1u);
  EXPECT_EQ(find(table, "10.8.0.2"), 2u);
  EXPECT_EQ(find(table, "10.8.0.3"), 1u);
  EXPECT_EQ(find(table, "2001:4860:4860::8888"), 1u);
  EXPECT_EQ(find(table, "fd00:8::2"), 2u);
  EXPECT_EQ(find(table, "fd00:8::3"), 1u);
  EXPECT_EQ(find(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1u);
  EXPECT_EQ(texts(table.prefixes_of(1)), (std::vector<std::string>{"0.0.0.0/0", "::/0"}));
}

TEST(AllowedIps, HostRoutes) {
  AllowedIps table;
  table.insert(P("192.0.2.1"), 7);
  table.insert(P("2001:db8::1"), 8);
  table.insert(P("255.255.255.255/32"), 9);
  table.insert(P("0.0.0.0/32"), 10);
  EXPECT_EQ(find(table, "192.0.2.1"), 7u);
  EXPECT_EQ(find(table, "192.0.2.0"), kNoPeer);
  EXPECT_EQ(find(table, "192.0.2.2"), kNoPeer);
  EXPECT_EQ(find(table, "2001:db8::1"), 8u);
  EXPECT_EQ(find(table, "2001:db8::"), kNoPeer);
  EXPECT_EQ(find(table, "2001:db8::1:1"), kNoPeer);
  EXPECT_EQ(find(table, "255.255.255.255"), 9u);
  EXPECT_EQ(find(table, "255.255.255.254"), kNoPeer);
  EXPECT_EQ(find(table, "0.0.0.0"), 10u);
  EXPECT_EQ(find(table, "0.0.0.1"), kNoPeer);
}

TEST(AllowedIps, InsertReplacesTheOwnerOfTheSamePrefix) {
  AllowedIps table;
  table.insert(P("10.0.0.0/24"), 1);
  table.insert(P("10.0.0.0/16"), 1);
  table.insert(P("10.0.0.0/24"), 2);
  EXPECT_EQ(find(table, "10.0.0.1"), 2u);
  EXPECT_EQ(find(table, "10.0.1.1"), 1u);
  EXPECT_EQ(texts(table.prefixes_of(1)), (std::vector<std::string>{"10.0.0.0/16"}));
  EXPECT_EQ(texts(table.prefixes_of(2)), (std::vector<std::string>{"10.0.0.0/24"}));
  // Inserting it again for the same peer changes nothing.
  table.insert(P("10.0.0.0/24"), 2);
  EXPECT_EQ(texts(table.prefixes_of(2)), (std::vector<std::string>{"10.0.0.0/24"}));
  // The old owner's removal leaves the new owner's prefix alone.
  table.remove_peer(1);
  EXPECT_EQ(find(table, "10.0.0.1"), 2u);
  EXPECT_EQ(find(table, "10.0.1.1"), kNoPeer);
}

TEST(AllowedIps, InsertClearsHostBitsOfAHandMadePrefix) {
  AllowedIps table;
  Prefix p = P("10.1.2.3");
  p.bits = 16;  // host bits left set
  table.insert(p, 3);
  EXPECT_EQ(find(table, "10.1.200.200"), 3u);
  EXPECT_EQ(texts(table.prefixes_of(3)), (std::vector<std::string>{"10.1.0.0/16"}));
  table.insert(P("10.1.0.0/16"), 4);  // the same prefix
  EXPECT_TRUE(table.prefixes_of(3).empty());
}

TEST(AllowedIps, InsertRefusesImpossiblePrefixesAndNoPeer) {
  AllowedIps table;
  Prefix p = P("10.0.0.0/8");
  p.bits = 33;
  EXPECT_THROW(table.insert(p, 1), std::invalid_argument);
  p = P("::/0");
  p.bits = 129;
  EXPECT_THROW(table.insert(p, 1), std::invalid_argument);
  EXPECT_THROW(table.insert(P("10.0.0.0/8"), kNoPeer), std::invalid_argument);
  EXPECT_EQ(find(table, "10.0.0.0"), kNoPeer);
}

TEST(AllowedIps, RemovePeer) {
  AllowedIps table;
  table.insert(P("10.0.0.0/8"), 1);
  table.insert(P("10.1.0.0/16"), 2);
  table.insert(P("10.1.2.0/24"), 1);
  table.insert(P("10.1.3.0/24"), 3);
  table.insert(P("fd00::/8"), 2);
  table.insert(P("fd00:1::/32"), 1);
  table.remove_peer(2);
  EXPECT_EQ(find(table, "10.1.9.9"), 1u);  // falls back to the /8
  EXPECT_EQ(find(table, "10.1.2.9"), 1u);
  EXPECT_EQ(find(table, "10.1.3.9"), 3u);
  EXPECT_EQ(find(table, "fd00::1"), kNoPeer);
  EXPECT_EQ(find(table, "fd00:1::1"), 1u);
  EXPECT_TRUE(table.prefixes_of(2).empty());
  table.remove_peer(2);   // again: nothing
  table.remove_peer(42);  // never there: nothing
  table.remove_peer(1);
  EXPECT_EQ(find(table, "10.9.9.9"), kNoPeer);
  EXPECT_EQ(find(table, "10.1.3.9"), 3u);
  EXPECT_EQ(find(table, "fd00:1::1"), kNoPeer);
  EXPECT_EQ(texts(table.prefixes_of(3)), (std::vector<std::string>{"10.1.3.0/24"}));
  table.remove_peer(3);
  EXPECT_EQ(find(table, "10.1.3.9"), kNoPeer);
  // And the table works as new afterwards.
  table.insert(P("10.1.0.0/16"), 2);
  EXPECT_EQ(find(table, "10.1.3.9"), 2u);
}

TEST(AllowedIps, RemovePeerDoesNotLeakNodes) {
  // Insert and remove the same population many times: the tables must not keep growing.
  AllowedIps table;
  std::mt19937 random(7);
  std::vector<Prefix> prefixes;
  for (int i = 0; i < 2000; ++i) {
    Prefix p;
    p.v6 = i % 2 == 1;
    for (int b = 0; b < (p.v6 ? 16 : 4); ++b) p.address[b] = static_cast<std::uint8_t>(random());
    p.bits = static_cast<std::uint8_t>(p.v6 ? 48 + random() % 81 : 8 + random() % 25);
    prefixes.push_back(p);
  }
  std::size_t after_first_round = 0;
  for (int round = 0; round < 10; ++round) {
    for (std::size_t i = 0; i < prefixes.size(); ++i) table.insert(prefixes[i], static_cast<std::uint32_t>(i % 300));
    if (round == 0) after_first_round = table.memory_bytes();
    EXPECT_LE(table.memory_bytes(), after_first_round * 2) << "round " << round;
    // Remove in an order unrelated to insertion.
    for (std::uint32_t peer = 0; peer < 300; ++peer) table.remove_peer((peer * 7) % 300);
    for (const Prefix& p : prefixes) {
      ASSERT_EQ(table.lookup(std::span(p.address.data(), p.v6 ? 16 : 4)), kNoPeer);
    }
  }
}

TEST(AllowedIps, PrefixesOfListsBothFamiliesInOrder) {
  AllowedIps table;
  table.insert(P("fd00::/64"), 1);
  table.insert(P("10.0.0.0/24"), 1);
  table.insert(P("10.0.0.0/8"), 1);
  table.insert(P("192.168.0.0/16"), 2);
  table.insert(P("::/0"), 1);
  EXPECT_EQ(texts(table.prefixes_of(1)),
            (std::vector<std::string>{"10.0.0.0/8", "10.0.0.0/24", "::/0", "fd00::/64"}));
  EXPECT_EQ(texts(table.prefixes_of(2)), (std::vector<std::string>{"192.168.0.0/16"}));
  EXPECT_TRUE(table.prefixes_of(3).empty());
}

TEST(AllowedIps, LookupOfOtherSizesHasNoPeer) {
  AllowedIps table;
  table.insert(P("0.0.0.0/0"), 1);
  table.insert(P("::/0"), 2);
  const std::uint8_t bytes[17] = {};
  for (std::size_t size : {0, 1, 3, 5, 8, 15, 17}) EXPECT_EQ(table.lookup(std::span(bytes, size)), kNoPeer) << size;
  EXPECT_EQ(table.lookup(std::span(bytes, 4)), 1u);
  EXPECT_EQ(table.lookup(std::span(bytes, 16)), 2u);
}

TEST(AllowedIps, ClearAndMove) {
  AllowedIps table;
  table.insert(P("10.0.0.0/8"), 1);
  table.insert(P("fd00::/8"), 1);
  AllowedIps moved(std::move(table));
  EXPECT_EQ(find(moved, "10.0.0.1"), 1u);
  EXPECT_EQ(find(moved, "fd00::1"), 1u);
  // The moved-from table is empty and still usable.
  EXPECT_EQ(find(table, "10.0.0.1"), kNoPeer);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(table.prefixes_of(1).empty());
  table.remove_peer(1);
  table.clear();
  table.insert(P("10.0.0.0/8"), 2);
  EXPECT_EQ(find(table, "10.0.0.1"), 2u);
  table = std::move(moved);
  EXPECT_EQ(find(table, "10.0.0.1"), 1u);
  table.clear();
  EXPECT_EQ(find(table, "10.0.0.1"), kNoPeer);
  EXPECT_EQ(find(table, "fd00::1"), kNoPeer);
  EXPECT_TRUE(table.prefixes_of(1).empty());
  table.insert(P("10.0.0.0/8"), 3);
  EXPECT_EQ(find(table, "10.0.0.1"), 3u);
}

// ---- against a brute-force reference ----

bool covers(const Prefix& p, const std::array<std::uint8_t, 16>& address) {
  for (unsigned i = 0; i < p.bits; ++i) {
    const unsigned mask = 0x80u >> (i % 8);
    if ((p.address[i / 8] & mask) != (address[i / 8] & mask)) return false;
  }
  return true;
}

class Reference {
 public:
  void insert(const Prefix& p, std::uint32_t peer) { routes_[key(p)] = {p, peer}; }
  void remove_peer(std::uint32_t peer) {
    std::erase_if(routes_, [&](const auto& entry) { return entry.second.second == peer; });
  }
  std::uint32_t lookup(bool v6, const std::array<std::uint8_t, 16>& address) const {
    int best_bits = -1;
    std::uint32_t best = kNoPeer;
    for (const auto& [k, route] : routes_) {
      const auto& [p, peer] = route;
      if (p.v6 == v6 && p.bits > best_bits && covers(p, address)) {
        best_bits = p.bits;
        best = peer;
      }
    }
    return best;
  }
  std::vector<std::string> prefixes_of(std::uint32_t peer) const {
    std::vector<std::string> out;
    for (const auto& [k, route] : routes_)
      if (route.second == peer) out.push_back(route.first.to_string());
    return out;
  }

 private:
  using Key = std::tuple<bool, std::array<std::uint8_t, 16>, std::uint8_t>;
  static Key key(const Prefix& p) { return {p.v6, p.address, p.bits}; }
  std::map<Key, std::pair<Prefix, std::uint32_t>> routes_;  // in prefixes_of's order
};

Prefix clear_host_bits(Prefix p) {
  for (unsigned i = p.bits; i < 128; ++i) p.address[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  return p;
}

TEST(AllowedIps, RandomizedAgainstBruteForce) {
  std::mt19937_64 random(0xa110ed1);
  AllowedIps table;
  Reference reference;
  constexpr std::uint32_t kPeers = 200;

  // Prefixes grow from a few seeds so that many nest and share long runs of bits.
  std::vector<Prefix> seeds;
  for (int i = 0; i < 16; ++i) {
    Prefix p;
    p.v6 = i % 2 == 1;
    for (int b = 0; b < (p.v6 ? 16 : 4); ++b) p.address[b] = static_cast<std::uint8_t>(random());
    seeds.push_back(p);
  }
  auto random_prefix = [&] {
    Prefix p = seeds[random() % seeds.size()];
    const unsigned width = p.v6 ? 128 : 32;
    // Flip a few bits, mostly far down, then pick a length (all lengths, /0 and host routes too).
    for (int flips = static_cast<int>(random() % 4); flips > 0; --flips) {
      const unsigned bit = width - 1 - static_cast<unsigned>(random() % (random() % 2 ? width : width / 4));
      p.address[bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    }
    p.bits = static_cast<std::uint8_t>(random() % 8 == 0 ? (random() % 2 ? 0 : width) : random() % (width + 1));
    return clear_host_bits(p);
  };
  auto random_address = [&](bool& v6) {
    std::array<std::uint8_t, 16> address{};
    if (random() % 4 == 0) {  // anywhere
      v6 = random() % 2 == 1;
      for (int b = 0; b < (v6 ? 16 : 4); ++b) address[b] = static_cast<std::uint8_t>(random());
    } else {  // near a seed
      Prefix p = seeds[random() % seeds.size()];
      v6 = p.v6;
      address = p.address;
      const unsigned width = v6 ? 128 : 32;
      for (int flips = static_cast<int>(random() % 4); flips > 0; --flips) {
        const unsigned bit = static_cast<unsigned>(random() % width);
        address[bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
      }
    }
    return address;
  };
  auto compare_lookups = [&](int count, int round) {
    for (int i = 0; i < count; ++i) {
      bool v6 = false;
      const auto address = random_address(v6);
      ASSERT_EQ(table.lookup(std::span(address.data(), v6 ? 16 : 4)), reference.lookup(v6, address))
          << "round " << round << " lookup " << i;
    }
  };

  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 1500; ++i) {
      const Prefix p = random_prefix();
      const auto peer = static_cast<std::uint32_t>(random() % kPeers);
      table.insert(p, peer);
      reference.insert(p, peer);
    }
    compare_lookups(3000, round);
    for (int i = 0; i < 40; ++i) {
      const auto peer = static_cast<std::uint32_t>(random() % kPeers);
      table.remove_peer(peer);
      reference.remove_peer(peer);
    }
    compare_lookups(3000, round);
    for (std::uint32_t peer = 0; peer < kPeers; ++peer)
      ASSERT_EQ(texts(table.prefixes_of(peer)), reference.prefixes_of(peer)) << "round " << round << " peer " << peer;
  }
  // Everything out, one peer at a time.
  for (std::uint32_t peer = 0; peer < kPeers; ++peer) {
    table.remove_peer(peer);
    reference.remove_peer(peer);
    if (peer % 50 == 0) compare_lookups(500, 100 + static_cast<int>(peer));
  }
  compare_lookups(1000, 1000);
}

TEST(AllowedIps, HostRouteChurnAgainstBruteForce) {
  // Host routes come and go in a small space, under a few shorter prefixes: the hash table grows,
  // shrinks and reuses entries, and the family gets rebuilt now and then.
  std::mt19937 random(99);
  AllowedIps table;
  Reference reference;
  for (const char* text : {"10.0.0.0/22", "10.0.2.0/23", "fd00::/120", "fd00::100/121"}) {
    table.insert(P(text), 1000);
    reference.insert(P(text), 1000);
  }
  auto host = [&](bool v6, unsigned n) {
    Prefix p = v6 ? P("fd00::") : P("10.0.0.0");
    p.bits = v6 ? 128 : 32;
    p.address[v6 ? 14 : 2] = static_cast<std::uint8_t>(n >> 8);
    p.address[v6 ? 15 : 3] = static_cast<std::uint8_t>(n);
    return p;
  };
  for (int step = 0; step < 10000; ++step) {
    const bool v6 = random() % 2 == 1;
    if (random() % 100 < 97) {
      const Prefix p = host(v6, random() % 1024);
      const std::uint32_t peer = random() % 50;
      table.insert(p, peer);
      reference.insert(p, peer);
    } else {
      const std::uint32_t peer = random() % 50;
      table.remove_peer(peer);
      reference.remove_peer(peer);
    }
    const Prefix probe = host(v6, random() % 1100);
    ASSERT_EQ(table.lookup(std::span(probe.address.data(), v6 ? 16 : 4)), reference.lookup(v6, probe.address))
        << "step " << step << " " << probe.to_string();
  }
  for (std::uint32_t peer = 0; peer < 50; ++peer) {
    ASSERT_EQ(texts(table.prefixes_of(peer)), reference.prefixes_of(peer)) << peer;
    table.remove_peer(peer);
    reference.remove_peer(peer);
    for (unsigned n = 0; n < 1100; n += 7)
      for (const bool v6 : {false, true}) {
        const Prefix probe = host(v6, n);
        ASSERT_EQ(table.lookup(std::span(probe.address.data(), v6 ? 16 : 4)), reference.lookup(v6, probe.address))
            << "peer " << peer << " " << probe.to_string();
      }
  }
  EXPECT_EQ(texts(table.prefixes_of(1000)),
            (std::vector<std::string>{"10.0.0.0/22", "10.0.2.0/23", "fd00::/120", "fd00::100/121"}));
}

}  // namespace
}  // namespace waygate::wg
