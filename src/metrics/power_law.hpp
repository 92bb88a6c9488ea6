// Discrete power-law fit of Clauset, Shalizi & Newman, "Power-law distributions in empirical
// data", SIAM Review 51 (2009): for each candidate xmin, alpha by maximum likelihood with the
// Hurwitz zeta normalisation (their eq. 3.5), then the xmin whose fitted tail is closest to the
// data in Kolmogorov–Smirnov distance (their section 3.3).
//
// Guarantees:
//  - Deterministic: the same samples and options give the same fit, in any order.
//  - alpha lies in [1.01, 6] (the search interval); xmin is one of the sample values.
//  - With a degree cap, samples at or above it are dropped and the model is the power law
//    truncated to [xmin, cap), so the pile-up of full nodes at the cap neither enters the fit
//    nor leaves a missing-mass bias in alpha.
//  - Cost: O(n log n) to sort plus O(D^2) for D distinct sample values (D ~ a few hundred for
//    degrees; well under 100 ms for 50,000 samples).
#pragma once

#include <cstdint>
#include <limits>
#include <span>

#include "myco/result.hpp"

namespace myco {

// Hurwitz zeta function zeta(s, q) = sum over k >= 0 of (k + q)^-s, by Euler–Maclaurin
// summation; relative error below 1e-13 on the range used here.
// REQUIRES: s > 1, q > 0.
double HurwitzZeta(double s, double q);

struct PowerLawFitOptions {
  // Samples >= this are excluded and the model truncated there (the network's degree cap,
  // max_connections). The default means no cap.
  uint64_t x_max_exclusive = std::numeric_limits<uint64_t>::max();
  // Candidate xmin values must leave at least this many samples in the tail: below ~50 the
  // estimate of alpha is noise and the KS minimum lands on it by chance (CSN section 3.3).
  uint64_t tail_samples_min = 50;
  // With a cap, candidate xmin values must satisfy x_max_exclusive >= tail_span_ratio_min * xmin.
  // Over a narrow window [xmin, cap) the truncated one-parameter model can match almost any
  // data (exactly, on two values), so without this the KS minimum lands on the last few values
  // below the cap. Ignored without a cap, where the model's tail must still fit the data.
  double tail_span_ratio_min = 4.0;
};

struct PowerLawFit {
  double alpha = 0;
  uint64_t xmin = 0;
  // Largest gap between the tail's empirical CCDF and the fitted one, over integers >= xmin.
  double ks_distance = 0;
  // Samples in [xmin, x_max_exclusive) that the fit used.
  uint64_t n_tail = 0;
  // (alpha - 1) / sqrt(n_tail): CSN eq. 3.2, a good approximation for discrete data once
  // xmin is above ~6 and optimistic below.
  double alpha_stderr = 0;
};

// Fits a discrete power law to positive integer samples (zeros are never in any tail).
// Fails with kInvalidArgument when no candidate xmin leaves a tail of at least
// max(tail_samples_min, 2) samples with at least two distinct values (and, with a cap, a window
// of at least tail_span_ratio_min).
Result<PowerLawFit> FitDiscretePowerLaw(std::span<const uint32_t> samples,
                                        const PowerLawFitOptions& options = {});

}  // namespace myco
