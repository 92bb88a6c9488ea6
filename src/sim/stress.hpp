// Stress scenario (ORIGINAL_DESIGN.md's stress_test_network, MISSION.md §7): a network under
// node failures and doubled load, run through the real protocol. Every node is a full Node core
// in the Simulator; the network is grown by BuildNetwork (sim/network_builder.hpp), so every link
// and every topology map was made by the protocol itself.
//
// The process (docs/SIMULATION.md has the long form):
//  1. Build a settled network of `nodes` nodes.
//  2. Baseline: K/2 messages at `rate_per_s` (the load L), a mix of broadcasts (share
//     `broadcast_share`) and targeted messages from random live nodes to random live nodes.
//     Then drain: wait until every targeted message of the phase is acknowledged or failed.
//  3. Crash round(failure_rate × nodes) random nodes at once (host crashes: no FIN).
//  4. Stress: 2L for the baseline's duration (so K messages), the same mix, starting at the
//     crash. Meanwhile, once per heartbeat period from the crash, a recovery check: do the live
//     nodes form one component of the active graph, and if so a probe broadcast is sent; the
//     network has recovered when a probe reaches every live node.
//  5. Drain as in 2, and keep checking until recovered or `recovery_limit` after the crash.
// With `targeted_only` there is no baseline and no broadcast: the crash comes first and the K
// targeted messages go out at `rate_per_s` right after it, so the early ones meet routes through
// crashed nodes and must be retried on alternative paths (the reliability measurement).
//
// Guarantee: the report is a function of the options alone, bit for bit (all draws come from
// seeded streams; wall-clock time appears nowhere in it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metrics/graph.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

struct StressOptions {
  // Targeted routing needs every node in every node's topology map, which holds at most
  // map_entries_max (4096) entries and costs O(N^2) memory across the network.
  static constexpr uint32_t kNodesMax = 4096;
  static constexpr uint64_t kMessagesMax = 10'000'000;
  static constexpr double kRateMaxPerS = 1e6;
  // Longest virtual time a phase's sending may span; keeps every TimePoint far from overflow.
  static constexpr double kPhaseMaxS = 1e6;
  static constexpr uint32_t kMaxConnectionsMax = 100'000;
  static constexpr uint32_t kRetriesMax = 16;  // ack waits double per retry: 2^16 ack_timeouts
  // The default load spreads the baseline (or the targeted-only run) over this virtual time.
  static constexpr Duration kDefaultPhase = Seconds(10);

  uint32_t nodes = 100;
  double failure_rate = 0.1;  // share of nodes crashed at once, in [0, 1)
  uint64_t seed = 1;
  uint64_t messages = 0;  // K; 0 means 10 × nodes
  // Baseline load L in messages per virtual second (targeted-only: the rate of the K messages).
  // 0 means the phase spans kDefaultPhase.
  double rate_per_s = 0;
  double broadcast_share = 0.2;  // share of broadcasts in the mix (0 with targeted_only)
  bool targeted_only = false;
  uint32_t m = 3;
  uint32_t max_connections = 100;
  uint32_t map_flood_radius = 16;     // TopologyConfig default: the whole map up to ~4000 nodes
  Duration ack_timeout = Seconds(2);  // PropagationConfig::ack_timeout
  uint32_t retries_max = 3;           // PropagationConfig::retries_max
  // After the crash, recovery checks stop here; a network not recovered by then reports none.
  Duration recovery_limit = Seconds(120);
  Duration settle = Seconds(10);  // BuildNetwork's settle time

  uint64_t EffectiveMessages() const { return messages > 0 ? messages : uint64_t{10} * nodes; }
  // Messages of the baseline (K/2) and of the stress phase (K).
  uint64_t BaselineMessages() const { return targeted_only ? 0 : EffectiveMessages() / 2; }
  uint64_t StressMessages() const { return EffectiveMessages(); }
  // The load L actually used (resolves the 0 default).
  double EffectiveRate() const;
  uint32_t CrashCount() const;
  // Messages name the command-line flag of the bad option, since that is what users typed.
  Status Validate() const;
  bool operator==(const StressOptions&) const = default;
};

struct LatencySummary {
  uint64_t samples = 0;
  double p50_ms = 0;  // nearest-rank percentiles; 0 without samples
  double p99_ms = 0;
  double max_ms = 0;
  bool operator==(const LatencySummary&) const = default;
};

struct PhaseReport {
  std::string name;  // "baseline" or "stress"
  double start_s = 0;
  double duration_s = 0;  // of the sending, not the drain
  double rate_per_s = 0;
  uint64_t messages = 0;

