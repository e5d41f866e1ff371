// Loading the directory: each table read through Config (so errors name the file, line and key),
// then the whole checked (unknown names, duplicates), then pool addresses handed out.
#include "waygate/directory.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include <date/tz.h>
#include <fmt/format.h>

#include "waygate/config.hpp"
#include "waygate/utc.hpp"

namespace waygate {

namespace {

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// A WireGuard key as `wg` prints it: 32 bytes in canonical base64 (43 characters and '=').
bool valid_key(std::string_view s) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (s.size() != 44 || s[43] != '=') return false;
  for (std::size_t i = 0; i < 43; ++i)
    if (alphabet.find(s[i]) == std::string_view::npos) return false;
  return (alphabet.find(s[42]) & 3) == 0;  // the last character carries 4 bits of the key
}

// Levenshtein distance, for "did you mean": names are short, so the quadratic table is nothing.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'staff'?)" when one known name is a letter or two away; "" otherwise.
std::string did_you_mean(std::string_view name, const std::set<std::string, std::less<>>& known) {
  for (auto& k : known)
    if (distance(name, k) <= (name.size() > 4 ? 2u : 1u)) return fmt::format(" (did you mean '{}'?)", k);
  return "";
}

std::string name_of(const Config& t, std::string_view what) {
  std::string name = t.string("name");
  if (!valid_name(name))
    t.fail("name", fmt::format("a {} name is 1-64 characters of a-z, 0-9, '-', '_' and '.'", what));
  return name;
}

net::Address address_of(const Config& t, std::string_view key, const std::string& text) {
  auto a = net::parse_address(text);
  if (!a) t.fail(key, fmt::format("'{}' is not an IPv4 or IPv6 address", text));
  return *a;
}

std::vector<net::Address> addresses_of(const Config& t, std::string_view key) {
  std::vector<net::Address> out;
  for (auto& text : t.strings(key)) out.push_back(address_of(t, key, text));
  return out;
}

// Strict (net::Prefix::parse), saying what a prefix with bits set beyond its length meant.
net::Prefix prefix_of(const Config& t, std::string_view key, const std::string& text) {
  if (auto p = net::Prefix::parse(text)) return *p;
  if (auto m = net::Prefix::masked(text))
    t.fail(key, fmt::format("'{}' has bits set beyond its length: the prefix is {}", text, m->to_string()));
  t.fail(key, fmt::format("'{}' is not a prefix such as 10.0.0.0/8 or fd00::/64", text));
}

std::vector<net::Prefix> prefixes_of(const Config& t, std::string_view key) {
  std::vector<net::Prefix> out;
  for (auto& text : t.strings(key)) out.push_back(prefix_of(t, key, text));
  return out;
}

// The n-th address of a prefix (n counted from its first address).
net::Address nth(const net::Prefix& p, std::uint64_t n) {
  std::array<std::uint8_t, 16> b = p.address.raw();
  std::size_t last = p.address.size() - 1;
  for (std::size_t i = 0; n != 0 && i <= last; ++i) {
    unsigned sum = b[last - i] + static_cast<unsigned>(n & 0xff);
    b[last - i] = static_cast<std::uint8_t>(sum);
    n = (n >> 8) + (sum >> 8);
  }
  return p.address.is_v4() ? net::Address::v4(std::span<const std::uint8_t, 4>(b.data(), 4))
                           : net::Address::v6(b);
}

// Host addresses a pool hands out: not the network address, nor IPv4's broadcast. Large IPv6
// pools are only scanned this far: more identities than that would need another allocator.
std::uint64_t pool_size(const net::Prefix& p) {
  unsigned host_bits = static_cast<unsigned>(p.address.size() * 8) - p.bits;
  std::uint64_t size = host_bits >= 20 ? (1u << 20) : (std::uint64_t{1} << host_bits);
  return p.address.is_v4() && host_bits < 20 ? (size >= 2 ? size - 1 : 0) : size;
}

// "FIRST-LAST", digits only, 1 <= FIRST <= LAST <= 65535.
std::optional<PortRange> parse_ports(std::string_view text) {
  unsigned first = 0, last = 0;
  const char* end = text.data() + text.size();
  auto [dash, e1] = std::from_chars(text.data(), end, first);
  if (e1 != std::errc{} || dash == end || *dash != '-') return std::nullopt;
  auto [stop, e2] = std::from_chars(dash + 1, end, last);
  if (e2 != std::errc{} || stop != end || first < 1 || first > last || last > 65535) return std::nullopt;
  return PortRange{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)};
}

