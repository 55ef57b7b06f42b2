#include "core/analysis/curve_smoothing.h"

#include <algorithm>
#include <cmath>

namespace rr {

namespace {
constexpr double kMaxBeta = 0.999;  ///< beyond this the average effectively never moves
}

DebiasedEma::DebiasedEma(double beta) : beta_(std::clamp(beta, 0.0, kMaxBeta)) {}

void DebiasedEma::reset() {
  mean_ = weight_ = last_ = 0;
  any_ = false;
}

double DebiasedEma::push(double value) {
  if (!std::isfinite(value)) {
    if (!any_) last_ = value;
    return last_;
  }
  mean_ = beta_ * mean_ + (1.0 - beta_) * value;
  weight_ = beta_ * weight_ + (1.0 - beta_);
  last_ = mean_ / weight_;
  any_ = true;
  return last_;
}

std::vector<double> debiasedEma(const std::vector<double>& values, double beta) {
  DebiasedEma ema(beta);
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values) out.push_back(ema.push(v));
  return out;
}

namespace {
/// Quantile q of sorted values, linear interpolation between closest ranks.
double sortedQuantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}
}  // namespace

CurveRange robustCurveRange(const std::vector<double>& values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  CurveRange r;
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  r.valid = true;
  r.lower = v.front();
  r.upper = v.back();
  if (static_cast<int>(v.size()) < kMinPointsForOutliers) return r;
  const double q1 = sortedQuantile(v, 0.25), q3 = sortedQuantile(v, 0.75);
  const double fenceLow = q1 - kOutlierFenceIqr * (q3 - q1), fenceHigh = q3 + kOutlierFenceIqr * (q3 - q1);
  // Q1 and Q3 lie inside the fences, so both searches find a value.
  const auto first = std::lower_bound(v.begin(), v.end(), fenceLow);
  const auto last = std::upper_bound(v.begin(), v.end(), fenceHigh);
  r.lower = *first;
  r.upper = *(last - 1);
  r.outliersLeft = static_cast<int>((first - v.begin()) + (v.end() - last));
  return r;
}

}  // namespace rr
