// Broadcast scenario: how well, how redundantly and how fast network-wide broadcasts spread
// (MISSION.md §3: epidemic spreading, duplicate suppression, priority forwarding), measured on a
// network grown through the real protocol and run through the real propagation engine.
//
// The process (docs/SIMULATION.md has the long form):
//  1. Grow and settle `nodes` nodes (BuildNetwork, sim/network_builder.hpp).
//  2. With failure_rate F > 0, crash round(F × nodes) random nodes at once (host crashes: no FIN).
//  3. Send `messages` broadcasts of 256-byte JSON payloads, one every 1/rate virtual seconds,
//     each from a uniformly random live node, in the chosen mode (Plumtree, flood or gossip).
//  4. Run `quiet` more virtual time, so every graft timer and straggler has played out.
//
// What each broadcast records (from the simulator's hooks, never from inside the cores):
//  - reached: nodes that delivered it, plus its source;
//  - payload messages received with its id (duplicates included), hence the relative message
//    redundancy RMR = payload / (reached − 1) − 1 (0: every node got exactly one copy);
//  - the largest hop count among its deliveries, beside the source's eccentricity in the active
//    graph at send time (the fewest hops that could have reached everybody);
//  - each delivery's latency (virtual time from publish to delivery).
// Control traffic (IHave, Graft, Prune messages; IHave entries) and bytes are counted over the
// whole broadcast phase and reported per broadcast beside RMR, so a low RMR bought with
// announcements shows.
//
// Guarantee: the report is a function of the options alone, bit for bit; wall-clock time
// appears nowhere in it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/propagation/config.hpp"
#include "metrics/graph.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

enum class BroadcastMode : uint8_t { kPlumtree, kFlood, kGossip };
const char* BroadcastModeName(BroadcastMode mode);  // "plumtree", "flood", "gossip"
Result<BroadcastMode> ParseBroadcastMode(const std::string& name);

struct BroadcastOptions {
  // Limits: beyond them a run would not fit on one machine, or the value is a typo.
  static constexpr uint32_t kNodesMax = 1'000'000;
  static constexpr uint32_t kMessagesMax = 10'000'000;
  static constexpr double kRateMaxPerS = 1e6;
  static constexpr double kSendSpanMaxS = 1e6;  // keeps every TimePoint far from overflow
  static constexpr uint32_t kMaxConnectionsMax = 100'000;
  static constexpr uint32_t kPayloadBytes = 256;
  // Heartbeat periods after the crash reported one by one; later broadcasts share a bucket.
  static constexpr uint32_t kFailureBuckets = 10;
  // Priorities of --priority-mix: one broadcast in ten is critical, the rest bulk.
  static constexpr double kHighPriority = 1.0;
  static constexpr double kLowPriority = 0.1;
  static constexpr double kDefaultPriority = 0.5;

  uint32_t nodes = 1000;
  uint32_t messages = 100;  // K
  BroadcastMode mode = BroadcastMode::kPlumtree;
  double failure_rate = 0;  // share of nodes crashed at the start of the broadcasts, [0, 1)
  uint64_t seed = 1;
  double rate_per_s = 100;  // broadcasts per virtual second
  uint32_t ttl = 64;  // the most PropagationConfig allows: tree paths are longer than the diameter
  // Broadcasts excluded from the steady-state figures (the first ones flood while Plumtree's
  // tree forms); -1 means K / 10.
  int64_t warmup = -1;
  double bandwidth_bytes_per_s = 12.5e6;  // per link and direction (100 Mbit/s)
  bool priority_mix = false;
  uint32_t m = 3;
  uint32_t max_connections = 100;
  double join_rate_per_s = 5000;
  Duration settle = Seconds(10);  // BuildNetwork's settle time
  Duration quiet = Seconds(10);   // run after the last broadcast
  // Plumtree and gossip knobs (graft_timeout, ihave_batch_interval,
  // optimization_threshold_hops, gossip_fanout ...); every node runs this config.
  PropagationConfig propagation;

  uint32_t EffectiveWarmup() const;
  uint32_t CrashCount() const;
  // Messages name the command-line flag of the bad option, since that is what users typed.
  Status Validate() const;
};

struct BroadcastRecord {
  uint32_t source = 0;
  int64_t sent_at_ns = 0;  // since the start of the broadcast phase (the crash)
  double priority = 0;
  uint32_t live_nodes = 0;  // at send time
  uint32_t reached = 0;     // deliveries + the source
  uint64_t payload_received = 0;
  uint32_t last_hop = 0;       // largest hop count among the deliveries
  uint32_t eccentricity = 0;   // of the source in the active graph at send time
  uint32_t source_degree = 0;  // in the active graph at send time

  double delivery_ratio() const {
    return live_nodes == 0 ? 0.0 : static_cast<double>(reached) / live_nodes;
  }
  bool operator==(const BroadcastRecord&) const = default;
};

struct LatencyStats {
  uint64_t samples = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  bool operator==(const LatencyStats&) const = default;
};