std::optional<std::chrono::sys_seconds> time_of(const Config& t, std::string_view key) {
  if (!t.has(key)) return std::nullopt;
  std::string text = t.string(key);
  auto at = parse_utc(text);
  if (!at) t.fail(key, fmt::format("'{}' is not a date (2026-01-31) or a UTC time (2026-01-31T08:00:00Z)", text));
  return std::chrono::floor<std::chrono::seconds>(*at);
}

std::optional<std::chrono::minutes> minute_of_day(std::string_view hhmm) {
  if (hhmm.size() != 5 || hhmm[2] != ':') return std::nullopt;
  auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : -100; };
  int h = digit(hhmm[0]) * 10 + digit(hhmm[1]);
  int m = digit(hhmm[3]) * 10 + digit(hhmm[4]);
  if (h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return std::chrono::minutes(h * 60 + m);
}

std::optional<DailyWindow> window_of(const Config& t) {
  if (!t.has("hours")) {
    if (t.has("timezone")) t.fail("timezone", "a time zone needs 'hours' (such as \"08:00-18:00\")");
    return std::nullopt;
  }
  std::string hours = t.string("hours");
  auto dash = hours.find('-');
  auto begin = minute_of_day(std::string_view(hours).substr(0, dash));
  auto end = dash == std::string::npos ? std::nullopt
                                       : minute_of_day(std::string_view(hours).substr(dash + 1));
  if (!begin || !end || *begin == *end)
    t.fail("hours", fmt::format("'{}' is not a daily window such as \"08:00-18:00\" "
                                "(24-hour clock; an end before the start wraps past midnight)",
                                hours));
  DailyWindow w{*begin, *end, t.string("timezone", "UTC")};
  try {
    date::locate_zone(w.zone);
  } catch (const std::exception&) {
    t.fail("timezone", fmt::format("unknown time zone '{}' (a tz database name such as "
                                   "\"Europe/Berlin\" or \"UTC\")", w.zone));
  }
  return w;
}

template <class T>
std::uint32_t index_where(const std::vector<T>& v, std::string_view name) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i].name == name) return static_cast<std::uint32_t>(i);
  return kNoId;
}

class Loader {
 public:
  Loader(const Config& root, const Assignments& previous) : root_(root), previous_(previous) {}

  std::shared_ptr<const Directory> run() {
    auto d = std::make_shared<Directory>();
    d_ = d.get();
    overlay();
    identities();
    assign();
    sockets();
    policies();
    return d;
  }

 private:
  void overlay() {
    if (!root_.has("overlay")) return;
    Config t = root_.table("overlay");
    t.set_context("[overlay]");
    Overlay& o = d_->overlay;
    for (auto [key, family] : {std::pair{"pool4", net::Family::v4}, {"pool6", net::Family::v6}}) {
      if (!t.has(key)) continue;
      net::Prefix p = prefix_of(t, key, t.string(key));
      if (p.family() != family) t.fail(key, fmt::format("{} is not an IPv{} prefix", p.to_string(),
                                                        family == net::Family::v4 ? 4 : 6));
      if (pool_size(p) < 2) t.fail(key, fmt::format("{} is too small for a pool", p.to_string()));
      (family == net::Family::v4 ? o.pool4 : o.pool6) = p;
    }
    o.connector = addresses_of(t, "address");
    // By default the connector takes the first host address of each pool.
    if (o.connector.empty())
      for (auto& pool : {o.pool4, o.pool6})
        if (pool) o.connector.push_back(nth(*pool, 1));
    for (auto& a : o.connector) claim(a, "the connector", t, "address");
    t.complete();
  }

