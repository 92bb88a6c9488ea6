#include "sim/stress.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/node.hpp"
#include "core/propagation/config.hpp"
#include "core/propagation/propagation.hpp"
#include "core/topology/membership.hpp"
#include "metrics/graph.hpp"
#include "sim/network_builder.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

// Distinct tags keep the message draws and the crash draw on streams independent of each other
// and of the simulator's own (which it derives from the bare seed).
constexpr uint64_t kPickStreamTag = 0x7069636b;   // "pick"
constexpr uint64_t kCrashStreamTag = 0x63726173;  // "cras"

// The simulator runs in slices of at most this much virtual time between progress reports.
constexpr Duration kSlice = Milliseconds(100);
// A broadcast reaches a healthy network well within this (Plumtree's graft timeout is 400 ms);
// the drain waits at least this long after the last send so late deliveries are counted.
// Covers the broadcast tree's repair after a crash: the graft timeout (2 s) plus a few hops.
constexpr Duration kBroadcastSettle = Seconds(4);
constexpr uint32_t kTtl = 15;  // ORIGINAL_DESIGN.md's threat_alert ttl; routes stay far shorter
// Broadcast trees are spanning trees, deeper than shortest paths (~35 hops at 10,000 nodes): the
// broadcast scenario's default ttl (docs/SIMULATION.md).
constexpr uint32_t kBroadcastTtl = 64;
constexpr const char* kBroadcastType = "threat_alert";
constexpr const char* kTargetedType = "consciousness_sync";
constexpr const char* kProbeType = "stress_probe";

