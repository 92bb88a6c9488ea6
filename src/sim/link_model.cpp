#include "sim/link_model.hpp"

#include <algorithm>
#include <cassert>

#include "sim/simulator.hpp"

namespace myco {

LinkModel::LinkModel(const SimConfig& config)
    // A salt drawn from the seed, so two seeds give unrelated latency maps.
    : latency_salt_(Rng(config.seed ^ 0x6c61746e63790000ULL).Next()),
      intra_min_(config.intra_region_latency_min),
      intra_max_(config.intra_region_latency_max),
      inter_min_(config.inter_region_latency_min),
      inter_max_(config.inter_region_latency_max),
      ns_per_byte_(1e9 / config.link_bandwidth_bytes_per_s),
      loss_(config.loss),
      retransmission_timeout_(config.retransmission_timeout),
      connect_timeout_(config.connect_timeout) {
  assert(Duration{} <= intra_min_ && intra_min_ <= intra_max_);
  assert(Duration{} <= inter_min_ && inter_min_ <= inter_max_);
  assert(config.link_bandwidth_bytes_per_s > 0);
  assert(0 <= loss_ && loss_ < 1);
  assert(retransmission_timeout_ > Duration{} && connect_timeout_ > Duration{});
}

Duration LinkModel::Latency(uint32_t a, uint32_t b, bool same_region) const {
  const uint64_t lo = std::min(a, b);
  const uint64_t hi = std::max(a, b);
  // Rng's constructor runs the key through splitmix64, so neighbouring pairs get unrelated draws.
  Rng pair_rng(latency_salt_ ^ ((lo << 32) | hi));
  const Duration min = same_region ? intra_min_ : inter_min_;
  const Duration max = same_region ? intra_max_ : inter_max_;
  const auto span_ns = static_cast<uint64_t>((max - min).ns) + 1;
  const Duration latency = min + Nanoseconds(static_cast<int64_t>(pair_rng.Uniform(span_ns)));
  assert(min <= latency && latency <= max);
  return latency;
}

}  // namespace myco
