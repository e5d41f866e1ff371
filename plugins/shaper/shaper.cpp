// The shaper stage: rate limits per identity, per group and per socket, each direction; an exit
// node's rate shared fairly among its identities; data quotas per identity per day or month. It
// sits beside policy, which names each packet's identity and socket in its metadata.
//
// Nothing queues here: a packet over a limit is dropped, and TCP slows down as it would behind a
// full queue. Fair sharing caps every identity of a socket at the max-min fair level of the
// socket's rate (fair_share.hpp), recomputed every 50 ms from what each one offered; so one
// client's eight streams get what another's single stream gets, and what one does not use the
// others may. A quota used up drops the identity's packets as quota_exhausted, answers outbound
// ones with ICMP administratively prohibited, and writes one audit line for the period. The use
// is kept across reloads in the instance and across restarts in `usage` (usage.hpp), written
// whole in the background every 30 s and at stop. What it does is on the admin API at /v1/shaper.
// With more than one worker ([host] workers) the workers' instances share every rate, level and
// quota by telling each other what they saw each interval (spread.hpp); the first worker writes
// the usage file and the quotas' audit lines.
#include <chrono>
#include <memory>
#include <utility>

#include <boost/json.hpp>

#include "bucket.hpp"
#include "fair_share.hpp"
#include "rules.hpp"
#include "spread.hpp"
#include "usage.hpp"
#include "waygate/files.hpp"
#include "waygate/journal.hpp"
#include "waygate/net/ip.hpp"
#include "waygate/net/prohibited.hpp"
#include "waygate/plugin.hpp"
#include "waygate/snapshot_file.hpp"
#include "waygate/utc.hpp"

namespace waygate::shaper {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr Duration kFairInterval = 50ms;
constexpr Duration kSaveInterval = 30s;
constexpr double kMinDepth = 16 * 1024;
constexpr std::uint32_t kReport = 1;  // handed over: another worker's report (spread.hpp)

// A socket's rate in one direction, shared fairly: a bucket per identity at the fair level.
struct Lane {
  std::uint32_t socket = kNone;
  int direction = 0;
  double rate = 0, burst = 0.1;  // bytes a second; seconds of the level
  double level = 0;              // bytes a second, as last computed
  std::vector<Bucket> shares;    // per identity
  std::vector<double> offered;   // bytes per identity this interval
  std::vector<double> demand;    // bytes a second per identity, as estimated at the last interval
};

struct Slot {  // one quota of the rules, with its use
  Usage* usage = nullptr;
  std::uint32_t socket = kNone;
  std::uint64_t limit = 0;
};

const char* direction_name(int d) { return d == 0 ? "up" : "down"; }
const char* period_name(Period p) { return p == Period::day ? "day" : "month"; }

class Shaper final : public Plugin {
 public:
  static constexpr bool kPerWorker = true;

  explicit Shaper(Context& ctx)
      : ctx_(ctx),
        limited_(ctx.drop_reason("rate_limited")),
        spent_(ctx.drop_reason("quota_exhausted")),
        fair_tick_(ctx.timer([this] { share(); })),
        save_tick_(ctx.timer([this] { save(); })),
        audit_(ctx, "audit"),
        snapshot_(ctx, "usage"),
        answers_(50.0 / ctx.workers(), 50.0 / ctx.workers(), Time{0}) {}