  void identities() {
    for (auto& t : root_.tables("identity")) {
      Identity id;
      id.name = name_of(t, "identity");
      t.set_context(fmt::format("identity '{}'", id.name));
      if (!identity_names_.insert(id.name).second)
        t.fail("name", fmt::format("identity '{}' is defined twice", id.name));
      id.email = t.string("email", "");
      if (!id.email.empty() && id.email.find('@') == std::string::npos)
        t.fail("email", fmt::format("'{}' is not an email address", id.email));
      id.public_key = t.string("public_key");
      if (!valid_key(id.public_key))
        t.fail("public_key", "not a WireGuard public key (44 characters of base64, as `wg pubkey` prints)");
      if (auto [it, fresh] = identity_keys_.emplace(id.public_key, id.name); !fresh)
        t.fail("public_key", fmt::format("the key of identity '{}' as well", it->second));
      id.groups = t.strings("groups");
      for (auto& g : id.groups)
        if (!valid_name(g)) t.fail("groups", fmt::format("'{}' is not a group name", g));
      id.addresses = addresses_of(t, "address");
      for (auto& a : id.addresses) {
        for (auto& b : id.addresses)
          if (&a != &b && a.family() == b.family())
            t.fail("address", "one IPv4 and one IPv6 address at most");
        claim(a, "identity '" + id.name + "'", t, "address");
      }
      tables_.push_back(t);
      d_->identities.push_back(std::move(id));
    }
  }

  // Pool addresses: first every identity that had one keeps it, then the others get the lowest
  // free ones, so a new identity never takes the address an older one had.
  void assign() {
    for (bool keep_previous : {true, false}) {
      for (std::size_t i = 0; i < d_->identities.size(); ++i) {
        Identity& id = d_->identities[i];
        for (auto& pool : {d_->overlay.pool4, d_->overlay.pool6}) {
          if (!pool || has_family(id, pool->family())) continue;
          std::optional<net::Address> got = keep_previous ? previous_address(id, *pool)
                                                          : lowest_free(*pool);
          if (!got && !keep_previous)
            tables_[i].fail("", fmt::format("the pool {} has no free address left for it",
                                            pool->to_string()));
          if (!got) continue;
          claim(*got, "identity '" + id.name + "'", tables_[i], "address");
          id.addresses.push_back(*got);
          d_->assigned[id.public_key].push_back(*got);
        }
      }
    }
    for (auto& id : d_->identities) std::sort(id.addresses.begin(), id.addresses.end());
    for (auto& t : tables_) t.complete();
  }

  static bool has_family(const Identity& id, net::Family f) {
    return std::any_of(id.addresses.begin(), id.addresses.end(),
                       [&](const net::Address& a) { return a.family() == f; });
  }

  std::optional<net::Address> previous_address(const Identity& id, const net::Prefix& pool) {
    auto it = previous_.find(id.public_key);
    if (it == previous_.end()) return std::nullopt;
    for (auto& a : it->second)
      if (pool.contains(a) && !taken_.count(a) && a != pool.address) return a;
    return std::nullopt;
  }

  // Nothing is given back while a file loads, so every address below the last one handed out is
  // taken: the search goes on from there (from the start each time, 10,000 identities took 40 s).
  std::optional<net::Address> lowest_free(const net::Prefix& pool) {
    std::uint64_t& n = next_free_[pool.address.is_v4() ? 0 : 1];
    for (std::uint64_t size = pool_size(pool); n < size; ++n) {
      net::Address a = nth(pool, n);
      if (!taken_.count(a)) return a;
    }
    return std::nullopt;
  }

  void claim(const net::Address& a, const std::string& who, const Config& t, std::string_view key) {
    auto [it, fresh] = taken_.emplace(a, who);
    if (!fresh) t.fail(key, fmt::format("{} is already the address of {}", a.to_string(), it->second));
  }

