// Injected time. The core never reads a clock: drivers pass `TimePoint now` in.
// Both types are integer nanoseconds, so arithmetic is exact and identical everywhere.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace myco {

struct Duration {
  int64_t ns = 0;

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return {ns + o.ns}; }
  constexpr Duration operator-(Duration o) const { return {ns - o.ns}; }
  constexpr Duration operator*(int64_t k) const { return {ns * k}; }
  constexpr Duration operator/(int64_t k) const { return {ns / k}; }
  constexpr Duration& operator+=(Duration o) {
    ns += o.ns;
    return *this;
  }
  constexpr double seconds() const { return static_cast<double>(ns) / 1e9; }
  constexpr double ms() const { return static_cast<double>(ns) / 1e6; }
  constexpr int64_t us() const { return ns / 1000; }
};

constexpr Duration Nanoseconds(int64_t v) { return {v}; }
constexpr Duration Microseconds(int64_t v) { return {v * 1000}; }
constexpr Duration Milliseconds(int64_t v) { return {v * 1000 * 1000}; }
constexpr Duration Seconds(int64_t v) { return {v * 1000 * 1000 * 1000}; }

// A point on the driver's timeline: virtual time in the simulator, a monotonic clock in the daemon.
struct TimePoint {
  int64_t ns = 0;

  constexpr auto operator<=>(const TimePoint&) const = default;
  constexpr TimePoint operator+(Duration d) const { return {ns + d.ns}; }
  constexpr TimePoint operator-(Duration d) const { return {ns - d.ns}; }
  constexpr Duration operator-(TimePoint o) const { return {ns - o.ns}; }
  constexpr TimePoint& operator+=(Duration d) {
    ns += d.ns;
    return *this;
  }
  constexpr double seconds() const { return static_cast<double>(ns) / 1e9; }

  static constexpr TimePoint Max() { return {std::numeric_limits<int64_t>::max()}; }
};

}  // namespace myco
