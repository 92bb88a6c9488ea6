#include "sim/broadcast_scenario.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/node.hpp"
#include "core/propagation/broadcast.hpp"
#include "core/propagation/link_queue.hpp"
#include "core/propagation/propagation.hpp"
#include "core/propagation/tree_root.hpp"
#include "core/topology/config.hpp"
#include "metrics/graph.hpp"
#include "sim/network_builder.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

// Distinct streams for each kind of draw, so adding a draw of one kind never shifts another, and
// all independent of the simulator's and BuildNetwork's own streams.
constexpr uint64_t kCrashStreamTag = 0x6263726173680000;     // "bcrash"
constexpr uint64_t kSourceStreamTag = 0x62736f7572636500;    // "bsource"
constexpr uint64_t kPriorityStreamTag = 0x627072696f000000;  // "bprio"

// Quiet-time slices: progress is reported at least this often in virtual time.
constexpr Duration kQuietSlice = Milliseconds(100);

uint64_t StreamSeed(uint64_t seed, uint64_t tag) {
  uint64_t z = seed ^ (tag * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string ShortNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

Status Invalid(std::string message) {
  return Status(MakeError(ErrorCode::kInvalidArgument, std::move(message)));
}

PropagationMode ToPropagationMode(BroadcastMode mode) {
  switch (mode) {
    case BroadcastMode::kPlumtree: return PropagationMode::kBroadcast;
    case BroadcastMode::kFlood: return PropagationMode::kFlood;
    case BroadcastMode::kGossip: return PropagationMode::kGossip;
  }
  return PropagationMode::kBroadcast;
}

// A JSON object of exactly kPayloadBytes bytes, distinct per broadcast (so no two bodies are
// alike even from the same source).
std::string Payload(uint32_t index) {
  const std::string head = R"({"broadcast":)" + std::to_string(index) + R"(,"pad":")";
  const std::string tail = R"("})";
  const size_t pad = BroadcastOptions::kPayloadBytes - head.size() - tail.size();
  std::string payload = head + std::string(pad, '.') + tail;
  assert(payload.size() == BroadcastOptions::kPayloadBytes);
  return payload;
}

// Nearest-rank percentiles of latencies in microseconds. Reorders `us`.
LatencyStats Latencies(std::vector<uint32_t>& us) {
  LatencyStats stats;
  stats.samples = us.size();
  if (us.empty()) return stats;
  const auto rank = [&](double p) {
    const auto r = static_cast<size_t>(std::ceil(p * static_cast<double>(us.size())));
    return std::clamp<size_t>(r, 1, us.size()) - 1;
  };
  const size_t p50 = rank(0.50);
  const size_t p99 = rank(0.99);
  std::nth_element(us.begin(), us.begin() + static_cast<ptrdiff_t>(p99), us.end());
  stats.p99_ms = us[p99] / 1e3;
  // Everything left of p99 is <= it, so p50 lies there.
  std::nth_element(us.begin(), us.begin() + static_cast<ptrdiff_t>(p50),
                   us.begin() + static_cast<ptrdiff_t>(p99));
  stats.p50_ms = us[p50] / 1e3;
  stats.max_ms = *std::max_element(us.begin() + static_cast<ptrdiff_t>(p99), us.end()) / 1e3;
  return stats;
}

bool SameGraph(const Graph& a, const Graph& b) {
  if (a.vertex_count() != b.vertex_count() || a.edge_count() != b.edge_count()) return false;
  for (uint32_t v = 0; v < a.vertex_count(); ++v) {
    const auto na = a.neighbours(v);
    const auto nb = b.neighbours(v);
    if (!std::equal(na.begin(), na.end(), nb.begin(), nb.end())) return false;
  }
  return true;
}

class BroadcastRun {
 public:
  BroadcastRun(const BroadcastOptions& options, const BroadcastProgressFn& progress)
      : options_(options),
        progress_(progress),
        sim_(MakeSimConfig(options)),
        heartbeat_(TopologyConfig{}.heartbeat_period),
        warmup_(options.EffectiveWarmup()),
        crash_rng_(StreamSeed(options.seed, kCrashStreamTag)),
        source_rng_(StreamSeed(options.seed, kSourceStreamTag)),
        priority_rng_(StreamSeed(options.seed, kPriorityStreamTag)) {}