  // ---- targeted, to live destinations ----
  uint64_t targeted = 0;          // attempted: Publish called
  uint64_t targeted_refused = 0;  // Publish failed (no route in the map at send time)
  uint64_t targeted_acked = 0;
  uint64_t targeted_failed = 0;      // DeliveryFailed after every retry
  uint64_t targeted_unresolved = 0;  // neither by the end of the drain (should be 0)
  uint64_t targeted_delivered = 0;   // reached the destination's application, acked or not
  double ack_ratio = 0;              // acked / attempted
  // acked_by_retries[r]: messages acknowledged after r retries (r = 0 .. retries_max).
  std::vector<uint64_t> acked_by_retries;
  uint64_t retries = 0;  // re-sends: those of acked messages plus retries_max per failed one
  uint64_t alternative_path_acks = 0;  // acked over a path other than the first choice
  double alternative_path_share = 0;   // of the acked ones
  double retries_per_message = 0;      // retries / (acked + failed)
  // Why messages were not acknowledged, node ids left out so equal causes group: count per cause.
  std::map<std::string, uint64_t> failures;
  LatencySummary targeted_latency;  // publish → delivery at the destination
  LatencySummary ack_round_trip;    // publish → ack back at the origin (DeliveryAcked)

  // ---- broadcasts, over the live nodes ----
  uint64_t broadcasts = 0;
  uint64_t broadcasts_refused = 0;
  uint64_t broadcast_expected = 0;  // live nodes other than the origin, summed over broadcasts
  uint64_t broadcast_delivered = 0;
  double delivery_ratio = 0;         // delivered / expected
  LatencySummary broadcast_latency;  // publish → delivery, per receiving node

  // Per message: a targeted one counts 1 when acked, a broadcast counts its delivery ratio.
  double fulfillment = 0;

  bool operator==(const PhaseReport&) const = default;
};

// Relative change from the baseline to the stress phase: drops are (base − stress) / base,
// rises are (stress − base) / base. 0 where the baseline value is 0.
struct Degradation {
  double fulfillment_drop = 0;
  double targeted_ack_drop = 0;
  double broadcast_delivery_drop = 0;
  double targeted_latency_p50_rise = 0;
  double targeted_latency_p99_rise = 0;
  double broadcast_latency_p50_rise = 0;
  double broadcast_latency_p99_rise = 0;

  bool operator==(const Degradation&) const = default;
};

struct RecoveryReport {
  // Right after the crash, before anyone noticed: components of the live nodes.
  uint32_t components_at_crash = 0;
  uint32_t largest_component_at_crash = 0;
  // Seconds from the crash; nullopt when it did not happen within recovery_limit.
  std::optional<double> connected_s;          // first check with one live component
  std::optional<double> failures_detected_s;  // first check with no crashed node in a live view
  std::optional<double> recovery_time_s;      // a probe broadcast reached every live node
  uint32_t checks = 0;
  uint32_t probes = 0;

  bool operator==(const RecoveryReport&) const = default;
};

struct StressTotals {
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t message_bytes = 0;
  double build_virtual_s = 0;  // virtual time the network build took
  double virtual_time_s = 0;

  bool operator==(const StressTotals&) const = default;
};

struct StressReport {
  StressOptions options;  // as given, with messages and rate resolved
  uint32_t nodes = 0;
  uint32_t crashed = 0;
  uint32_t live = 0;
  double crash_at_s = 0;
  std::optional<PhaseReport> baseline;  // absent with targeted_only
  PhaseReport stress;
  std::optional<Degradation> degradation;  // with a baseline only
  RecoveryReport recovery;
  StressTotals totals;
  // The active graph of the live nodes at the end of the run (crashed nodes left out), vertex v
  // named names[v] ("seed-<i>" or "node-<index>"); for `--export`.
  Graph graph;
  std::vector<std::string> names;

  bool operator==(const StressReport&) const = default;
};

// Passed to the progress callback at least every 100 ms of virtual time.
struct StressProgress {
  const char* phase = "";  // "building", "baseline", "stress", "draining"
  uint32_t nodes_added = 0;
  uint64_t sent = 0;  // messages sent in the current phase
  double virtual_time_s = 0;
  uint64_t events = 0;
};
using StressProgressFn = std::function<void(const StressProgress&)>;

// Runs the scenario. Fails on invalid options (kInvalidArgument), on a network that could not be
// built, and when the simulator's event budget runs out.
Result<StressReport> RunStress(const StressOptions& options, const StressProgressFn& progress = {});

}  // namespace myco