uint64_t StreamSeed(uint64_t seed, uint64_t tag, uint64_t index) {
  // splitmix64 finaliser over the three words: nearby inputs get unrelated streams.
  uint64_t z = seed ^ (tag * 0x9e3779b97f4a7c15ULL) ^ (index * 0xbf58476d1ce4e5b9ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string ShortNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

LatencySummary Summarize(std::vector<int64_t>& samples_ns) {
  LatencySummary s;
  s.samples = samples_ns.size();
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  // Nearest rank: the smallest sample with at least p of the samples at or below it.
  auto rank = [&](double p) {
    const auto k = static_cast<size_t>(std::ceil(p * static_cast<double>(samples_ns.size())));
    return static_cast<double>(samples_ns[std::clamp<size_t>(k, 1, samples_ns.size()) - 1]) / 1e6;
  };
  s.p50_ms = rank(0.50);
  s.p99_ms = rank(0.99);
  s.max_ms = static_cast<double>(samples_ns.back()) / 1e6;
  return s;
}

double Ratio(double part, double whole) { return whole > 0 ? part / whole : 0.0; }
double Drop(double base, double now) { return base > 0 ? (base - now) / base : 0.0; }
double Rise(double base, double now) { return base > 0 ? (now - base) / base : 0.0; }

// The cause of a failed delivery without the node ids in it, so equal causes count together:
// "no ack from 1a2b3c4d after 3 retries over 2 distinct paths" groups as "no ack from
// <destination> after 3 retries over 2 distinct paths".
std::string FailureCause(const std::string& why) {
  std::string cause = why;
  for (const std::string_view prefix : {"no ack from ", "no route to "}) {
    const size_t at = cause.find(prefix);
    if (at == std::string::npos) continue;
    const size_t begin = at + prefix.size();
    const size_t end = cause.find(' ', begin);
    cause.replace(begin, end == std::string::npos ? std::string::npos : end - begin,
                  "<destination>");
  }
  return cause;
}

enum class Kind : uint8_t { kTargeted, kBroadcast, kProbe };
enum class Outcome : uint8_t { kPending, kAcked, kFailed, kRefused };

// One message the scenario sent, and what became of it.
struct Tracked {
  Kind kind = Kind::kTargeted;
  uint8_t phase = 0;
  Outcome outcome = Outcome::kPending;
  bool delivered = false;  // targeted: reached the destination's application
  bool alternative_path = false;
  uint32_t retries = 0;
  uint32_t origin = 0;
  uint32_t destination = UINT32_MAX;  // targeted only
  uint32_t expected = 0;              // broadcasts and probes: live nodes but the origin
  uint32_t deliveries = 0;
  TimePoint sent_at;
  std::string cause;  // kFailed and kRefused
};

// Samples collected while a phase's messages are in flight (sorted only when reported).
struct PhaseSamples {
  std::vector<int64_t> targeted_latency_ns;
  std::vector<int64_t> round_trip_ns;
  std::vector<int64_t> broadcast_latency_ns;
  uint64_t targeted_pending = 0;
};

constexpr uint8_t kBaselinePhase = 0;
constexpr uint8_t kStressPhase = 1;
constexpr uint8_t kProbePhase = 2;

NetworkSpec MakeNetworkSpec(const StressOptions& o) {
  NetworkSpec spec;
  spec.nodes = o.nodes;
  spec.m = o.m;
  spec.max_connections = o.max_connections;
  spec.settle = o.settle;
  spec.topology.target_degree = o.m;
  spec.topology.max_connections = o.max_connections;
  spec.topology.map_flood_radius = o.map_flood_radius;
  spec.propagation.ack_timeout = o.ack_timeout;
  spec.propagation.retries_max = o.retries_max;
  return spec;
}

// Longest wait for a targeted message's outcome: ack_timeout doubled on every retry, summed over
// the first try and retries_max retries, plus slack for the ack's own trip.
Duration OutcomeWaitMax(const StressOptions& o) {
  return o.ack_timeout * ((int64_t{1} << (o.retries_max + 1)) - 1) + Seconds(5);
}

class StressRun {
 public:
  StressRun(const StressOptions& options, const StressProgressFn& progress)
      : options_(options),
        progress_(progress),
        sim_(SimConfig{.seed = options.seed}),
        pick_rng_(StreamSeed(options.seed, kPickStreamTag, 0)) {}

  Result<StressReport> Run() {
    StressReport report;
    report.options = options_;
    report.options.messages = options_.EffectiveMessages();
    report.options.rate_per_s = options_.EffectiveRate();
    const double rate = report.options.rate_per_s;

    phase_name_ = "building";
    const NetworkSpec spec = MakeNetworkSpec(options_);
    Status built = BuildNetwork(sim_, spec, options_.seed, [this](uint32_t added) {
      nodes_added_ = added;
      Report();
    });
    if (!built.ok()) return built.error();
    if (sim_.budget_exhausted()) return BudgetError();
    report.totals.build_virtual_s = sim_.now().seconds();
    sim_.SetAppEventHook(
        [this](uint32_t node, TimePoint at, const AppEvent& event) { OnEvent(node, at, event); });
    RefreshLive();

    if (!options_.targeted_only) {
      report.baseline = RunPhase(kBaselinePhase, "baseline", options_.BaselineMessages(), rate);
      if (sim_.budget_exhausted()) return BudgetError();
    }
    Crash(report);
    const double stress_rate = options_.targeted_only ? rate : 2 * rate;
    report.stress = RunPhase(kStressPhase, "stress", options_.StressMessages(), stress_rate);
    if (sim_.budget_exhausted()) return BudgetError();
    report.recovery = recovery_;
    if (report.baseline) report.degradation = Degrade(*report.baseline, report.stress);
    report.nodes = sim_.node_count();
    const SimCounters& c = sim_.counters();
    report.totals.events = c.events;
    report.totals.messages = c.messages;
    report.totals.message_bytes = c.message_bytes;
    report.totals.virtual_time_s = sim_.now().seconds();
    sim_.LiveTopology(sim_.ActiveGraph(), report.graph, report.names);
    return report;
  }

 private:
  // ---- the phases ----

  PhaseReport RunPhase(uint8_t phase, const char* name, uint64_t count, double rate) {
    phase_name_ = name;
    sent_ = 0;
    const TimePoint start = sim_.now();
    const double broadcast_share = options_.targeted_only ? 0.0 : options_.broadcast_share;
    for (uint64_t i = 0; i < count && !sim_.budget_exhausted(); ++i) {
      AdvanceTo(start + Nanoseconds(std::llround(static_cast<double>(i) * 1e9 / rate)));
      // Broadcasts spread evenly through the phase: message i is one when the running count of
      // broadcasts owed, floor((i + 1) × share), steps up. Exact shares, no clumps.
      const bool broadcast = std::floor(static_cast<double>(i + 1) * broadcast_share) >
                             std::floor(static_cast<double>(i) * broadcast_share);
      if (broadcast) {
        SendBroadcast(phase, Kind::kBroadcast);
      } else {
        SendTargeted(phase);
      }
      ++sent_;
    }
    const Duration duration = Nanoseconds(std::llround(static_cast<double>(count) * 1e9 / rate));
    const TimePoint end = start + duration;
    AdvanceTo(end);
    Drain(phase, end);
    PhaseReport r = Finish(phase, name);
    r.start_s = start.seconds();
    r.duration_s = duration.seconds();
    r.rate_per_s = rate;
    r.messages = count;
    return r;
  }

  // Runs until every targeted message of the phase has an outcome and late broadcast copies had
  // time to land; after the crash also until the recovery is measured (or its limit passed).
  void Drain(uint8_t phase, TimePoint end) {
    phase_name_ = "draining";
    const TimePoint limit = end + OutcomeWaitMax(options_);
    auto done = [&] {
      if (sim_.now() < end + kBroadcastSettle) return false;
      if (samples_[phase].targeted_pending > 0 && sim_.now() < limit) return false;
      return !Checking();
    };
    while (!done() && !sim_.budget_exhausted()) AdvanceTo(sim_.now() + kSlice);
  }

  // Runs the simulator to `until` in slices, doing the recovery checks that fall due.
  void AdvanceTo(TimePoint until) {
    while (sim_.now() < until && !sim_.budget_exhausted()) {
      TimePoint next = std::min(until, sim_.now() + kSlice);
      if (Checking()) next = std::min(next, next_check_);
      sim_.RunUntil(next);
      if (Checking() && sim_.now() >= next_check_) Check();
      Report();
    }
  }

  // ---- sending ----

  void SendTargeted(uint8_t phase) {
    const uint32_t origin = PickLive();
    const uint32_t destination = PickLiveOther(origin);
    PublishRequest request;
    request.information_type = kTargetedType;
    request.payload = "{\"n\":" + std::to_string(records_.size()) + "}";
    request.priority = 0.5;
    request.ttl = kTtl;
    request.destinations = {sim_.node(destination).id()};
    Tracked t;
    t.kind = Kind::kTargeted;
    t.phase = phase;
    t.origin = origin;
    t.destination = destination;
    t.sent_at = sim_.now();
    Result<std::vector<PacketId>> ids = sim_.Publish(origin, std::move(request));
    if (!ids.ok()) {
      t.outcome = Outcome::kRefused;
      t.cause = "refused at publish: " + FailureCause(ids.error().message) +
                Placement(origin, destination);
    } else {
      assert(ids->size() == 1);
      index_.emplace(ids->front(), static_cast<uint32_t>(records_.size()));
      ++samples_[phase].targeted_pending;
    }
    records_.push_back(std::move(t));
  }

  void SendBroadcast(uint8_t phase, Kind kind) {
    const uint32_t origin = PickLive();
    PublishRequest request;
    request.information_type = kind == Kind::kProbe ? kProbeType : kBroadcastType;
    request.payload = "{\"n\":" + std::to_string(records_.size()) + "}";
    request.priority = 1.0;
    request.ttl = kBroadcastTtl;
    Tracked t;
    t.kind = kind;
    t.phase = phase;
    t.expected = static_cast<uint32_t>(live_.size() - 1);
    t.sent_at = sim_.now();
    Result<std::vector<PacketId>> ids = sim_.Publish(origin, std::move(request));
    if (!ids.ok()) {
      t.outcome = Outcome::kRefused;
      t.cause = "refused at publish: " + ids.error().message;
    } else {
      for (const PacketId& id : *ids) index_.emplace(id, static_cast<uint32_t>(records_.size()));
    }
    records_.push_back(std::move(t));
  }

  uint32_t PickLive() { return live_[pick_rng_.Uniform(live_.size())]; }

  uint32_t PickLiveOther(uint32_t origin) {
    assert(live_.size() >= 2);
    // Uniform over the live nodes but the origin: draw among size − 1 slots, skip the origin's.
    const auto pos = std::lower_bound(live_.begin(), live_.end(), origin) - live_.begin();
    auto k = static_cast<ptrdiff_t>(pick_rng_.Uniform(live_.size() - 1));
    if (k >= pos) ++k;
    return live_[static_cast<size_t>(k)];
  }

  // ---- outcomes ----

  void OnEvent(uint32_t node, TimePoint at, const AppEvent& event) {
    if (const auto* d = std::get_if<InformationDelivered>(&event)) {
      if (d->packet != nullptr) OnDelivered(node, at, d->packet->id);
    } else if (const auto* a = std::get_if<DeliveryAcked>(&event)) {
      OnAcked(*a);
    } else if (const auto* f = std::get_if<DeliveryFailed>(&event)) {
      OnFailed(*f);
    }
  }

  Tracked* Find(const PacketId& id) {
    const auto it = index_.find(id);
    return it == index_.end() ? nullptr : &records_[it->second];
  }

  void OnDelivered(uint32_t node, TimePoint at, const PacketId& id) {
    Tracked* t = Find(id);
    if (t == nullptr) return;
    const int64_t latency_ns = (at - t->sent_at).ns;
    if (t->kind == Kind::kTargeted) {
      // Retries re-send the same body; the destination delivers the first copy only.
      if (node != t->destination || t->delivered) return;
      t->delivered = true;
      samples_[t->phase].targeted_latency_ns.push_back(latency_ns);
      return;
    }
    ++t->deliveries;
    if (t->kind == Kind::kBroadcast) {
      samples_[t->phase].broadcast_latency_ns.push_back(latency_ns);
    } else if (t->deliveries == t->expected && !recovery_.recovery_time_s) {
      recovery_.recovery_time_s = (at - crash_at_).seconds();
    }
  }

  void OnAcked(const DeliveryAcked& acked) {
    Tracked* t = Find(acked.id);
    if (t == nullptr || t->outcome != Outcome::kPending) return;
    t->outcome = Outcome::kAcked;
    t->retries = acked.retries;
    t->alternative_path = acked.alternative_path;
    samples_[t->phase].round_trip_ns.push_back(acked.round_trip.ns);
    --samples_[t->phase].targeted_pending;
  }

  void OnFailed(const DeliveryFailed& failed) {
    Tracked* t = Find(failed.id);
    if (t == nullptr || t->outcome != Outcome::kPending) return;
    t->outcome = Outcome::kFailed;
    t->retries = options_.retries_max;  // the router gives up only after every retry
    t->cause = FailureCause(failed.why) + Placement(t->origin, t->destination);
    --samples_[t->phase].targeted_pending;
  }

  // ---- the crash and the recovery checks ----

  void Crash(StressReport& report) {
    Rng crash_rng(StreamSeed(options_.seed, kCrashStreamTag, 0));
    const uint32_t n = sim_.node_count();
    const uint32_t crashes = options_.CrashCount();
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) order[i] = i;
    // Partial Fisher–Yates: the first `crashes` entries are a uniform sample without replacement.
    for (uint32_t i = 0; i < crashes; ++i) {
      std::swap(order[i], order[i + crash_rng.Uniform(n - i)]);
      if (sim_.alive(order[i])) sim_.Crash(order[i]);
    }
    RefreshLive();
    crash_at_ = sim_.now();
    report.crash_at_s = crash_at_.seconds();
    report.crashed = n - static_cast<uint32_t>(live_.size());
    report.live = static_cast<uint32_t>(live_.size());
    checking_ = true;
    next_check_ = crash_at_;
    const Components at_crash = ConnectedComponents(sim_.ActiveGraph(), alive_);
    recovery_.components_at_crash = at_crash.count;
    recovery_.largest_component_at_crash = at_crash.largest_size;
    Check();
  }

  // Checks run from the crash, once per heartbeat period, until everything they measure is
  // known or the recovery limit has passed.
  bool Checking() const {
    if (!checking_) return false;
    if (sim_.now() - crash_at_ > options_.recovery_limit) return false;
    return !(recovery_.recovery_time_s && recovery_.failures_detected_s);
  }

  void Check() {
    const double since_s = (sim_.now() - crash_at_).seconds();
    ++recovery_.checks;
    next_check_ = sim_.now() + heartbeat_period_;
    if (!recovery_.failures_detected_s && NoCrashedPeerInViews()) {
      recovery_.failures_detected_s = since_s;
    }
    if (recovery_.recovery_time_s) return;
    if (!ConnectedComponents(sim_.ActiveGraph(), alive_).connected()) return;
    if (!recovery_.connected_s) recovery_.connected_s = since_s;
    // Each check while connected sends a fresh probe: the first to reach every live node marks
    // the recovery (an earlier probe may have been lost to a link that had not healed yet).
    SendBroadcast(kProbePhase, Kind::kProbe);
    ++recovery_.probes;
  }

  // Where the two ends were in the live active graph when a message was refused or given up
  // on: tells a partition (nothing to repair) from a routing problem (a path existed). Failures
  // are rare, so a graph snapshot each is affordable.
  std::string Placement(uint32_t origin, uint32_t destination) const {
    const Components c = ConnectedComponents(sim_.ActiveGraph(), alive_);
    auto isolated = [&](uint32_t v) { return c.sizes[c.component_of[v]] == 1; };
    if (isolated(origin)) return " [origin had no live link then]";
    if (isolated(destination)) return " [destination had no live link then]";
    if (c.component_of[origin] != c.component_of[destination]) {
      return " [origin and destination in different components then]";
    }
    return " [a live path existed then]";
  }

  bool NoCrashedPeerInViews() const {
    for (const uint32_t v : live_) {
      for (const NodeId& peer : sim_.node(v).membership().ActivePeerIds()) {
        const uint32_t index = sim_.IndexOf(peer);
        if (index != UINT32_MAX && !sim_.alive(index)) return false;
      }
    }
    return true;
  }

  void RefreshLive() {
    const uint32_t n = sim_.node_count();
    alive_.assign(n, false);
    live_.clear();
    for (uint32_t i = 0; i < n; ++i) {
      if (!sim_.alive(i)) continue;
      alive_[i] = true;
      live_.push_back(i);
    }
    assert(live_.size() >= 2);
    if (!live_.empty()) {
      heartbeat_period_ = sim_.node(live_.front()).membership().config().heartbeat_period;
    }
  }

  // ---- the report ----

  PhaseReport Finish(uint8_t phase, const char* name) {
    PhaseReport r;
    r.name = name;
    r.acked_by_retries.assign(options_.retries_max + 1, 0);
    double broadcast_ratio_sum = 0;
    for (const Tracked& t : records_) {
      if (t.phase != phase) continue;
      if (t.kind == Kind::kBroadcast) {
        ++r.broadcasts;
        if (t.outcome == Outcome::kRefused) ++r.broadcasts_refused;
        r.broadcast_expected += t.expected;
        r.broadcast_delivered += t.deliveries;
        broadcast_ratio_sum += Ratio(t.deliveries, t.expected);
        continue;
      }
      ++r.targeted;
      r.targeted_delivered += t.delivered ? 1 : 0;
      switch (t.outcome) {
        case Outcome::kAcked:
          ++r.targeted_acked;
          ++r.acked_by_retries[std::min<size_t>(t.retries, options_.retries_max)];
          r.retries += t.retries;
          r.alternative_path_acks += t.alternative_path ? 1 : 0;
          break;
        case Outcome::kFailed:
          ++r.targeted_failed;
          r.retries += t.retries;
          ++r.failures[t.cause];
          break;
        case Outcome::kRefused:
          ++r.targeted_refused;
          ++r.failures[t.cause];
          break;
        case Outcome::kPending:
          ++r.targeted_unresolved;
          ++r.failures["no outcome by the end of the drain"];
          break;
      }
    }
    r.ack_ratio = Ratio(r.targeted_acked, r.targeted);
    r.alternative_path_share = Ratio(r.alternative_path_acks, r.targeted_acked);
    r.retries_per_message = Ratio(r.retries, r.targeted_acked + r.targeted_failed);
    r.delivery_ratio = Ratio(r.broadcast_delivered, r.broadcast_expected);
    r.fulfillment = Ratio(static_cast<double>(r.targeted_acked) + broadcast_ratio_sum,
                          static_cast<double>(r.targeted + r.broadcasts));
    PhaseSamples& s = samples_[phase];
    r.targeted_latency = Summarize(s.targeted_latency_ns);
    r.ack_round_trip = Summarize(s.round_trip_ns);
    r.broadcast_latency = Summarize(s.broadcast_latency_ns);
    return r;
  }

  static Degradation Degrade(const PhaseReport& base, const PhaseReport& stress) {
    Degradation d;
    d.fulfillment_drop = Drop(base.fulfillment, stress.fulfillment);
    d.targeted_ack_drop = Drop(base.ack_ratio, stress.ack_ratio);
    d.broadcast_delivery_drop = Drop(base.delivery_ratio, stress.delivery_ratio);
    d.targeted_latency_p50_rise =
        Rise(base.targeted_latency.p50_ms, stress.targeted_latency.p50_ms);
    d.targeted_latency_p99_rise =
        Rise(base.targeted_latency.p99_ms, stress.targeted_latency.p99_ms);
    d.broadcast_latency_p50_rise =
        Rise(base.broadcast_latency.p50_ms, stress.broadcast_latency.p50_ms);
    d.broadcast_latency_p99_rise =
        Rise(base.broadcast_latency.p99_ms, stress.broadcast_latency.p99_ms);
    return d;
  }

  Error BudgetError() const {
    return MakeError(ErrorCode::kTooLarge, "the simulator stopped after " +
                                               std::to_string(sim_.counters().events) +
                                               " events (its events_max budget) at virtual time " +
                                               ShortNumber(sim_.now().seconds()) + " s; seed " +
                                               std::to_string(options_.seed));
  }

  void Report() const {
    if (!progress_) return;
    progress_(StressProgress{.phase = phase_name_,
                             .nodes_added = nodes_added_,
                             .sent = sent_,
                             .virtual_time_s = sim_.now().seconds(),
                             .events = sim_.counters().events});
  }

  const StressOptions& options_;
  const StressProgressFn& progress_;
  Simulator sim_;
  Rng pick_rng_;
  std::vector<Tracked> records_;
  std::unordered_map<PacketId, uint32_t, PacketIdHash> index_;  // lookups only, never iterated
  PhaseSamples samples_[3];
  std::vector<bool> alive_;
  std::vector<uint32_t> live_;  // ascending
  Duration heartbeat_period_ = Seconds(1);

  bool checking_ = false;
  TimePoint crash_at_;
  TimePoint next_check_;
  RecoveryReport recovery_;

  const char* phase_name_ = "";
  uint32_t nodes_added_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace

double StressOptions::EffectiveRate() const {
  if (rate_per_s > 0) return rate_per_s;
  const uint64_t first_phase = targeted_only ? StressMessages() : BaselineMessages();
  return std::max(1.0, static_cast<double>(first_phase) / kDefaultPhase.seconds());
}

uint32_t StressOptions::CrashCount() const {
  return static_cast<uint32_t>(std::llround(failure_rate * static_cast<double>(nodes)));
}

Status StressOptions::Validate() const {
  auto invalid = [](std::string message) {
    return Status(MakeError(ErrorCode::kInvalidArgument, std::move(message)));
  };
  if (nodes < 3 || nodes > kNodesMax) {
    return invalid("--nodes must be between 3 and " + std::to_string(kNodesMax) +
                   " (targeted routes need every node in every topology map), got " +
                   std::to_string(nodes));
  }
  if (!std::isfinite(failure_rate) || failure_rate < 0 || failure_rate >= 1) {
    return invalid("--failure-rate must be a number in [0, 1), got " + ShortNumber(failure_rate));
  }
  if (nodes - CrashCount() < 2) {
    return invalid("--failure-rate " + ShortNumber(failure_rate) + " leaves fewer than 2 of " +
                   std::to_string(nodes) + " nodes alive");
  }
  if (messages > kMessagesMax) {
    return invalid("--messages must be between 1 and " + std::to_string(kMessagesMax) + ", got " +
                   std::to_string(messages));
  }
  if (!std::isfinite(rate_per_s) || rate_per_s < 0 || rate_per_s > kRateMaxPerS) {
    return invalid("--rate must be a number of messages per virtual second in (0, 1e6], got " +
                   ShortNumber(rate_per_s));
  }
  if (static_cast<double>(EffectiveMessages()) / EffectiveRate() > kPhaseMaxS) {
    return invalid("--rate " + ShortNumber(rate_per_s) + " is too low for " +
                   std::to_string(EffectiveMessages()) +
                   " messages: a phase would span more than " + ShortNumber(kPhaseMaxS) +
                   " virtual seconds");
  }
  if (!std::isfinite(broadcast_share) || broadcast_share < 0 || broadcast_share > 1) {
    return invalid("--broadcast-share must be a number in [0, 1], got " +
                   ShortNumber(broadcast_share));
  }
  if (max_connections < 1 || max_connections > kMaxConnectionsMax) {
    return invalid("--max-connections must be between 1 and " + std::to_string(kMaxConnectionsMax) +
                   ", got " + std::to_string(max_connections));
  }
  if (m < 1 || m > max_connections) {
    return invalid("--m must be between 1 and --max-connections (" +
                   std::to_string(max_connections) + "), got " + std::to_string(m));
  }
  if (map_flood_radius < 1 || map_flood_radius > 64) {
    return invalid(
        "--map-radius must be between 1 and 64 (targeted routes come from the map), got " +
        std::to_string(map_flood_radius));
  }
  if (ack_timeout < Milliseconds(1) || ack_timeout > Seconds(600)) {
    return invalid("--ack-timeout-ms must be between 1 and 600000");
  }
  if (retries_max > kRetriesMax) {
    return invalid("--retries must be between 0 and " + std::to_string(kRetriesMax) + ", got " +
                   std::to_string(retries_max));
  }
  if (recovery_limit < Seconds(1) || recovery_limit > Seconds(100'000)) {
    return invalid("recovery limit must be between 1 and 100000 virtual seconds");
  }
  if (settle < Duration{} || settle > Seconds(100'000)) {
    return invalid("settle must be between 0 and 100000 virtual seconds");
  }
  return Status::Ok();
}

Result<StressReport> RunStress(const StressOptions& options, const StressProgressFn& progress) {
  if (Status valid = options.Validate(); !valid.ok()) return valid.error();
  // The run holds the whole simulator: keep it off the stack.
  auto run = std::make_unique<StressRun>(options, progress);
  return run->Run();
}

}  // namespace myco