  Result<BroadcastReport> Run() {
    BroadcastReport report;
    report.options = options_;
    report.options.warmup = warmup_;
    Status built = BuildNetwork(sim_, MakeNetworkSpec(), options_.seed, [this](uint32_t added) {
      Report(BroadcastPhase::kBuilding, added, options_.nodes);
    });
    if (!built.ok()) return built.error();
    report.totals.build_virtual_s = sim_.now().seconds();

    phase_start_ = sim_.now();
    report.crashed = Crash();
    report.live_nodes = static_cast<uint32_t>(live_.size());
    RefreshGraph();
    report.edges = graph_.edge_count();
    sim_.SetMessageHook([this](uint32_t, uint32_t, TimePoint, const Message& message,
                               uint32_t bytes) { OnMessage(message, bytes); });
    sim_.SetAppEventHook(
        [this](uint32_t, TimePoint at, const AppEvent& event) { OnAppEvent(at, event); });

    if (Status sent = SendAll(); !sent.ok()) return sent.error();
    const TimePoint end = sim_.now() + options_.quiet;
    while (sim_.now() < end && !sim_.budget_exhausted()) {
      sim_.RunUntil(std::min(end, sim_.now() + kQuietSlice));
      Report(BroadcastPhase::kQuiet, options_.messages, options_.messages);
    }
    if (sim_.budget_exhausted()) return BudgetError();
    sim_.SetMessageHook({});
    sim_.SetAppEventHook({});

    report.records = records_;
    report.traffic = traffic_;
    Summarise(report);
    Totals(report);
    Tree(report);
    sim_.LiveTopology(graph_, report.graph, report.names);  // Tree refreshed graph_ to the end
    return report;
  }

 private:
  static SimConfig MakeSimConfig(const BroadcastOptions& o) {
    SimConfig config;
    config.seed = o.seed;
    config.link_bandwidth_bytes_per_s = o.bandwidth_bytes_per_s;
    return config;
  }

  NetworkSpec MakeNetworkSpec() const {
    NetworkSpec spec;
    spec.nodes = options_.nodes;
    spec.m = options_.m;
    spec.max_connections = options_.max_connections;
    spec.join_rate_per_s = options_.join_rate_per_s;
    spec.settle = options_.settle;
    // No topology maps: broadcasts do not route by them, and a full map per node is O(N^2).
    spec.topology.map_flood_radius = 0;
    // Utilisation (connection strength) is measured against the links' real capacity.
    spec.topology.link_bandwidth_bytes_per_s = options_.bandwidth_bytes_per_s;
    spec.propagation = options_.propagation;
    return spec;
  }

