#include "metrics/power_law.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <vector>

#include "metrics/graph.hpp"
#include "myco/rng.hpp"

namespace myco {
namespace {

// Exact inverse-transform sampler of the discrete power law P(x) = x^-alpha / zeta(alpha, xmin),
// x >= xmin: a table of the CCDF P(X >= x) for the first kTableSize values, binary-searched.
// Draws beyond the table (probability ~1e-7 at alpha 2.5) use CSN's continuous approximation
// (their eq. D.6), whose error there is negligible.
class DiscretePowerLawSampler {
 public:
  DiscretePowerLawSampler(double alpha, uint32_t xmin) : alpha_(alpha), xmin_(xmin) {
    const double z = HurwitzZeta(alpha, xmin);
    double tail = z;  // zeta(alpha, x) for the current x
    ccdf_.reserve(kTableSize);
    for (uint32_t i = 0; i < kTableSize; ++i) {
      ccdf_.push_back(tail / z);
      tail -= std::pow(static_cast<double>(xmin + i), -alpha);
    }
  }

  uint32_t Draw(Rng& rng) const {
    const double r = 1.0 - rng.UniformDouble();  // (0, 1]
    if (r < ccdf_.back()) {
      return static_cast<uint32_t>(
          std::floor((xmin_ - 0.5) * std::pow(r, -1.0 / (alpha_ - 1.0)) + 0.5));
    }
    // The largest x with P(X >= x) >= r; ccdf_ is decreasing.
    const auto it = std::upper_bound(ccdf_.begin(), ccdf_.end(), r, std::greater<>());
    return xmin_ + static_cast<uint32_t>(it - ccdf_.begin()) - 1;
  }

