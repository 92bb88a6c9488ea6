// Connection strength (MISSION.md §1): how much a link is used, in five bands.
// Utilisation is the link's share of its nominal capacity used by traffic (both directions,
// smoothed); mutual benefit is how balanced the exchange is: min(in, out) / max(in, out).
#pragma once

#include <cstdint>

namespace myco {

enum class ConnectionStrength : uint8_t {
  kDormant = 0,    // utilisation < 10%
  kWeak = 1,       // 10–30%
  kModerate = 2,   // 30–60%
  kStrong = 3,     // 60–85%
  kSymbiotic = 4,  // > 85% with mutual benefit > 0.8
};

const char* ConnectionStrengthName(ConnectionStrength strength);

ConnectionStrength StrengthFrom(double utilisation, double mutual_benefit);

// min(a, b) / max(a, b), and 0 when both are 0 (an unused link benefits nobody).
double MutualBenefit(double bytes_in, double bytes_out);

}  // namespace myco
