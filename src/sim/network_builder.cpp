#include "sim/network_builder.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/topology/membership.hpp"
#include "metrics/graph.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

// Own streams, so the join choices and the infos never shift the simulator's streams (which it
// derives from its SimConfig seed) nor each other.
constexpr uint64_t kJoinStreamTag = 0x62756a6f696e;  // "bujoin"
constexpr uint64_t kInfoStreamTag = 0x6275696e666f;  // "buinfo"

uint64_t StreamSeed(uint64_t seed, uint64_t tag) {
  // splitmix64 finaliser: nearby seeds give unrelated streams.
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

class Builder {
 public:
  Builder(Simulator& sim, const NetworkSpec& spec, uint64_t seed,
          const std::function<void(uint32_t)>& progress)
      : sim_(sim),
        spec_(spec),
        progress_(progress),
        topology_(spec.EffectiveTopology()),
        join_rng_(StreamSeed(seed, kJoinStreamTag)),
        info_rng_(StreamSeed(seed, kInfoStreamTag)),
        // Validate bounds the rate to (0, 1e9], so the gap is at least 1 ns.
        gap_(Nanoseconds(std::max<int64_t>(1, std::llround(1e9 / spec.join_rate_per_s)))) {}

  Status Run() {
    const uint32_t seeds = std::min(spec_.nodes, NetworkSpec::kSeedNodes);
    const TimePoint start = sim_.now();
    for (uint32_t i = 0; i < seeds; ++i) {
      sim_.RunUntil(start + gap_ * i);
      // Seeds start within milliseconds of each other, before any has joined; joining through
      // a seed that is itself mid-join would only form an island with it.
      std::vector<uint32_t> bootstrap;
      if (i > 0) bootstrap.push_back(0);
      Add("seed-" + std::to_string(i), bootstrap);
    }
    sim_.RunUntil(sim_.now() + NetworkSpec::kSeedSettle);
    const TimePoint grow_start = sim_.now();
    for (uint32_t k = 0; seeds + k < spec_.nodes && !sim_.budget_exhausted(); ++k) {
      sim_.RunUntil(grow_start + gap_ * k);
      const uint32_t index = sim_.node_count();
      Add("node-" + std::to_string(index), {PickEstablishedNode()});
    }
    sim_.RunUntil(sim_.now() + spec_.settle);
    if (sim_.budget_exhausted()) {
      return MakeError(ErrorCode::kTooLarge,
                       "the simulator stopped after " + std::to_string(sim_.counters().events) +
                           " events (its events_max budget) while building the network");
    }
    return CheckConnected();
  }

 private:
  void Add(const std::string& name, const std::vector<uint32_t>& bootstrap) {
    Simulator::NodeSpec node;
    node.name = name;
    node.options.topology = topology_;
    node.options.propagation = spec_.propagation;
    if (spec_.info) node.info = spec_.info(sim_.node_count(), info_rng_);
    sim_.AddNode(std::move(node), bootstrap);
    if (progress_) progress_(sim_.node_count());
  }

  // A newcomer is given an established node (live, with at least one link), as an operator
  // would hand out; a bounded number of draws, then a scan.
  uint32_t PickEstablishedNode() {
    const uint32_t count = sim_.node_count();
    assert(count > 0);
    constexpr int kDrawsMax = 64;
    for (int draw = 0; draw < kDrawsMax; ++draw) {
      const auto candidate = static_cast<uint32_t>(join_rng_.Uniform(count));
      if (sim_.alive(candidate) && sim_.node(candidate).membership().ActiveCount() > 0) {
        return candidate;
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      if (sim_.alive(i)) return i;
    }
    assert(false && "BuildNetwork: no live node to bootstrap through");
    return 0;
  }

  Status CheckConnected() const {
    const Graph graph = sim_.ActiveGraph();
    std::vector<bool> alive(sim_.node_count());
    for (uint32_t i = 0; i < sim_.node_count(); ++i) alive[i] = sim_.alive(i);
    const Components components = ConnectedComponents(graph, alive);
    if (components.count <= 1) return Status::Ok();
    const uint32_t largest = *std::max_element(components.sizes.begin(), components.sizes.end());
    return MakeError(
        ErrorCode::kUnavailable,
        "the grown network is not connected after settling: " + std::to_string(components.count) +
            " components, the largest has " + std::to_string(largest) + " of " +
            std::to_string(sim_.node_count()) + " nodes");
  }

  Simulator& sim_;
  const NetworkSpec& spec_;
  const std::function<void(uint32_t)>& progress_;
  const TopologyConfig topology_;
  Rng join_rng_;
  Rng info_rng_;
  const Duration gap_;
};

}  // namespace

TopologyConfig NetworkSpec::EffectiveTopology() const {
  TopologyConfig config = topology;
  config.target_degree = m;
  config.max_connections = max_connections;
  return config;
}

Status NetworkSpec::Validate() const {
  if (nodes < 1 || nodes > kNodesMax) {
    return Invalid("nodes must be between 1 and " + std::to_string(kNodesMax) + ", got " +
                   std::to_string(nodes));
  }
  if (max_connections < 1 || max_connections > kMaxConnectionsMax) {
    return Invalid("max_connections must be between 1 and " + std::to_string(kMaxConnectionsMax) +
                   ", got " + std::to_string(max_connections));
  }
  if (m < 1 || m > max_connections) {
    return Invalid("m must be between 1 and max_connections (" + std::to_string(max_connections) +
                   "), got " + std::to_string(m));
  }
  if (!std::isfinite(join_rate_per_s) || join_rate_per_s <= 0 ||
      join_rate_per_s > kJoinRateMaxPerS) {
    return Invalid("join rate must be in (0, 1e9] joins per virtual second, got " +
                   ShortNumber(join_rate_per_s));
  }
  if (static_cast<double>(nodes) / join_rate_per_s > kArrivalSpanMaxS) {
    return Invalid("join rate " + ShortNumber(join_rate_per_s) + " is too low for " +
                   std::to_string(nodes) + " arrivals");
  }
  if (settle < Duration{} || settle > Seconds(1'000'000)) {
    return Invalid("settle must be between 0 and 1000000 virtual seconds");
  }
  if (Status s = EffectiveTopology().Validate(); !s.ok()) {
    return Invalid("topology: " + s.error().message);
  }
  if (Status s = propagation.Validate(); !s.ok()) {
    return Invalid("propagation: " + s.error().message);
  }
  return Status::Ok();
}

Status BuildNetwork(Simulator& sim, const NetworkSpec& spec, uint64_t seed,
                    const std::function<void(uint32_t added)>& progress) {
  if (Status valid = spec.Validate(); !valid.ok()) return valid;
  if (sim.node_count() != 0) {
    return Invalid("BuildNetwork needs an empty simulator, this one has " +
                   std::to_string(sim.node_count()) + " nodes");
  }
  Builder builder(sim, spec, seed, progress);
  return builder.Run();
}

}  // namespace myco