  void sockets() {
    for (auto& t : root_.tables("socket")) {
      Socket s;
      s.name = name_of(t, "socket");
      t.set_context(fmt::format("socket '{}'", s.name));
      if (index_where(d_->sockets, s.name) != kNoId)
        t.fail("name", fmt::format("socket '{}' is defined twice", s.name));
      std::string type = t.string("type");
      if (type == "exit_node") {
        s.type = SocketType::exit_node;
        if (t.has("routes")) t.fail("routes", "an exit node's routes are 0.0.0.0/0 and ::/0");
        s.routes = {*net::Prefix::parse("0.0.0.0/0"), *net::Prefix::parse("::/0")};
      } else if (type == "subnet_router") {
        s.type = SocketType::subnet_router;
        s.routes = prefixes_of(t, "routes");
        if (s.routes.empty()) t.fail("routes", "a subnet router serves at least one prefix");
      } else {
        t.fail("type", fmt::format("'{}' is not a socket type (exit_node or subnet_router)", type));
      }
      // What an exit node reaches beyond the internet (a corporate network) and what it keeps out
      // of it; the most specific prefix decides (see configs/README.md). A subnet router reaches
      // exactly its routes.
      s.allow = prefixes_of(t, "allow");
      s.deny = prefixes_of(t, "deny");
      if (s.type == SocketType::subnet_router && (!s.allow.empty() || !s.deny.empty()))
        t.fail(s.allow.empty() ? "deny" : "allow", "a subnet router reaches exactly its routes: allow and deny are an exit node's");
      for (auto& p : s.allow)
        if (std::find(s.deny.begin(), s.deny.end(), p) != s.deny.end())
          t.fail("deny", fmt::format("{} is both allowed and denied", p.to_string()));
      s.description = t.string("description", "");
      const std::string one = t.string("connector", "");
      s.connectors = t.strings("connectors");
      if (!one.empty() && !s.connectors.empty())
        t.fail("connectors", "give either connector (one) or connectors (several), not both");
      if (!one.empty()) s.connectors = {one};
      for (auto& c : s.connectors)
        if (std::count(s.connectors.begin(), s.connectors.end(), c) > 1)
          t.fail("connectors", fmt::format("connector '{}' is listed twice", c));
      s.egress = addresses_of(t, "egress");
      const std::string ports = t.string("egress_ports", to_string(s.egress_ports));
      if (auto r = parse_ports(ports)) s.egress_ports = *r;
      else t.fail("egress_ports", fmt::format("'{}' is not a port range \"FIRST-LAST\" with 1 <= FIRST <= "
                                              "LAST <= 65535, such as \"40000-49999\"", ports));
      // The egress edge keeps the kernel off the ports of sockets with egress addresses alone:
      // ports elsewhere would be ones a nat [[stage.socket]] of this id used and the kernel too.
      if (t.has("egress_ports") && s.egress.empty())
        t.fail("egress_ports", "only with egress addresses: these are the NAT's ports on them, and the "
                               "socket has none");
      s.dns = addresses_of(t, "dns");
      for (auto& a : s.egress)
        for (auto& other : d_->sockets)
          if (std::find(other.egress.begin(), other.egress.end(), a) != other.egress.end())
            t.fail("egress", fmt::format("{} is already the egress address of socket '{}'",
                                         a.to_string(), other.name));
      t.complete();
      d_->sockets.push_back(std::move(s));
    }
  }

