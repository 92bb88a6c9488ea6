#include "core/topology/strength.hpp"

#include <algorithm>

namespace myco {

const char* ConnectionStrengthName(ConnectionStrength strength) {
  switch (strength) {
    case ConnectionStrength::kDormant: return "dormant";
    case ConnectionStrength::kWeak: return "weak";
    case ConnectionStrength::kModerate: return "moderate";
    case ConnectionStrength::kStrong: return "strong";
    case ConnectionStrength::kSymbiotic: return "symbiotic";
  }
  return "unknown";
}

ConnectionStrength StrengthFrom(double utilisation, double mutual_benefit) {
  if (utilisation > 0.85 && mutual_benefit > 0.8) return ConnectionStrength::kSymbiotic;
  // Above 85% but one-sided is still only strong: symbiosis needs both sides to gain.
  if (utilisation >= 0.6) return ConnectionStrength::kStrong;
  if (utilisation >= 0.3) return ConnectionStrength::kModerate;
  if (utilisation >= 0.1) return ConnectionStrength::kWeak;
  return ConnectionStrength::kDormant;
}

double MutualBenefit(double bytes_in, double bytes_out) {
  const double hi = std::max(bytes_in, bytes_out);
  if (hi <= 0) return 0;
  return std::min(bytes_in, bytes_out) / hi;
}

}  // namespace myco
