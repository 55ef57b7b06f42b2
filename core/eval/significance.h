#pragma once
/// \file
/// \brief Paired significance tests between two runs' per-case metric vectors (SPEC §5).
/// Plain C++: usable by views.

#include <cstdint>
#include <vector>

namespace rr {

struct PairedTTest {
  double meanA = 0, meanB = 0;
  double meanDiff = 0;  ///< mean(a - b)
  double t = 0;
  double df = 0;
  double p = 1;         ///< two-sided
  int64_t n = 0;
};
/// Student's paired t-test of a vs b (same length). p = 1 when all differences are 0.
PairedTTest pairedTTest(const std::vector<double>& a, const std::vector<double>& b);

struct WilcoxonTest {
  double w = 0;   ///< sum of positive ranks
  double z = 0;   ///< normal approximation with tie and continuity correction
  double p = 1;   ///< two-sided
  int64_t n = 0;  ///< non-zero differences
};
/// Wilcoxon signed-rank test (zero differences dropped, average ranks for ties).
WilcoxonTest wilcoxonSignedRank(const std::vector<double>& a, const std::vector<double>& b);

struct BootstrapInterval {
  double low = 0, high = 0;  ///< 95% percentile interval of mean(a - b)
};
/// Paired bootstrap of the mean difference, seeded (deterministic).
BootstrapInterval bootstrapMeanDiff(const std::vector<double>& a, const std::vector<double>& b,
                                    int resamples = 1000, uint64_t seed = 1);

/// Regularized incomplete beta I_x(a, b) and the Student-t two-sided p-value (exposed for tests).
double regularizedIncompleteBeta(double a, double b, double x);
double studentTTwoSidedP(double t, double df);
double normalTwoSidedP(double z);

}  // namespace rr