  void policies() {
    std::set<std::string, std::less<>> groups;
    for (auto& id : d_->identities) groups.insert(id.groups.begin(), id.groups.end());
    for (auto& t : root_.tables("policy")) {
      Policy p;
      p.name = name_of(t, "policy");
      t.set_context(fmt::format("policy '{}'", p.name));
      if (index_where(d_->policies, p.name) != kNoId)
        t.fail("name", fmt::format("policy '{}' is defined twice", p.name));
      p.organization_wide = t.boolean("organization_wide", false);
      for (auto& name : t.strings("sockets")) {
        std::uint32_t s = d_->socket_by_name(name);
        if (s == kNoId) t.fail("sockets", fmt::format("no socket is named '{}'", name));
        p.sockets.push_back(s);
      }
      if (p.organization_wide == !p.sockets.empty())
        t.fail(p.organization_wide ? "sockets" : "",
               "a policy is either linked to sockets or organization_wide, not both and not neither");
      p.permissions = t.strings("permissions");
      for (auto& perm : p.permissions)
        if (perm != "network")
          t.fail("permissions", fmt::format("'{}' is not a permission (known: network)", perm));
      Conditions& c = p.conditions;
      for (auto& name : t.strings("identities")) {
        std::uint32_t i = d_->identity_by_name(name);
        if (i == kNoId) t.fail("identities", fmt::format("no identity is named '{}'", name));
        c.identities.push_back(i);
      }
      c.groups = t.strings("groups");
      // Not an error: taking the last member out of a group is how access is revoked.
      for (auto& g : c.groups)
        if (!groups.count(g))
          d_->warnings.push_back(t.located(
              "groups", fmt::format("no identity is in a group '{}': the policy grants nobody through it{}",
                                    g, did_you_mean(g, groups))));
      c.email_domains = t.strings("email_domains");
      for (auto& domain : c.email_domains)
        if (domain.empty() || domain.find('@') != std::string::npos)
          t.fail("email_domains", fmt::format("'{}' is not a domain such as example.com", domain));
      c.sources = prefixes_of(t, "sources");
      c.countries = t.strings("countries");
      for (auto& cc : c.countries)
        if (cc.size() != 2 || !std::isupper(static_cast<unsigned char>(cc[0])) ||
            !std::isupper(static_cast<unsigned char>(cc[1])))
          t.fail("countries", fmt::format("'{}' is not a two-letter country code such as DE", cc));
      c.not_before = time_of(t, "not_before");
      c.not_after = time_of(t, "not_after");
      if (c.not_before && c.not_after && *c.not_after <= *c.not_before)
        t.fail("not_after", "not_after must come after not_before");
      c.daily = window_of(t);
      t.complete();
      d_->policies.push_back(std::move(p));
    }
  }

  const Config& root_;
  const Assignments& previous_;
  Directory* d_ = nullptr;
  std::vector<Config> tables_;  // of the identities, for errors found after reading them all
  std::map<net::Address, std::string> taken_;
  std::uint64_t next_free_[2] = {1, 1};  // IPv4, IPv6 pool: where lowest_free goes on from
  std::set<std::string> identity_names_;
  std::map<std::string, std::string> identity_keys_;  // public key -> identity
};

}  // namespace

bool Policy::grants(std::string_view permission) const {
  return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

bool Policy::applies_to(std::uint32_t socket) const {
  return organization_wide || std::find(sockets.begin(), sockets.end(), socket) != sockets.end();
}

std::uint32_t Directory::identity_by_key(std::string_view public_key) const {
  for (std::size_t i = 0; i < identities.size(); ++i)
    if (identities[i].public_key == public_key) return static_cast<std::uint32_t>(i);
  return kNoId;
}

std::uint32_t Directory::identity_by_address(const net::Address& address) const {
  for (std::size_t i = 0; i < identities.size(); ++i)
    for (auto& a : identities[i].addresses)
      if (a == address) return static_cast<std::uint32_t>(i);
  return kNoId;
}

std::uint32_t Directory::identity_by_name(std::string_view name) const {
  return index_where(identities, name);
}

std::uint32_t Directory::socket_by_name(std::string_view name) const {
  return index_where(sockets, name);
}

std::shared_ptr<const Directory> Directory::load(const Config& root, const Assignments& previous) {
  return Loader(root, previous).run();
}

std::shared_ptr<const Directory> Directory::from_file(const std::string& path) {
  Config root = Config::parse_file(path);
  std::string state_dir;
  if (root.has("host")) state_dir = root.table("host").string("state_dir", "");
  if (!state_dir.empty() && std::filesystem::path(state_dir).is_relative())
    state_dir = (std::filesystem::path(path).parent_path() / state_dir).string();
  return load(root, read_assignments(state_dir));
}

}  // namespace waygate