  // Crashes CrashCount() distinct random nodes at once; fills live_ (sorted).
  uint32_t Crash() {
    const uint32_t n = sim_.node_count();
    const uint32_t crashes = options_.CrashCount();
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) order[i] = i;
    // Partial Fisher–Yates: the first `crashes` entries are a uniform sample.
    for (uint32_t i = 0; i < crashes; ++i) {
      std::swap(order[i], order[i + crash_rng_.Uniform(n - i)]);
    }
    std::vector<bool> crashed(n, false);
    for (uint32_t i = 0; i < crashes; ++i) crashed[order[i]] = true;
    for (uint32_t v = 0; v < n; ++v) {
      if (crashed[v]) {
        sim_.Crash(v);
      } else {
        live_.push_back(v);
      }
    }
    return crashes;
  }

  Status SendAll() {
    const uint32_t k = options_.messages;
    records_.resize(k);
    sent_at_ns_.resize(k);
    index_.reserve(k);
    const Duration gap = Nanoseconds(std::max<int64_t>(1, std::llround(1e9 / options_.rate_per_s)));
    for (uint32_t i = 0; i < k && !sim_.budget_exhausted(); ++i) {
      sim_.RunUntil(phase_start_ + gap * i);
      RefreshGraph();
      const uint32_t source = live_[source_rng_.Uniform(live_.size())];
      double priority = BroadcastOptions::kDefaultPriority;
      if (options_.priority_mix) {
        priority = priority_rng_.Uniform(10) == 0 ? BroadcastOptions::kHighPriority
                                                  : BroadcastOptions::kLowPriority;
      }
      BroadcastRecord& record = records_[i];
      record.source = source;
      record.sent_at_ns = (sim_.now() - phase_start_).ns;
      record.priority = priority;
      record.live_nodes = static_cast<uint32_t>(live_.size());
      record.reached = 1;
      record.eccentricity = EccentricityOf(source);
      record.source_degree = graph_.degree(source);
      sent_at_ns_[i] = sim_.now().ns;

      PublishRequest request;
      request.information_type = "bulletin";
      request.payload = Payload(i);
      request.priority = priority;
      request.ttl = options_.ttl;
      request.mode = ToPropagationMode(options_.mode);
      Result<std::vector<PacketId>> ids = sim_.Publish(source, std::move(request));
      if (!ids.ok()) return ids.error();
      assert(ids->size() == 1);
      // Nothing arrives anywhere before the simulator runs again, so registering the id after
      // the publish misses no message.
      index_.emplace(ids->front(), i);
      Report(BroadcastPhase::kBroadcasting, i + 1, k);
    }
    if (sim_.budget_exhausted()) return BudgetError();
    return Status::Ok();
  }

  // The active graph changes only through the membership protocol (healing after the crash, the
  // odd redial), so it is re-read at most once per heartbeat period and the eccentricities are
  // recomputed only if it changed.
  void RefreshGraph() {
    if (have_graph_ && sim_.now() - graph_at_ < heartbeat_) return;
    Graph graph = sim_.ActiveGraph();
    if (!have_graph_ || !SameGraph(graph, graph_)) {
      graph_ = std::move(graph);
      eccentricity_.assign(graph_.vertex_count(), UINT32_MAX);
    }
    graph_at_ = sim_.now();
    have_graph_ = true;
  }

  uint32_t EccentricityOf(uint32_t v) {
    if (eccentricity_[v] == UINT32_MAX) eccentricity_[v] = Eccentricity(graph_, v);
    return eccentricity_[v];
  }

  void OnMessage(const Message& message, uint32_t bytes) {
    if (const auto* packet = std::get_if<PacketMsg>(&message)) {
      ++traffic_.payload_messages;
      traffic_.payload_bytes += bytes;
      if (packet->body) {
        if (const auto it = index_.find(packet->body->id); it != index_.end()) {
          ++records_[it->second].payload_received;
        }
      }
    } else if (const auto* ihave = std::get_if<IHave>(&message)) {
      ++traffic_.ihave_messages;
      traffic_.ihave_entries += ihave->entries.size();
      traffic_.control_bytes += bytes;
    } else if (std::holds_alternative<Graft>(message)) {
      ++traffic_.graft_messages;
      traffic_.control_bytes += bytes;
    } else if (std::holds_alternative<Prune>(message)) {
      ++traffic_.prune_messages;
      traffic_.control_bytes += bytes;
    } else {
      ++traffic_.membership_messages;
      traffic_.membership_bytes += bytes;
    }
  }

  void OnAppEvent(TimePoint at, const AppEvent& event) {
    const auto* delivered = std::get_if<InformationDelivered>(&event);
    if (delivered == nullptr) return;
    const auto it = index_.find(delivered->packet->id);
    if (it == index_.end()) return;
    const uint32_t i = it->second;
    BroadcastRecord& record = records_[i];
    ++record.reached;
    record.last_hop = std::max(record.last_hop, delivered->hops);
    if (i < warmup_) return;
    const int64_t latency_us = (at.ns - sent_at_ns_[i]) / 1000;
    const auto us = static_cast<uint32_t>(std::min<int64_t>(latency_us, UINT32_MAX));
    latency_us_.push_back(us);
    if (!options_.priority_mix) return;
    (record.priority == BroadcastOptions::kHighPriority ? latency_high_us_ : latency_low_us_)
        .push_back(us);
  }

  void Summarise(BroadcastReport& report) {
    BroadcastSummary& s = report.summary;
    double ratio_sum = 0;
    double steady_ratio_sum = 0;
    uint64_t payload = 0, reached = 0, steady_payload = 0, steady_reached = 0;
    int64_t excess_sum = 0;
    uint64_t last_hop_sum = 0, eccentricity_sum = 0, excess_count = 0;
    s.delivery_ratio_min = 1;
    s.hop_excess_max = INT32_MIN;
    for (uint32_t i = 0; i < records_.size(); ++i) {
      const BroadcastRecord& r = records_[i];
      const double ratio = r.delivery_ratio();
      ratio_sum += ratio;
      s.delivery_ratio_min = std::min(s.delivery_ratio_min, ratio);
      if (r.reached == r.live_nodes) ++s.complete;
      payload += r.payload_received;
      reached += r.reached - 1;
      if (i < warmup_) continue;
      steady_ratio_sum += ratio;
      steady_payload += r.payload_received;
      steady_reached += r.reached - 1;
      if (r.reached > 1) {
        const int32_t excess =
            static_cast<int32_t>(r.last_hop) - static_cast<int32_t>(r.eccentricity);
        s.hop_excess_max = std::max(s.hop_excess_max, excess);
        excess_sum += excess;
        last_hop_sum += r.last_hop;
        eccentricity_sum += r.eccentricity;
        ++excess_count;
      }
    }
    const auto rmr = [](uint64_t messages, uint64_t receivers) {
      return receivers == 0 ? 0.0 : static_cast<double>(messages) / receivers - 1.0;
    };
    const double count = static_cast<double>(records_.size());
    const double steady_count = static_cast<double>(records_.size() - warmup_);
    s.delivery_ratio_mean = count > 0 ? ratio_sum / count : 0;
    s.rmr = rmr(payload, reached);
    s.rmr_steady = rmr(steady_payload, steady_reached);
    s.delivery_ratio_steady_mean = steady_count > 0 ? steady_ratio_sum / steady_count : 0;
    if (excess_count > 0) {
      const double n = static_cast<double>(excess_count);
      s.hop_excess_mean = static_cast<double>(excess_sum) / n;
      s.last_hop_mean = static_cast<double>(last_hop_sum) / n;
      s.eccentricity_mean = static_cast<double>(eccentricity_sum) / n;
    } else {
      s.hop_excess_max = 0;
    }
    s.latency = Latencies(latency_us_);
    s.latency_high = Latencies(latency_high_us_);
    s.latency_low = Latencies(latency_low_us_);
    if (report.crashed > 0) report.failure_buckets = Buckets();
  }

  std::vector<FailureBucket> Buckets() const {
    constexpr uint32_t kBuckets = BroadcastOptions::kFailureBuckets;
    std::vector<FailureBucket> buckets(kBuckets + 1);
    std::vector<double> ratio_sum(kBuckets + 1, 0);
    for (uint32_t b = 0; b <= kBuckets; ++b) {
      buckets[b].first_period = b;
      buckets[b].last_period = b < kBuckets ? b : UINT32_MAX;
      buckets[b].delivery_ratio_min = 1;
    }
    for (const BroadcastRecord& r : records_) {
      const auto period = static_cast<uint64_t>(r.sent_at_ns / heartbeat_.ns);
      const auto b = static_cast<uint32_t>(std::min<uint64_t>(period, kBuckets));
      const double ratio = r.delivery_ratio();
      ++buckets[b].broadcasts;
      ratio_sum[b] += ratio;
      buckets[b].delivery_ratio_min = std::min(buckets[b].delivery_ratio_min, ratio);
      if (r.reached == r.live_nodes) ++buckets[b].complete;
    }
    for (uint32_t b = 0; b <= kBuckets; ++b) {
      if (buckets[b].broadcasts == 0) {
        buckets[b].delivery_ratio_min = 0;
        continue;
      }
      buckets[b].delivery_ratio_mean = ratio_sum[b] / buckets[b].broadcasts;
    }
    return buckets;
  }

  void Totals(BroadcastReport& report) const {
    const SimCounters& c = sim_.counters();
    BroadcastTotals& t = report.totals;
    t.events = c.events;
    t.messages = c.messages;
    t.message_bytes = c.message_bytes;
    t.verifications = sim_.verifier().counters().misses;
    for (const uint32_t v : live_) {
      t.link_queue_drops += sim_.node(v).link_queues().counters().dropped_full;
    }
    t.virtual_time_s = sim_.now().seconds();
  }

  void Tree(BroadcastReport& report) {
    have_graph_ = false;  // the final graph, whatever the refresh period says
    RefreshGraph();
    BroadcastTree& t = report.tree;
    std::map<NodeId, uint32_t> followers;
    for (const uint32_t v : live_) ++followers[sim_.node(v).propagation().tree().beacon().root];
    t.roots = static_cast<uint32_t>(followers.size());
    NodeId root;
    for (const auto& [id, count] : followers) {
      if (count > t.root_followers) {
        root = id;
        t.root_followers = count;
      }
    }
    uint32_t root_v = UINT32_MAX;
    for (const uint32_t v : live_) {
      if (sim_.node(v).id() == root) root_v = v;
    }
    std::vector<uint32_t> dist(graph_.vertex_count(), UINT32_MAX);
    if (root_v != UINT32_MAX) {
      t.root_eccentricity = Eccentricity(graph_, root_v);
      std::deque<uint32_t> queue{root_v};
      dist[root_v] = 0;
      while (!queue.empty()) {
        const uint32_t x = queue.front();
        queue.pop_front();
        for (const uint32_t y : graph_.neighbours(x)) {
          if (dist[y] == UINT32_MAX) {
            dist[y] = dist[x] + 1;
            queue.push_back(y);
          }
        }
      }
    }
    for (const uint32_t v : live_) {
      const Node& node = sim_.node(v);
      if (node.propagation().tree().beacon().root == root &&
          node.propagation().tree().beacon().dist == dist[v]) {
        ++t.distance_exact;
      }
      const NodeId& parent = node.propagation().tree().parent();
      for (const uint32_t u : graph_.neighbours(v)) {
        const Node& other = sim_.node(u);
        const bool here = node.propagation().broadcast().IsEager(other.id());
        const bool there = other.propagation().broadcast().IsEager(node.id());
        if (u > v) {
          if (here && there) {
            ++t.eager_links;
          } else if (here || there) {
            ++t.one_sided_links;
          }
        }
        if (other.id() == parent && here && there) ++t.parent_links_eager;
      }
    }
  }

  Error BudgetError() const {
    return MakeError(ErrorCode::kTooLarge, "the simulator stopped after " +
                                               std::to_string(sim_.counters().events) +
                                               " events (its events_max budget) at virtual time " +
                                               std::to_string(sim_.now().seconds()) + " s; seed " +
                                               std::to_string(options_.seed));
  }

  void Report(BroadcastPhase phase, uint32_t done, uint32_t total) const {
    if (!progress_) return;
    progress_(BroadcastProgress{.phase = phase,
                                .done = done,
                                .total = total,
                                .virtual_time_s = sim_.now().seconds(),
                                .events = sim_.counters().events});
  }

  const BroadcastOptions& options_;
  const BroadcastProgressFn& progress_;
  Simulator sim_;
  const Duration heartbeat_;
  const uint32_t warmup_;
  Rng crash_rng_;
  Rng source_rng_;
  Rng priority_rng_;

  TimePoint phase_start_;
  std::vector<uint32_t> live_;
  std::vector<BroadcastRecord> records_;
  std::vector<int64_t> sent_at_ns_;  // absolute virtual time of each publish
  std::unordered_map<PacketId, uint32_t, PacketIdHash> index_;  // packet id -> broadcast
  BroadcastTraffic traffic_;
  // Latencies of steady-state deliveries in microseconds (4 bytes each: 10 M deliveries of a
  // 10k-node run take 40 MB).
  std::vector<uint32_t> latency_us_;
  std::vector<uint32_t> latency_high_us_;
  std::vector<uint32_t> latency_low_us_;

  bool have_graph_ = false;
  Graph graph_;
  TimePoint graph_at_;
  std::vector<uint32_t> eccentricity_;  // per vertex of graph_, UINT32_MAX until computed
};

}  // namespace

