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

}  // namespace rr
