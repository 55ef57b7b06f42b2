#pragma once
/// \file
/// \brief Smoothing and scaling of metric curves for display: the studio's smoothing slider (an
/// exponential moving average with Adam-style bias correction, so the first points are not
/// pulled towards zero) and its "Ignore outliers" axis scaling. Plain C++, no tensors.
/// Thread: any (pure functions).

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

/// \brief The y range a chart shows when it ignores outliers.
struct CurveRange {
  double lower = 0, upper = 0;
  bool valid = false;     ///< false when there is no finite value
  int outliersLeft = 0;   ///< finite values outside [lower, upper]
};

/// Fewer points than this are all shown: quartiles of a handful of points (say, one validation
/// value per epoch) are too unsteady to call any of them an outlier.
constexpr int kMinPointsForOutliers = 20;
/// Tukey's "far out" fence: points more than this many interquartile ranges beyond the
/// quartiles are outliers.
constexpr double kOutlierFenceIqr = 3.0;

/// \brief The range of the finite `values` that lie within Tukey's far-out fences
/// [Q1 − 3·IQR, Q3 + 3·IQR] (quartiles by linear interpolation). With fewer than
/// kMinPointsForOutliers finite values, the plain min/max. A KL curve with a few spikes of
/// 1e12 thus keeps a readable scale; the spikes run off the chart instead of flattening it.
CurveRange robustCurveRange(const std::vector<double>& values);

}  // namespace rr
