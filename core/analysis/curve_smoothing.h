#pragma once
/// \file
/// \brief Smoothing of metric curves for display (the studio's smoothing slider): an
/// exponential moving average with Adam-style bias correction, so the first points are not
/// pulled towards zero. Plain C++, no tensors. Thread: any (pure functions).

#include <vector>

namespace rr {

/// \brief Debiased EMA of `values` with smoothing weight `beta` in [0, 1):
/// m_i = beta·m_{i-1} + (1−beta)·v_i, w_i = beta·w_{i-1} + (1−beta), out_i = m_i / w_i
/// (m_0 = w_0 = 0 before the first value). beta = 0 returns the values unchanged; beta is
/// clamped to [0, 0.999]. Non-finite values are skipped (their output repeats the previous
/// smoothed value, or is the value itself before any finite one), so a diverged step does not
/// erase the rest of the curve.
std::vector<double> debiasedEma(const std::vector<double>& values, double beta);

/// \brief Incremental form of debiasedEma() for streamed curves: push() values in order;
/// value() is the smoothed value after the last push. Gives exactly debiasedEma()'s outputs.
class DebiasedEma {
 public:
  explicit DebiasedEma(double beta = 0.6);
  double push(double value);
  double value() const { return last_; }
  double beta() const { return beta_; }
  void reset();

 private:
  double beta_;
  double mean_ = 0, weight_ = 0, last_ = 0;
  bool any_ = false;
};

}  // namespace rr
