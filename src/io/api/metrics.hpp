// GET /metrics: the node's counters in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "myco/time.hpp"

namespace myco {
class NodeHost;
}

namespace myco::api {

// Delivery latency (local delivery time - the origin's created_at) of packets delivered here.
// Fixed buckets, so memory is constant; a negative latency (clocks of different machines
// disagree) is counted in the first bucket and in clock_skewed.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  void Observe(double seconds);
  // Cumulative count of observations <= kBoundsSeconds[i] (i < size), +Inf at index size.
  uint64_t CumulativeCount(size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  uint64_t clock_skewed() const { return clock_skewed_; }

 private:
  std::array<uint64_t, kBoundsSeconds.size() + 1> buckets_{};  // non-cumulative; last is +Inf
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t clock_skewed_ = 0;
};

// What the HTTP server itself counts.
struct ApiCounters {
  uint64_t requests = 0;
  uint64_t responses_4xx = 0;
  uint64_t responses_5xx = 0;
  uint64_t unauthorized = 0;
  uint64_t connections_open = 0;  // gauge
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // above the connection bound
  uint64_t event_streams_open = 0;    // gauge
  uint64_t events_sent = 0;
  uint64_t event_overflows = 0;  // clients cut off for falling behind
};

// The whole /metrics page. `extra` (may be empty) appends its own lines at the end.
std::string RenderMetrics(const NodeHost& host, TimePoint started, const ApiCounters& api,
                          const LatencyHistogram& latency,
                          const std::function<void(std::string&)>& extra);

}  // namespace myco::api
