#include "core/eval/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace rr {
namespace {

// Continued fraction of the incomplete beta function, evaluated with the modified Lentz method.
double betaContinuedFraction(double a, double b, double x) {
  constexpr int kMaxIterations = 500;
  constexpr double kEps = 1e-15;
  constexpr double kTiny = 1e-300;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    // even step
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    f *= d * c;
    // odd step
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    f *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return f;
}

}  // namespace

double regularizedIncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0.0;
  if (x >= 1) return 1.0;
  const double lnFront = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                         b * std::log1p(-x);
  const double front = std::exp(lnFront);
  // Use the symmetry relation where the continued fraction converges fastest.
  if (x < (a + 1.0) / (a + b + 2.0)) return front * betaContinuedFraction(a, b, x) / a;
  return 1.0 - front * betaContinuedFraction(b, a, 1.0 - x) / b;
}

double studentTTwoSidedP(double t, double df) {
  if (!std::isfinite(t)) return std::isnan(t) ? 1.0 : 0.0;
  if (df <= 0) return 1.0;
  return regularizedIncompleteBeta(df / 2.0, 0.5, df / (df + t * t));
}

double normalTwoSidedP(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

PairedTTest pairedTTest(const std::vector<double>& a, const std::vector<double>& b) {
  PairedTTest r;
  const size_t n = std::min(a.size(), b.size());
  r.n = static_cast<int64_t>(n);
  if (n == 0) return r;
  double sa = 0, sb = 0, sd = 0;
  for (size_t i = 0; i < n; ++i) {
    sa += a[i];
    sb += b[i];
    sd += a[i] - b[i];
  }
  r.meanA = sa / n;
  r.meanB = sb / n;
  r.meanDiff = sd / n;
  if (n < 2) return r;
  double ss = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = (a[i] - b[i]) - r.meanDiff;
    ss += e * e;
  }
  const double var = ss / (n - 1);
  r.df = static_cast<double>(n - 1);
  if (var <= 0) {
    r.t = r.meanDiff == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), r.meanDiff);
    r.p = r.meanDiff == 0 ? 1.0 : 0.0;
    return r;
  }
  r.t = r.meanDiff / std::sqrt(var / n);
  r.p = studentTTwoSidedP(r.t, r.df);
  return r;
}

WilcoxonTest wilcoxonSignedRank(const std::vector<double>& a, const std::vector<double>& b) {
  WilcoxonTest r;
  const size_t n = std::min(a.size(), b.size());
  std::vector<double> diffs;
  diffs.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) diffs.push_back(a[i] - b[i]);
  const size_t m = diffs.size();
  r.n = static_cast<int64_t>(m);
  if (m == 0) return r;
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return std::fabs(diffs[i]) < std::fabs(diffs[j]); });
  std::vector<double> rank(m);
  double tieTerm = 0;
  for (size_t i = 0; i < m;) {
    size_t j = i;
    while (j + 1 < m && std::fabs(diffs[order[j + 1]]) == std::fabs(diffs[order[i]])) ++j;
    const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = avg;
    const double t = static_cast<double>(j - i + 1);
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  double wPlus = 0;
  for (size_t i = 0; i < m; ++i)
    if (diffs[i] > 0) wPlus += rank[i];
  r.w = wPlus;
  const double md = static_cast<double>(m);
  const double mean = md * (md + 1) / 4.0;
  const double var = md * (md + 1) * (2 * md + 1) / 24.0 - tieTerm / 48.0;
  if (var <= 0) return r;
  const double diff = wPlus - mean;
  const double corrected = diff == 0 ? 0 : diff - std::copysign(0.5, diff);
  r.z = corrected / std::sqrt(var);
  r.p = normalTwoSidedP(r.z);
  return r;
}

BootstrapInterval bootstrapMeanDiff(const std::vector<double>& a, const std::vector<double>& b,
                                    int resamples, uint64_t seed) {
  BootstrapInterval r;
  const size_t n = std::min(a.size(), b.size());
  if (n == 0 || resamples <= 0) return r;
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  std::mt19937_64 rng(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (int s = 0; s < resamples; ++s) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += d[rng() % n];
    means[static_cast<size_t>(s)] = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  auto at = [&](double q) {
    const double pos = q * (resamples - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (pos - lo) * (means[hi] - means[lo]);
  };
  r.low = at(0.025);
  r.high = at(0.975);
  return r;
}

}  // namespace rr
