// LinkModel: what the simulated network does to a message between two nodes — how long it
// takes (path latency, serialisation at the link's bandwidth, retransmissions after loss) and
// whether it gets through at all (partitions).
//
// Guarantees: every answer is a pure function of the SimConfig, the arguments and, for loss, the
// Rng passed in. A pair of nodes always sees the same one-way latency, however often it
// reconnects, because the latency is a hash of (seed, pair) rather than a draw from a stream:
// the same two hosts keep the same route, and a FIN sent before a new SYN on that route still
// arrives first.
// REQUIRES: external synchronization.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "myco/rng.hpp"
#include "myco/time.hpp"

namespace myco {

struct SimConfig;

class LinkModel {
 public:
  explicit LinkModel(const SimConfig& config);

  // One-way latency between nodes a and b, in [min, max] of the intra- or inter-region range.
  Duration Latency(uint32_t a, uint32_t b, bool same_region) const;

  // Time to put `bytes` on the wire at the link's bandwidth.
  Duration Serialisation(uint32_t bytes) const {
    return Nanoseconds(static_cast<int64_t>(static_cast<double>(bytes) * ns_per_byte_ + 0.5));
  }

  // Extra delay of a message under loss: TCP shows a lost segment as one retransmission timeout
  // of delay, and a retransmission may be lost again. Draws nothing when loss is 0, so a lossless
  // run leaves the Rng untouched.
  Duration LossDelay(Rng& rng) const {
    Duration delay;
    if (loss_ <= 0) return delay;
    // loss < 1 (asserted at construction) ends this loop with probability 1; the cap bounds it
    // anyway, at the point where TCP would have given the connection up.
    for (uint32_t attempt = 0; attempt < kRetransmissionsMax && rng.Bernoulli(loss_); ++attempt) {
      delay += retransmission_timeout_;
    }
    return delay;
  }

  Duration connect_timeout() const { return connect_timeout_; }

  // group[i] is node i's group; nodes past the end of `group` are in group 0.
  void SetPartition(std::vector<uint32_t> group) { group_ = std::move(group); }
  void HealPartition() { group_.clear(); }
  bool partitioned() const { return !group_.empty(); }
  // False while a partition separates a and b.
  bool Reachable(uint32_t a, uint32_t b) const {
    return group_.empty() || GroupOf(a) == GroupOf(b);
  }

 private:
  // Linux gives up on a connection after 15 retransmissions (tcp_retries2).
  static constexpr uint32_t kRetransmissionsMax = 15;

  uint32_t GroupOf(uint32_t node) const { return node < group_.size() ? group_[node] : 0; }

  uint64_t latency_salt_;
  Duration intra_min_, intra_max_, inter_min_, inter_max_;
  double ns_per_byte_;
  double loss_;
  Duration retransmission_timeout_;
  Duration connect_timeout_;
  std::vector<uint32_t> group_;  // empty: no partition
};

}  // namespace myco
