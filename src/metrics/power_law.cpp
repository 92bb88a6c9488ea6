#include "metrics/power_law.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>
#include <vector>

namespace myco {

namespace {

// Search interval for alpha. Below ~1.01 zeta(alpha, xmin) diverges; degree exponents above 6
// are not a heavy tail in any sense that matters to us.
constexpr double kAlphaMin = 1.01;
constexpr double kAlphaMax = 6.0;
// alpha is located to this width; far below its standard error at any usable tail size.
constexpr double kAlphaTolerance = 1e-7;
// Where the KS walk meets a gap between sample values wider than this, one zeta evaluation is
// cheaper than subtracting the gap's terms one by one.
constexpr uint64_t kKsGapSubtractMax = 32;

// B_2j / (2j)! for j = 1..8: the Euler–Maclaurin correction coefficients.
constexpr double kEulerMaclaurin[] = {
    1.0 / 12.0,          -1.0 / 720.0,
    1.0 / 30240.0,       -1.0 / 1209600.0,
    1.0 / 47900160.0,    -691.0 / 1307674368000.0,
    1.0 / 74724249600.0, -3617.0 / 10670622842880000.0,
};

// Values of the (filtered, sorted) samples: distinct values ascending with their counts, and
// suffix sums so that any tail's size and sum of logs is O(1).
struct DistinctSamples {
  std::vector<uint64_t> values;
  std::vector<uint64_t> counts;
  std::vector<uint64_t> tail_count;  // samples >= values[i]
  std::vector<double> tail_log_sum;  // sum of ln x over samples >= values[i]
};

DistinctSamples Summarise(std::span<const uint32_t> samples, uint64_t x_max_exclusive) {
  std::vector<uint32_t> kept;
  kept.reserve(samples.size());
  for (const uint32_t x : samples) {
    if (x >= 1 && x < x_max_exclusive) kept.push_back(x);
  }
  std::sort(kept.begin(), kept.end());
  DistinctSamples d;
  for (size_t i = 0; i < kept.size();) {
    size_t j = i;
    while (j < kept.size() && kept[j] == kept[i]) ++j;
    d.values.push_back(kept[i]);
    d.counts.push_back(j - i);
    i = j;
  }
  const size_t distinct = d.values.size();
  d.tail_count.assign(distinct + 1, 0);
  d.tail_log_sum.assign(distinct + 1, 0.0);
  for (size_t i = distinct; i-- > 0;) {
    d.tail_count[i] = d.tail_count[i + 1] + d.counts[i];
    d.tail_log_sum[i] =
        d.tail_log_sum[i + 1] + static_cast<double>(d.counts[i]) * std::log(d.values[i]);
  }
  assert(d.tail_count[0] == kept.size());
  return d;
}

// zeta(alpha, cap), the model mass at or above the cap, which the truncated model excludes.
double ZetaAtCap(double alpha, uint64_t x_max_exclusive) {
  if (x_max_exclusive == std::numeric_limits<uint64_t>::max()) return 0;  // No cap.
  return HurwitzZeta(alpha, static_cast<double>(x_max_exclusive));
}

// Golden-section search for the minimum of a unimodal f on [lo, hi].
template <typename F>
double MinimiseGolden(F f, double lo, double hi) {
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double x1 = hi - inv_phi * (hi - lo);
  double x2 = lo + inv_phi * (hi - lo);
  double f1 = f(x1);
  double f2 = f(x2);
  // Each step shrinks the interval by 0.618; 200 steps is far past double precision.
  for (int step = 0; step < 200 && hi - lo > kAlphaTolerance; ++step) {
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - inv_phi * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + inv_phi * (hi - lo);
      f2 = f(x2);
    }
  }
  return (lo + hi) / 2;
}

// Discrete MLE of alpha for the tail starting at d.values[first]: minimises the negative
// log-likelihood per sample, ln Z(alpha) + alpha * mean(ln x), Z = zeta(alpha, xmin) -
// zeta(alpha, cap). It is convex in alpha (ln Z is a log-partition function), so golden-section
// finds the global minimum on the interval.
double FitAlpha(const DistinctSamples& d, size_t first, uint64_t x_max_exclusive) {
  const double xmin = static_cast<double>(d.values[first]);
  const double mean_log = d.tail_log_sum[first] / static_cast<double>(d.tail_count[first]);
  const auto negative_log_likelihood = [&](double alpha) {
    const double z = HurwitzZeta(alpha, xmin) - ZetaAtCap(alpha, x_max_exclusive);
    return std::log(z) + alpha * mean_log;
  };
  return MinimiseGolden(negative_log_likelihood, kAlphaMin, kAlphaMax);
}

// Greatest |empirical CCDF - model CCDF| over integers x in [xmin, cap). Between two adjacent
// sample values the empirical CCDF is flat and the model's falls, so the extremes sit at each
// value v (model lowest in (previous, v]) and at v + 1 (model highest in (v, next]).
double KsDistance(const DistinctSamples& d, size_t first, double alpha, uint64_t x_max_exclusive) {
  const double n_tail = static_cast<double>(d.tail_count[first]);
  const double zeta_cap = ZetaAtCap(alpha, x_max_exclusive);
  double zeta_x = HurwitzZeta(alpha, static_cast<double>(d.values[first]));
  const double z = zeta_x - zeta_cap;
  assert(z > 0);
  double distance = 0;
  for (size_t i = first; i < d.values.size(); ++i) {
    const uint64_t v = d.values[i];
    const double empirical_at_v = static_cast<double>(d.tail_count[i]) / n_tail;
    distance = std::max(distance, std::abs(empirical_at_v - (zeta_x - zeta_cap) / z));
    zeta_x -= std::pow(static_cast<double>(v), -alpha);  // now zeta(alpha, v + 1)
    const double empirical_after_v = static_cast<double>(d.tail_count[i + 1]) / n_tail;
    distance = std::max(distance, std::abs(empirical_after_v - (zeta_x - zeta_cap) / z));
    if (i + 1 == d.values.size()) break;
    const uint64_t next = d.values[i + 1];
    if (next - (v + 1) <= kKsGapSubtractMax) {
      for (uint64_t x = v + 1; x < next; ++x) zeta_x -= std::pow(static_cast<double>(x), -alpha);
    } else {
      zeta_x = HurwitzZeta(alpha, static_cast<double>(next));
    }
  }
  assert(distance >= 0 && distance <= 1 + 1e-9);
  return distance;
}

}  // namespace