const char* BroadcastModeName(BroadcastMode mode) {
  switch (mode) {
    case BroadcastMode::kPlumtree: return "plumtree";
    case BroadcastMode::kFlood: return "flood";
    case BroadcastMode::kGossip: return "gossip";
  }
  return "?";
}

Result<BroadcastMode> ParseBroadcastMode(const std::string& name) {
  for (const BroadcastMode mode :
       {BroadcastMode::kPlumtree, BroadcastMode::kFlood, BroadcastMode::kGossip}) {
    if (name == BroadcastModeName(mode)) return mode;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "--mode must be plumtree, flood, gossip or all, got '" + name + "'");
}

const char* BroadcastPhaseName(BroadcastPhase phase) {
  switch (phase) {
    case BroadcastPhase::kBuilding: return "building";
    case BroadcastPhase::kBroadcasting: return "broadcasting";
    case BroadcastPhase::kQuiet: return "quiet";
  }
  return "?";
}

uint32_t BroadcastOptions::EffectiveWarmup() const {
  return warmup >= 0 ? static_cast<uint32_t>(warmup) : messages / 10;
}

uint32_t BroadcastOptions::CrashCount() const {
  return static_cast<uint32_t>(std::llround(failure_rate * nodes));
}

Status BroadcastOptions::Validate() const {
  const auto range = [](const char* flag, uint64_t value, uint64_t min, uint64_t max) {
    return std::string(flag) + " must be between " + std::to_string(min) + " and " +
           std::to_string(max) + ", got " + std::to_string(value);
  };
  if (nodes < 2 || nodes > kNodesMax) return Invalid(range("--nodes", nodes, 2, kNodesMax));
  if (messages < 1 || messages > kMessagesMax) {
    return Invalid(range("--messages", messages, 1, kMessagesMax));
  }
  if (!std::isfinite(failure_rate) || failure_rate < 0 || failure_rate >= 1) {
    return Invalid("--failure-rate must be in [0, 1), got " + ShortNumber(failure_rate));
  }
  if (nodes - CrashCount() < 2) {
    return Invalid("--failure-rate " + ShortNumber(failure_rate) +
                   " leaves fewer than 2 live nodes of " + std::to_string(nodes));
  }
  if (!std::isfinite(rate_per_s) || rate_per_s <= 0 || rate_per_s > kRateMaxPerS) {
    return Invalid("--rate must be a number of broadcasts per virtual second in (0, 1e6], got " +
                   ShortNumber(rate_per_s));
  }
  if (static_cast<double>(messages) / rate_per_s > kSendSpanMaxS) {
    return Invalid("--rate " + ShortNumber(rate_per_s) + " is too low for " +
                   std::to_string(messages) +
                   " broadcasts: they would span more than 1e6 "
                   "virtual seconds");
  }
  if (ttl < 1 || ttl > propagation.ttl_max) {
    return Invalid(range("--ttl", ttl, 1, propagation.ttl_max));
  }
  if (warmup < -1 || warmup >= static_cast<int64_t>(messages)) {
    return Invalid("--warmup must be between 0 and --messages - 1 (" +
                   std::to_string(messages - 1) + "), got " + std::to_string(warmup));
  }
  if (!std::isfinite(bandwidth_bytes_per_s) || bandwidth_bytes_per_s < 1000 ||
      bandwidth_bytes_per_s > 1e12) {
    return Invalid("--bandwidth must be in [1000, 1e12] bytes per second, got " +
                   ShortNumber(bandwidth_bytes_per_s));
  }
  if (max_connections < 1 || max_connections > kMaxConnectionsMax) {
    return Invalid(range("--max-connections", max_connections, 1, kMaxConnectionsMax));
  }
  if (m < 1 || m > max_connections) {
    return Invalid("--m must be between 1 and --max-connections (" +
                   std::to_string(max_connections) + "), got " + std::to_string(m));
  }
  if (quiet < Duration{} || quiet > Seconds(1'000'000)) {
    return Invalid("quiet must be between 0 and 1000000 virtual seconds");
  }
  if (Status s = propagation.Validate(); !s.ok()) {
    return Invalid("propagation: " + s.error().message);
  }
  // The rest (join rate, settle, topology) is BuildNetwork's to check.
  NetworkSpec spec;
  spec.nodes = nodes;
  spec.m = m;
  spec.max_connections = max_connections;
  spec.join_rate_per_s = join_rate_per_s;
  spec.settle = settle;
  return spec.Validate();
}

Result<BroadcastReport> RunBroadcast(const BroadcastOptions& options,
                                     const BroadcastProgressFn& progress) {
  if (Status valid = options.Validate(); !valid.ok()) return valid.error();
  BroadcastRun run(options, progress);
  return run.Run();
}

}  // namespace myco
