#include "sim/discovery.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/node.hpp"
#include "core/propagation/packet.hpp"
#include "core/propagation/propagation.hpp"
#include "metrics/graph.hpp"
#include "sim/network_builder.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

// Distinct tags keep the holder draw and the query draws on streams independent of each other
// and of the simulator's own (which it derives from the bare seed).
constexpr uint64_t kHolderStreamTag = 0x686f6c64;  // "hold"
constexpr uint64_t kQueryStreamTag = 0x71756572;   // "quer"

constexpr Duration kSlice = Milliseconds(100);
// The nearest-holder distances are recomputed when the snapshot is older than this: the settled
// graph barely changes, and a snapshot plus BFS costs milliseconds at 10,000 nodes.
constexpr Duration kSnapshotMaxAge = Milliseconds(100);
constexpr uint32_t kTtl = 15;
constexpr const char* kDiscoveryType = "resource_discovery";

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

// Nearest rank over sorted values: the smallest value with at least p of them at or below it.
double NearestRank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto k = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(k, 1, sorted.size()) - 1];
}

struct Query {
  uint32_t origin = 0;
  uint32_t nearest_hops = UINT32_MAX;  // BFS hops to the nearest holder at send time
  bool answered = false;
  uint32_t hops = 0;
};

class DiscoveryRun {
 public:
  DiscoveryRun(const DiscoveryOptions& options, const DiscoveryProgressFn& progress)
      : options_(options),
        progress_(progress),
        sim_(SimConfig{.seed = options.seed}),
        query_rng_(StreamSeed(options.seed, kQueryStreamTag, 0)) {}

  Result<DiscoveryReport> Run() {
    DiscoveryReport report;
    report.options = options_;
    phase_ = "building";
    Status built = BuildNetwork(sim_, MakeSpec(), options_.seed, [this](uint32_t added) {
      nodes_added_ = added;
      Report();
    });
    if (!built.ok()) return built.error();
    if (sim_.budget_exhausted()) return BudgetError();
    report.build_virtual_s = sim_.now().seconds();
    sim_.SetAppEventHook([this](uint32_t node, TimePoint, const AppEvent& event) {
      if (const auto* a = std::get_if<DiscoveryAnswered>(&event)) OnAnswered(node, *a);
    });
    FindHolders();
    if (holders_.empty() || others_.empty()) {
      return MakeError(ErrorCode::kInternal, "discovery: the built network has " +
                                                 std::to_string(holders_.size()) + " holders and " +
                                                 std::to_string(others_.size()) + " other nodes");
    }

    phase_ = "converging";
    AdvanceTo(sim_.now() + options_.converge);
    phase_ = "querying";
    const TimePoint start = sim_.now();
    for (uint64_t i = 0; i < options_.queries && !sim_.budget_exhausted(); ++i) {
      AdvanceTo(start +
                Nanoseconds(std::llround(static_cast<double>(i) * 1e9 / options_.rate_per_s)));
      SendQuery(report);
    }
    phase_ = "answering";
    AdvanceTo(sim_.now() + options_.answer_wait);
    if (sim_.budget_exhausted()) return BudgetError();
    Summarize(report);
    report.graph = sim_.ActiveGraph();
    report.names = sim_.names();
    return report;
  }