  void configure(const Config& c) override {
    const std::string usage_path = c.string("usage", "");
    const std::string audit_log = c.string("audit_log", "");
    if (running_ && usage_path != usage_path_) c.fail("usage", "changing the usage file needs a restart");
    if (running_ && audit_log != audit_log_) c.fail("audit_log", "changing the audit log needs a restart");
    auto d = ctx_.directory();
    Rules rules = read_rules(c, *d);
    if (!running_ && !usage_path.empty()) {
      try {
        book_.load(usage_path);
      } catch (const std::exception& e) {
        c.fail("usage", std::string("cannot read the quotas' use: ") + e.what());
      }
    }
    // Nothing above changed the instance but the book's entries; now take it all.
    const Time now = ctx_.now();
    std::vector<Bucket> buckets;
    for (auto& b : rules.buckets) buckets.emplace_back(b.rate, b.depth, now);
    std::vector<Lane> lanes;
    std::vector<std::array<std::uint32_t, 2>> lane_of(d->sockets.size(), {kNone, kNone});
    for (std::uint32_t s = 0; s < d->sockets.size(); ++s)
      for (int dir = 0; dir < 2; ++dir) {
        const double rate = rules.fair_rate[s][dir];
        if (rate == 0) continue;
        Lane lane{s, dir, rate, rules.fair_burst[s], rate, {}, std::vector<double>(d->identities.size(), 0),
                  std::vector<double>(d->identities.size(), 0)};
        lane.shares.assign(d->identities.size(), Bucket(rate, std::max(kMinDepth, rate * lane.burst), now));
        lane_of[s][dir] = static_cast<std::uint32_t>(lanes.size());
        lanes.push_back(std::move(lane));
      }
    std::vector<Slot> slots;
    for (auto& q : rules.quotas) slots.push_back({&book_.at(q.identity, q.socket), q.socket_id, q.bytes});
    // What the workers tell each other starts again with the rules (every worker takes the reload).
    std::vector<Others> others(ctx_.workers());
    for (auto& o : others) {
      o.buckets.assign(buckets.size(), 0);
      o.lanes.assign(lanes.size(), std::vector<double>(d->identities.size(), 0));
    }

    usage_path_ = usage_path;
    audit_log_ = audit_log;
    directory_ = std::move(d);
    rules_ = std::move(rules);
    buckets_ = std::move(buckets);
    lanes_ = std::move(lanes);
    lane_of_ = std::move(lane_of);
    slots_ = std::move(slots);
    offered_.assign(buckets_.size(), 0);
    demand_.assign(buckets_.size(), 0);
    used_here_.assign(slots_.size(), 0);
    others_ = std::move(others);
    ++generation_;
    next_roll_ = {};  // the next burst sets every quota's period
    if (running_) arm();
  }

  void start() override {
    running_ = true;
    if (!audit_log_.empty()) audit_.open(audit_log_);
    ctx_.serve(Listener::admin, "/v1/shaper", [this](const Request&) { return report(); });
    arm();
  }

  void stop() override {
    running_ = false;
    fair_tick_.cancel();
    save_tick_.cancel();
    snapshot_.abandon();
    audit_.close();
    if (usage_path_.empty() || !keeps_file()) return;
    std::string text = UsageBook::header() + "\n";
    for (auto& [key, u] : book_.entries()) text += UsageBook::line(key.first, key.second, u) + "\n";
    try {
      write_file_atomically(usage_path_, text);
    } catch (const std::exception& e) {
      ctx_.log().error("saving the quotas' use: {}", e.what());
    }
  }

  void on_io(const Completion& c, Output&) override {
    if (audit_.owns(c)) return audit_.done(c);
    if (snapshot_.owns(c)) return snapshot_.done(c);
  }

  void on_handed(Packet* p, std::uint32_t tag, Output&) override {
    if (tag == kReport) take_report(*p);
    ctx_.pool().free(p);
  }