double HurwitzZeta(double s, double q) {
  assert(s > 1 && s <= 64);
  assert(q > 0);
  // Sum the first terms directly until the Euler–Maclaurin remainder at a = q + N, which shrinks
  // like ((s + 16) / (2 pi a))^16, is far below double precision: a >= s + 10 is enough.
  const double shift = s + 10;
  double sum = 0;
  double a = q;
  while (a < shift) {
    sum += std::pow(a, -s);
    a += 1;
  }
  const double a_pow = std::pow(a, -s);
  sum += a * a_pow / (s - 1) + a_pow / 2;
  double term = s * a_pow / a;  // s (s+1) ... (s+2j-2) a^(-s-2j+1) for j = 1
  const double inv_a2 = 1.0 / (a * a);
  for (int j = 0; j < 8; ++j) {
    sum += kEulerMaclaurin[j] * term;
    term *= (s + 2 * j + 1) * (s + 2 * j + 2) * inv_a2;
  }
  assert(sum > 0);
  return sum;
}

Result<PowerLawFit> FitDiscretePowerLaw(std::span<const uint32_t> samples,
                                        const PowerLawFitOptions& options) {
  const DistinctSamples d = Summarise(samples, options.x_max_exclusive);
  const uint64_t tail_min = std::max<uint64_t>(options.tail_samples_min, 2);
  const bool capped = options.x_max_exclusive != std::numeric_limits<uint64_t>::max();
  PowerLawFit best;
  bool found = false;
  // A candidate needs two distinct values in its tail, or alpha runs off to the bound.
  for (size_t first = 0; first + 1 < d.values.size(); ++first) {
    const uint64_t n_tail = d.tail_count[first];
    if (n_tail < tail_min) break;  // Tails only shrink from here on.
    if (capped && static_cast<double>(options.x_max_exclusive) <
                      options.tail_span_ratio_min * static_cast<double>(d.values[first])) {
      break;  // Windows only narrow from here on.
    }
    const double alpha = FitAlpha(d, first, options.x_max_exclusive);
    const double ks = KsDistance(d, first, alpha, options.x_max_exclusive);
    // Strict < keeps the smallest xmin among equals: the larger tail.
    if (!found || ks < best.ks_distance) {
      found = true;
      best.alpha = alpha;
      best.xmin = d.values[first];
      best.ks_distance = ks;
      best.n_tail = n_tail;
    }
  }
  if (!found) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "power-law fit: no xmin leaves " + std::to_string(tail_min) +
                         " samples with two distinct values (and, with a cap, a window of ratio " +
                         std::to_string(options.tail_span_ratio_min) + "); " +
                         std::to_string(d.tail_count[0]) + " positive samples below the cap");
  }
  best.alpha_stderr = (best.alpha - 1) / std::sqrt(static_cast<double>(best.n_tail));
  assert(best.alpha >= kAlphaMin && best.alpha <= kAlphaMax);
  return best;
}

}  // namespace myco