 private:
  static constexpr uint32_t kTableSize = 100000;
  double alpha_;
  uint32_t xmin_;
  std::vector<double> ccdf_;
};

std::vector<uint32_t> DrawPowerLaw(double alpha, uint32_t xmin, size_t count, uint64_t seed) {
  const DiscretePowerLawSampler sampler(alpha, xmin);
  Rng rng(seed);
  std::vector<uint32_t> samples(count);
  for (auto& x : samples) x = sampler.Draw(rng);
  return samples;
}

// Standard Barabási–Albert: a clique on m + 1 vertices, then each new vertex links to m distinct
// targets drawn uniformly from the list of edge endpoints (that is, in proportion to degree).
std::vector<Graph::Edge> BarabasiAlbertEdges(uint32_t n, uint32_t m, Rng& rng) {
  std::vector<Graph::Edge> edges;
  std::vector<uint32_t> endpoints;
  for (uint32_t a = 0; a <= m; ++a) {
    for (uint32_t b = a + 1; b <= m; ++b) {
      edges.emplace_back(a, b);
      endpoints.insert(endpoints.end(), {a, b});
    }
  }
  std::vector<uint32_t> targets;
  for (uint32_t v = m + 1; v < n; ++v) {
    targets.clear();
    while (targets.size() < m) {
      const uint32_t t = endpoints[rng.Uniform(endpoints.size())];
      if (std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);
    }
    for (const uint32_t t : targets) {
      edges.emplace_back(v, t);
      endpoints.insert(endpoints.end(), {v, t});
    }
  }
  return edges;
}

TEST(HurwitzZetaTest, MatchesKnownValues) {
  constexpr double kPi = std::numbers::pi;
  EXPECT_NEAR(HurwitzZeta(2, 1), kPi * kPi / 6, 1e-14);
  EXPECT_NEAR(HurwitzZeta(2, 3), kPi * kPi / 6 - 1.25, 1e-14);
  EXPECT_NEAR(HurwitzZeta(2, 0.5), kPi * kPi / 2, 1e-13);
  EXPECT_NEAR(HurwitzZeta(4, 1), std::pow(kPi, 4) / 90, 1e-14);
  EXPECT_NEAR(HurwitzZeta(3, 1), 1.2020569031595942, 1e-14);
  EXPECT_NEAR(HurwitzZeta(6, 1), 1.0173430619844491397, 1e-14);
  // Reference values from mpmath at 30 digits.
  EXPECT_NEAR(HurwitzZeta(1.01, 1), 100.57794333849678367, 1e-11);
  EXPECT_NEAR(HurwitzZeta(2.5, 3), 0.16471056195428029866, 1e-15);
  EXPECT_NEAR(HurwitzZeta(1.5, 0.25), 10.213055360466600739, 1e-12);
  EXPECT_NEAR(HurwitzZeta(1.2, 7), 3.4378349489316774548, 1e-13);
  EXPECT_NEAR(HurwitzZeta(2, 1e6) / 1.0000005000001666667e-6, 1.0, 1e-14);
  EXPECT_NEAR(HurwitzZeta(3.7, 1000.5) / 2.941955200316337496e-9, 1.0, 1e-13);
}

TEST(PowerLawFitTest, RecoversAlpha2_5) {
  const std::vector<uint32_t> samples = DrawPowerLaw(2.5, 3, 50000, 11);
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(samples);
  ASSERT_TRUE(fit.ok()) << fit.error().ToString();
  EXPECT_NEAR(fit->alpha, 2.5, 0.1);
  EXPECT_GE(fit->xmin, 3u);
  EXPECT_LE(fit->xmin, 6u);
  EXPECT_LT(fit->ks_distance, 0.02);
  EXPECT_GE(fit->n_tail, 10000u);
  EXPECT_NEAR(fit->alpha_stderr, (fit->alpha - 1) / std::sqrt(fit->n_tail), 1e-12);
}

TEST(PowerLawFitTest, RecoversAlpha3) {
  const std::vector<uint32_t> samples = DrawPowerLaw(3.0, 3, 50000, 12);
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(samples);
  ASSERT_TRUE(fit.ok()) << fit.error().ToString();
  EXPECT_NEAR(fit->alpha, 3.0, 0.1);
  EXPECT_GE(fit->xmin, 3u);
  EXPECT_LE(fit->xmin, 6u);
}

TEST(PowerLawFitTest, IgnoresSamplesBelowTheTrueXmin) {
  // A body of uniform small values below xmin = 5 must be cut away by the KS choice.
  std::vector<uint32_t> samples = DrawPowerLaw(2.5, 5, 30000, 13);
  Rng rng(14);
  for (int i = 0; i < 20000; ++i) samples.push_back(1 + static_cast<uint32_t>(rng.Uniform(4)));
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(samples);
  ASSERT_TRUE(fit.ok()) << fit.error().ToString();
  EXPECT_NEAR(fit->alpha, 2.5, 0.1);
  EXPECT_GE(fit->xmin, 5u);
  EXPECT_LE(fit->xmin, 8u);
}

TEST(PowerLawFitTest, DegreeCapTruncatesTheModel) {
  // Nodes that would exceed the cap sit at it, as full nodes do in the network. Dropping them
  // without truncating the model biases alpha up by ~0.11 here; the truncated fit does not.
  // With this seed a fit free to pick any xmin chose 38, where the window [38, 40) holds two
  // values that the truncated model matches exactly; tail_span_ratio_min keeps xmin <= 10.
  constexpr uint32_t kCap = 40;
  std::vector<uint32_t> samples = DrawPowerLaw(2.5, 3, 50000, 11);
  for (auto& x : samples) x = std::min(x, kCap);
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(samples, {.x_max_exclusive = kCap});
  ASSERT_TRUE(fit.ok()) << fit.error().ToString();
  EXPECT_NEAR(fit->alpha, 2.5, 0.1);
  EXPECT_LE(fit->xmin, 6u);
  EXPECT_EQ(fit->n_tail,
            static_cast<uint64_t>(std::count_if(samples.begin(), samples.end(), [&](uint32_t x) {
              return x >= fit->xmin && x < kCap;
            })));
}

TEST(PowerLawFitTest, BarabasiAlbertDegreesHaveAlphaNearThree) {
  Rng rng(99);
  const Graph g = Graph::FromEdges(20000, BarabasiAlbertEdges(20000, 3, rng));
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(Degrees(g));
  ASSERT_TRUE(fit.ok()) << fit.error().ToString();
  EXPECT_GE(fit->alpha, 2.5);
  EXPECT_LE(fit->alpha, 3.3);
}

TEST(PowerLawFitTest, IsIndependentOfSampleOrder) {
  std::vector<uint32_t> samples = DrawPowerLaw(2.5, 2, 5000, 16);
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(samples);
  std::reverse(samples.begin(), samples.end());
  const Result<PowerLawFit> reversed = FitDiscretePowerLaw(samples);
  ASSERT_TRUE(fit.ok() && reversed.ok());
  EXPECT_EQ(fit->alpha, reversed->alpha);
  EXPECT_EQ(fit->xmin, reversed->xmin);
  EXPECT_EQ(fit->ks_distance, reversed->ks_distance);
}

TEST(PowerLawFitTest, TooFewSamplesIsAnError) {
  EXPECT_FALSE(FitDiscretePowerLaw({}).ok());
  const std::vector<uint32_t> zeros(1000, 0);
  EXPECT_FALSE(FitDiscretePowerLaw(zeros).ok());
  const std::vector<uint32_t> constant(1000, 7);
  const Result<PowerLawFit> fit = FitDiscretePowerLaw(constant);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.error().code, ErrorCode::kInvalidArgument);
  const std::vector<uint32_t> few = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_FALSE(FitDiscretePowerLaw(few).ok());
  EXPECT_TRUE(FitDiscretePowerLaw(few, {.tail_samples_min = 0}).ok());
  // Everything at or above the cap is dropped.
  EXPECT_FALSE(FitDiscretePowerLaw(few, {.x_max_exclusive = 2, .tail_samples_min = 0}).ok());
}

}  // namespace
}  // namespace myco