  void process(Burst& burst, Output& out) override {
    if (buckets_.empty() && lanes_.empty() && slots_.empty()) {  // nothing set: a stage that passes
      for (Packet* p : burst) out.pass(p);
      return;
    }
    const int d = burst.direction() == Direction::outbound ? 0 : 1;
    const Time now = ctx_.now();
    if (!slots_.empty()) {
      const auto wall = std::chrono::floor<std::chrono::seconds>(ctx_.wall());
      if (wall >= next_roll_) roll(wall);
    }
    const std::uint32_t identities = static_cast<std::uint32_t>(rules_.draws.size());
    for (Packet* p : burst) {
      const std::uint32_t i = p->meta.identity, s = p->meta.socket;
      if (i >= identities) {  // not a client's: the connector's own, say
        out.pass(p);
        continue;
      }
      if (spent(i, s)) {
        refuse(p, d, out);
        continue;
      }
      const std::size_t size = p->size();
      bool ok = true;
      for (std::uint32_t b : rules_.draws[i][d]) {
        buckets_[b].refill(now);
        ok = ok && buckets_[b].conforms();
        offered_[b] += static_cast<double>(size);
      }
      Bucket* whole = nullptr;
      Lane* lane = nullptr;
      if (s < lane_of_.size()) {
        if (rules_.socket_bucket[s][d] != kNone) whole = &buckets_[rules_.socket_bucket[s][d]];
        if (lane_of_[s][d] != kNone) lane = &lanes_[lane_of_[s][d]];
      }
      if (whole != nullptr) {
        whole->refill(now);
        ok = ok && whole->conforms();
        offered_[rules_.socket_bucket[s][d]] += static_cast<double>(size);
      }
      if (lane != nullptr && ok) {
        lane->offered[i] += static_cast<double>(size);  // what it asks, for the next level
        lane->shares[i].refill(now);
        ok = lane->shares[i].conforms();
      }
      if (!ok) {
        out.drop(p, limited_);
        continue;
      }
      for (std::uint32_t b : rules_.draws[i][d]) buckets_[b].take(size);
      if (whole != nullptr) whole->take(size);
      if (lane != nullptr) lane->shares[i].take(size);
      count(i, s, size);
      out.pass(p);
    }
  }

 private:
  bool spent(std::uint32_t i, std::uint32_t s) const {
    for (std::uint32_t q : rules_.quotas_of[i]) {
      const Slot& slot = slots_[q];
      if ((slot.socket == kNone || slot.socket == s) && slot.usage->bytes >= slot.limit) return true;
    }
    return false;
  }

  void count(std::uint32_t i, std::uint32_t s, std::size_t size) {
    for (std::uint32_t q : rules_.quotas_of[i]) {
      Slot& slot = slots_[q];
      if (slot.socket != kNone && slot.socket != s) continue;
      slot.usage->bytes += size;
      used_here_[q] += size;
      changed_ = true;
      if (slot.usage->bytes >= slot.limit && !slot.usage->told) ran_out(q);
    }
  }

  // An outbound packet is answered, so the client's applications learn at once; an inbound one
  // is dropped. Answers are limited to 50 a second, as routers limit their ICMP errors.
  void refuse(Packet* p, int d, Output& out) {
    if (d == 0) {
      answers_.refill(ctx_.now());
      const net::Address from = net::ip::destination(p->bytes());
      if (answers_.conforms() && from.family() != net::Family::none && net::prohibit(*p, from)) {
        answers_.take(1);
        spent_.add();
        out.reply(p);
        return;
      }
    }
    out.drop(p, spent_);
  }

  void ran_out(std::uint32_t q) {
    const QuotaSpec& spec = rules_.quotas[q];
    Usage& u = *slots_[q].usage;
    u.told = true;
    if (!keeps_file()) return;  // the first worker says it, when the use reaches it
    json::object line{{"time", format_utc(UtcTime{std::chrono::floor<std::chrono::milliseconds>(ctx_.wall())})},
                      {"event", "quota_exhausted"},
                      {"identity", spec.identity},
                      {"socket", spec.socket},
                      {"quota_bytes", spec.bytes},
                      {"per", period_name(spec.per)},
                      {"timezone", spec.zone},
                      {"until", format_utc(UtcTime{u.end})}};
    const std::string text = json::serialize(line);
    ctx_.log().event(Level::info, {{"identity", spec.identity}, {"socket", spec.socket}}, "quota {}", text);
    audit_.write(text);
  }

  // Moves every quota into the period holding `wall`; a new period starts from nothing.
  void roll(std::chrono::sys_seconds wall) {
    next_roll_ = std::chrono::sys_seconds::max();
    for (std::size_t q = 0; q < slots_.size(); ++q) {
      const QuotaSpec& spec = rules_.quotas[q];
      Usage& u = *slots_[q].usage;
      const auto start = period_start(wall, spec.zone, spec.per);
      if (u.start != start) {
        u.start = start;
        u.bytes = 0;
        u.told = false;
        changed_ = true;
      }
      u.end = next_period(wall, spec.zone, spec.per);
      next_roll_ = std::min(next_roll_, u.end);
    }
  }