// Broadcasts sent during heartbeat periods [first_period, last_period] after the crash.
struct FailureBucket {
  uint32_t first_period = 0;
  uint32_t last_period = 0;  // UINT32_MAX: open-ended (the rest of the run)
  uint32_t broadcasts = 0;
  double delivery_ratio_mean = 0;
  double delivery_ratio_min = 0;
  uint32_t complete = 0;  // broadcasts that reached every live node
  bool operator==(const FailureBucket&) const = default;
};

// Messages received by live nodes during the broadcast phase (publish of the first broadcast to
// the end of the quiet time), by kind, with their estimated wire bytes.
struct BroadcastTraffic {
  uint64_t payload_messages = 0;
  uint64_t payload_bytes = 0;
  uint64_t ihave_messages = 0;
  uint64_t ihave_entries = 0;
  uint64_t graft_messages = 0;
  uint64_t prune_messages = 0;
  uint64_t control_bytes = 0;        // IHave + Graft + Prune
  uint64_t membership_messages = 0;  // heartbeats, exchanges, walks, maps: not broadcast cost
  uint64_t membership_bytes = 0;
  bool operator==(const BroadcastTraffic&) const = default;
};

struct BroadcastSummary {
  // Over every broadcast.
  double delivery_ratio_mean = 0;
  double delivery_ratio_min = 0;
  uint32_t complete = 0;  // broadcasts that reached every live node
  // Aggregate RMR: sum of payload / sum of (reached − 1), minus 1.
  double rmr = 0;
  // Over the steady state (broadcasts after the warmup).
  double rmr_steady = 0;
  double delivery_ratio_steady_mean = 0;
  int32_t hop_excess_max = 0;  // last hop − eccentricity
  double hop_excess_mean = 0;
  double last_hop_mean = 0;
  double eccentricity_mean = 0;
  LatencyStats latency;       // every delivery of a steady-state broadcast
  LatencyStats latency_high;  // --priority-mix: priority 1.0 broadcasts only
  LatencyStats latency_low;   // --priority-mix: priority 0.1 broadcasts only
  bool operator==(const BroadcastSummary&) const = default;
};

struct BroadcastTotals {
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t message_bytes = 0;
  uint64_t verifications = 0;     // real signature checks (the memo verifier's misses)
  uint64_t link_queue_drops = 0;  // messages dropped at a full per-link queue, all nodes
  double build_virtual_s = 0;     // virtual time the network took to grow and settle
  double virtual_time_s = 0;
  bool operator==(const BroadcastTotals&) const = default;
};

// The broadcast tree at the end of the run (Plumtree; src/core/propagation/tree_root.hpp), over
// the live nodes and the final active graph.
struct BroadcastTree {
  uint32_t roots = 0;               // distinct roots the live nodes follow (1 once it has settled)
  uint32_t root_followers = 0;      // live nodes following the most followed root
  uint32_t root_eccentricity = 0;   // of that root (0 if it is not a live node)
  uint32_t distance_exact = 0;      // live nodes whose tree distance is their hop distance to it
  uint64_t eager_links = 0;         // links eager at both ends
  uint64_t one_sided_links = 0;     // eager at one end only (a Prune or Graft in flight)
  uint64_t parent_links_eager = 0;  // live nodes whose parent link is eager at both ends
  bool operator==(const BroadcastTree&) const = default;
};

struct BroadcastReport {
  BroadcastOptions options;  // as given, warmup resolved
  uint32_t crashed = 0;
  uint32_t live_nodes = 0;  // after the crash
  uint64_t edges = 0;       // active graph at the start of the broadcasts (after the crash)
  std::vector<BroadcastRecord> records;
  BroadcastSummary summary;
  std::vector<FailureBucket> failure_buckets;  // only with failure_rate > 0
  BroadcastTraffic traffic;
  BroadcastTotals totals;
  BroadcastTree tree;
  // The active graph of the live nodes at the end of the run (crashed nodes left out), vertex v
  // named names[v] ("seed-<i>" or "node-<index>"); for `--export`.
  Graph graph;
  std::vector<std::string> names;
};

enum class BroadcastPhase { kBuilding, kBroadcasting, kQuiet };
const char* BroadcastPhaseName(BroadcastPhase phase);

struct BroadcastProgress {
  BroadcastPhase phase = BroadcastPhase::kBuilding;
  uint32_t done = 0;  // nodes added (building) or broadcasts sent
  uint32_t total = 0;
  double virtual_time_s = 0;
  uint64_t events = 0;
};
using BroadcastProgressFn = std::function<void(const BroadcastProgress&)>;

// Runs the scenario for options.mode. Fails on invalid options (kInvalidArgument), when the grown
// network is not connected, or when the simulator's event budget runs out.
// `progress` may be empty; it is called often (cheap callers only).
Result<BroadcastReport> RunBroadcast(const BroadcastOptions& options,
                                     const BroadcastProgressFn& progress = {});

}  // namespace myco