 private:
  NetworkSpec MakeSpec() {
    const uint32_t n = options_.nodes;
    const uint32_t holders = options_.HolderCount();
    // Partial Fisher–Yates: the first `holders` entries are a uniform sample without replacement.
    Rng holder_rng(StreamSeed(options_.seed, kHolderStreamTag, 0));
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) order[i] = i;
    holder_of_.assign(n, false);
    for (uint32_t i = 0; i < holders; ++i) {
      std::swap(order[i], order[i + holder_rng.Uniform(n - i)]);
      holder_of_[order[i]] = true;
    }
    NetworkSpec spec;
    spec.nodes = n;
    spec.m = options_.m;
    spec.max_connections = options_.max_connections;
    spec.settle = options_.settle;
    spec.topology.target_degree = options_.m;
    spec.topology.max_connections = options_.max_connections;
    spec.topology.map_flood_radius = 0;
    const double amount = options_.holder_amount;
    spec.info = [this, amount](uint32_t index, Rng&) {
      NodeInfo info;
      info.node_type = "worker";
      info.cpu_capacity = index < holder_of_.size() && holder_of_[index] ? amount : 0.0;
      return info;
    };
    return spec;
  }

  // Holders are read back from the nodes themselves, not from the draw: that is what their
  // gradients advertise.
  void FindHolders() {
    for (uint32_t i = 0; i < sim_.node_count(); ++i) {
      if (!sim_.alive(i)) continue;
      if (sim_.node(i).info().cpu_capacity >= 1) {
        holders_.push_back(i);
      } else {
        others_.push_back(i);
      }
    }
  }

  void SendQuery(DiscoveryReport& report) {
    RefreshDistances();
    const uint32_t origin = others_[query_rng_.Uniform(others_.size())];
    PublishRequest request;
    request.information_type = kDiscoveryType;
    request.payload = "{\"n\":" + std::to_string(queries_.size()) + "}";
    request.priority = 0.5;
    request.ttl = kTtl;
    request.rules.follow_gradient = true;
    request.rules.resource = ResourceType::kComputationalPower;
    request.rules.amount_min = 1;
    Query q;
    q.origin = origin;
    q.nearest_hops = nearest_[origin];
    ++sent_;
    Result<std::vector<PacketId>> ids = sim_.Publish(origin, std::move(request));
    if (!ids.ok()) {
      ++report.refused[ids.error().message];
    } else {
      for (const PacketId& id : *ids) index_.emplace(id, static_cast<uint32_t>(queries_.size()));
    }
    queries_.push_back(q);
  }

  void OnAnswered(uint32_t node, const DiscoveryAnswered& answered) {
    const auto it = index_.find(answered.id);
    if (it == index_.end()) return;
    Query& q = queries_[it->second];
    // The first answer counts; a query is answered once (the engine forgets it after that).
    if (q.answered || node != q.origin) return;
    q.answered = true;
    q.hops = answered.hops;
  }

  void RefreshDistances() {
    if (!nearest_.empty() && sim_.now() - snapshot_at_ < kSnapshotMaxAge) return;
    nearest_ = DistanceToNearest(sim_.ActiveGraph(), holders_);
    snapshot_at_ = sim_.now();
  }

  void AdvanceTo(TimePoint until) {
    while (sim_.now() < until && !sim_.budget_exhausted()) {
      sim_.RunUntil(std::min(until, sim_.now() + kSlice));
      Report();
    }
  }

  void Summarize(DiscoveryReport& r) const {
    r.nodes = sim_.node_count();
    r.holders = static_cast<uint32_t>(holders_.size());
    r.queries = queries_.size();
    uint64_t refused = 0;
    for (const auto& [cause, count] : r.refused) refused += count;
    std::vector<double> ratios;
    double hops_sum = 0;
    double nearest_sum = 0;
    for (const Query& q : queries_) {
      if (q.nearest_hops == UINT32_MAX) ++r.unreachable;
      if (!q.answered) continue;
      ++r.answered;
      if (r.hops_histogram.size() <= q.hops) r.hops_histogram.resize(q.hops + 1, 0);
      ++r.hops_histogram[q.hops];
      if (q.nearest_hops == UINT32_MAX || q.nearest_hops == 0) continue;
      ratios.push_back(static_cast<double>(q.hops) / static_cast<double>(q.nearest_hops));
      hops_sum += q.hops;
      nearest_sum += q.nearest_hops;
    }
    r.unanswered = r.queries - r.answered - refused;
    r.answered_ratio = r.queries > 0 ? static_cast<double>(r.answered) / r.queries : 0.0;
    r.compared = ratios.size();
    std::sort(ratios.begin(), ratios.end());
    r.ratio_median = NearestRank(ratios, 0.5);
    r.ratio_p90 = NearestRank(ratios, 0.9);
    r.ratio_max = ratios.empty() ? 0.0 : ratios.back();
    if (!ratios.empty()) {
      const double n = static_cast<double>(ratios.size());
      r.within_1_5_share = static_cast<double>(std::upper_bound(ratios.begin(), ratios.end(), 1.5) -
                                               ratios.begin()) /
                           n;
      r.exact_share = static_cast<double>(std::upper_bound(ratios.begin(), ratios.end(), 1.0) -
                                          ratios.begin()) /
                      n;
      r.hops_mean = hops_sum / n;
      r.nearest_mean = nearest_sum / n;
    }
    const SimCounters& c = sim_.counters();
    r.events = c.events;
    r.messages = c.messages;
    r.message_bytes = c.message_bytes;
    r.virtual_time_s = sim_.now().seconds();
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
    progress_(DiscoveryProgress{.phase = phase_,
                                .nodes_added = nodes_added_,
                                .sent = sent_,
                                .virtual_time_s = sim_.now().seconds(),
                                .events = sim_.counters().events});
  }

  const DiscoveryOptions& options_;
  const DiscoveryProgressFn& progress_;
  Simulator sim_;
  Rng query_rng_;
  std::vector<bool> holder_of_;  // by build index, as drawn
  std::vector<uint32_t> holders_;
  std::vector<uint32_t> others_;
  std::vector<Query> queries_;
  std::unordered_map<PacketId, uint32_t, PacketIdHash> index_;  // lookups only, never iterated
  std::vector<uint32_t> nearest_;
  TimePoint snapshot_at_;
  const char* phase_ = "";
  uint32_t nodes_added_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace

uint32_t DiscoveryOptions::HolderCount() const {
  const auto count = static_cast<uint32_t>(std::llround(holders_fraction * nodes));
  return std::clamp<uint32_t>(count, 1, nodes - 1);
}

Status DiscoveryOptions::Validate() const {
  auto invalid = [](std::string message) {
    return Status(MakeError(ErrorCode::kInvalidArgument, std::move(message)));
  };
  if (nodes < 2 || nodes > kNodesMax) {
    return invalid("--nodes must be between 2 and " + std::to_string(kNodesMax) + ", got " +
                   std::to_string(nodes));
  }
  if (queries < 1 || queries > kQueriesMax) {
    return invalid("--queries must be between 1 and " + std::to_string(kQueriesMax) + ", got " +
                   std::to_string(queries));
  }
  if (!std::isfinite(holders_fraction) || holders_fraction <= 0 || holders_fraction >= 1) {
    return invalid("--holders must be a number in (0, 1), got " + ShortNumber(holders_fraction));
  }
  if (!std::isfinite(holder_amount) || holder_amount < 1) {
    return invalid("holder amount must be at least 1 (the queries ask for 1), got " +
                   ShortNumber(holder_amount));
  }
  if (!std::isfinite(rate_per_s) || rate_per_s <= 0 || rate_per_s > kRateMaxPerS) {
    return invalid("--rate must be a number of queries per virtual second in (0, 1e6], got " +
                   ShortNumber(rate_per_s));
  }
  if (static_cast<double>(queries) / rate_per_s > kQuerySpanMaxS) {
    return invalid("--rate " + ShortNumber(rate_per_s) + " is too low for " +
                   std::to_string(queries) + " queries: they would span more than " +
                   ShortNumber(kQuerySpanMaxS) + " virtual seconds");
  }
  if (max_connections < 1 || max_connections > kMaxConnectionsMax) {
    return invalid("--max-connections must be between 1 and " + std::to_string(kMaxConnectionsMax) +
                   ", got " + std::to_string(max_connections));
  }
  if (m < 1 || m > max_connections) {
    return invalid("--m must be between 1 and --max-connections (" +
                   std::to_string(max_connections) + "), got " + std::to_string(m));
  }
  for (const Duration d : {settle, converge, answer_wait}) {
    if (d < Duration{} || d > Seconds(100'000)) {
      return invalid("settle, converge and answer times must be between 0 and 100000 s");
    }
  }
  return Status::Ok();
}

std::vector<uint32_t> DistanceToNearest(const Graph& graph, const std::vector<uint32_t>& sources,
                                        const std::vector<bool>& alive) {
  const uint32_t n = graph.vertex_count();
  assert(alive.empty() || alive.size() == n);
  auto usable = [&](uint32_t v) { return alive.empty() || alive[v]; };
  std::vector<uint32_t> distance(n, UINT32_MAX);
  std::vector<uint32_t> queue;
  queue.reserve(n);
  for (const uint32_t s : sources) {
    assert(s < n);
    if (!usable(s) || distance[s] == 0) continue;
    distance[s] = 0;
    queue.push_back(s);
  }
  // Every source starts at depth 0, so the first visit of a vertex is from its nearest source.
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint32_t v = queue[head];
    for (const uint32_t u : graph.neighbours(v)) {
      if (distance[u] != UINT32_MAX || !usable(u)) continue;
      distance[u] = distance[v] + 1;
      queue.push_back(u);
    }
  }
  return distance;
}

Result<DiscoveryReport> RunDiscovery(const DiscoveryOptions& options,
                                     const DiscoveryProgressFn& progress) {
  if (Status valid = options.Validate(); !valid.ok()) return valid.error();
  // The run holds the whole simulator: keep it off the stack.
  auto run = std::make_unique<DiscoveryRun>(options, progress);
  return run->Run();
}

}  // namespace myco