  void arm() {
    if (ticks() && !fair_tick_.armed()) fair_tick_.arm_in(kFairInterval);
    if (!usage_path_.empty() && !slots_.empty() && !save_tick_.armed()) save_tick_.arm_in(kSaveInterval);
  }

  // Every interval: each lane's fair level from what its identities asked for. A demand is what
  // an identity offered in the last interval, or three quarters of its last estimate if that is
  // more (a TCP flow that has just halved its window still wants its share), and it is counted
  // a quarter larger: whoever is below the level may grow into capacity kept free for it (by a
  // quarter each interval) instead of into the outside link's queue.
  // With more than one worker, also every interval: this worker's report to the others, and its
  // part of each bucket's rate from everyone's demand; a fair level counts every worker's
  // identities.
  void share() {
    const double seconds = std::chrono::duration<double>(kFairInterval).count();
    const bool spread = ctx_.workers() > 1;
    report_.clear();
    for (std::uint32_t b = 0; b < buckets_.size(); ++b) {
      demand_[b] = std::max(offered_[b] / seconds, 0.75 * demand_[b]);
      offered_[b] = 0;
      if (spread && demand_[b] > 0) report_.push_back({Record::bucket, b, 0, 0, demand_[b]});
    }
    for (std::uint32_t l = 0; l < lanes_.size(); ++l) {
      Lane& lane = lanes_[l];
      for (std::uint32_t i = 0; i < lane.demand.size(); ++i) {
        lane.demand[i] = std::max(lane.offered[i] / seconds, 0.75 * lane.demand[i]);
        if (spread && lane.demand[i] > 0) report_.push_back({Record::lane, l, i, 0, lane.demand[i]});
        double everyone = lane.demand[i];
        for (const Others& o : others_) everyone += o.lanes[l][i];
        lane.offered[i] = 1.25 * everyone;  // reused as the demands the level divides
      }
      lane.level = fair_level(lane.offered, lane.rate);
      const double depth = std::max(kMinDepth, lane.level * lane.burst);
      for (Bucket& b : lane.shares) b.set_rate(lane.level, depth);
      std::fill(lane.offered.begin(), lane.offered.end(), 0.0);
    }
    if (spread) {
      for (std::uint32_t q = 0; q < slots_.size(); ++q)
        if (used_here_[q] > 0) report_.push_back({Record::usage, q, 0, 0, static_cast<double>(std::exchange(used_here_[q], 0))});
      hand_report(ctx_, generation_, reports_++, report_, kReport);
      for (std::size_t b = 0; b < buckets_.size(); ++b) {
        double everyone = demand_[b];
        for (const Others& o : others_) everyone += o.buckets[b];
        const BucketSpec& spec = rules_.buckets[b];
        const double mine = part(demand_[b], everyone, ctx_.workers(), spec.rate);
        buckets_[b].set_rate(spec.rate * mine, spec.depth * mine);
      }
    }
    if (ticks()) fair_tick_.arm_in(kFairInterval);
  }

  // Whether share() runs: for fair levels, and with more than one worker for anything shared.
  bool ticks() const {
    return !lanes_.empty() || (ctx_.workers() > 1 && (!buckets_.empty() || !slots_.empty()));
  }

  // The first worker's instance writes what is written once (spread.hpp).
  bool keeps_file() const { return ctx_.worker() == 0; }

  // Another worker's report: its demands replace those of its last report, its quotas' use adds.
  void take_report(const Packet& p) {
    Others* from = nullptr;
    read_report(p, [&](const Record& r) {
      if (r.kind == Record::header) {
        const bool ours = r.index < others_.size() && r.index != ctx_.worker() && r.identity == generation_;
        from = ours ? &others_[r.index] : nullptr;  // a report on other rules is left unread
        if (from != nullptr && from->report != r.report) {
          from->report = r.report;
          std::fill(from->buckets.begin(), from->buckets.end(), 0.0);
          for (auto& lane : from->lanes) std::fill(lane.begin(), lane.end(), 0.0);
        }
        return;
      }
      if (from == nullptr) return;
      if (r.kind == Record::bucket && r.index < from->buckets.size()) {
        from->buckets[r.index] = r.value;
      } else if (r.kind == Record::lane && r.index < from->lanes.size() && r.identity < from->lanes[r.index].size()) {
        from->lanes[r.index][r.identity] = r.value;
      } else if (r.kind == Record::usage && r.index < slots_.size()) {
        Usage& u = *slots_[r.index].usage;
        u.bytes += static_cast<std::uint64_t>(r.value);
        changed_ = true;
        if (u.bytes >= slots_[r.index].limit && !u.told) ran_out(r.index);
      }
    });
  }

  void save() {
    if (keeps_file() && changed_ && !snapshot_.busy() && snapshot_.begin(usage_path_)) {
      snapshot_.line(UsageBook::header());
      for (auto& [key, u] : book_.entries()) snapshot_.line(UsageBook::line(key.first, key.second, u));
      snapshot_.commit();
      changed_ = false;
    }
    arm();
  }

  Response report() const {
    const Directory& d = *directory_;
    json::array limits, fair, quotas;
    for (auto& b : rules_.buckets)
      limits.push_back(json::object{{"who", b.who}, {"direction", direction_name(b.direction)}, {"rate", rate_text(b.rate)}});
    for (auto& lane : lanes_)
      fair.push_back(json::object{{"socket", d.sockets[lane.socket].name},
                                  {"direction", direction_name(lane.direction)},
                                  {"rate", rate_text(lane.rate)},
                                  {"level", rate_text(lane.level)}});
    for (std::size_t q = 0; q < slots_.size(); ++q) {
      const QuotaSpec& spec = rules_.quotas[q];
      const Usage& u = *slots_[q].usage;
      quotas.push_back(json::object{{"identity", spec.identity},
                                    {"socket", spec.socket},
                                    {"bytes", spec.bytes},
                                    {"used", u.bytes},
                                    {"per", period_name(spec.per)},
                                    {"timezone", spec.zone},
                                    {"start", format_utc(UtcTime{u.start})},
                                    {"end", format_utc(UtcTime{u.end})},
                                    {"exhausted", u.bytes >= spec.bytes}});
    }
    json::object body{{"limits", limits}, {"fair", fair}, {"quotas", quotas}};
    return {200, "application/json", json::serialize(body) + "\n"};
  }

  Context& ctx_;
  Drop limited_, spent_;
  Timer fair_tick_, save_tick_;
  Journal audit_;
  SnapshotFile snapshot_;
  Bucket answers_;  // the ICMP answers' limit, each worker's part of 50 a second
  std::shared_ptr<const Directory> directory_ = std::make_shared<const Directory>();
  Rules rules_;
  std::vector<Bucket> buckets_;
  std::vector<Lane> lanes_;
  std::vector<std::array<std::uint32_t, 2>> lane_of_;
  std::vector<Slot> slots_;
  UsageBook book_;
  std::chrono::sys_seconds next_roll_{};
  std::string usage_path_, audit_log_;
  bool running_ = false, changed_ = false;

  // What this worker saw since its last report: bytes offered per bucket, and its demand per
  // bucket as estimated each interval; bytes each quota counted. What the others last said.
  struct Others {
    std::uint32_t report = ~0u;                // the number of the report being read
    std::vector<double> buckets;               // demand per bucket
    std::vector<std::vector<double>> lanes;    // demand per lane, per identity
  };
  std::vector<double> offered_, demand_;
  std::vector<std::uint64_t> used_here_;
  std::vector<Others> others_;  // per worker; this one's stays empty of demand
  std::vector<Record> report_;  // reused each interval
  std::uint32_t generation_ = 0, reports_ = 0;
};

}  // namespace

}  // namespace waygate::shaper

WAYGATE_PLUGIN(waygate::shaper::Shaper, "shaper", "0.1.0")
