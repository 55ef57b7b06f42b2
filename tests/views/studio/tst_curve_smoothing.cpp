// Debiased EMA of the curve smoothing slider and the charts' outlier-robust y range, against
// hand-computed values.
#include "core/analysis/curve_smoothing.h"
#include "test_main.h"

#include <cmath>
#include <limits>

class CurveSmoothingTest : public QObject {
  Q_OBJECT
 private slots:
  void handComputed() {
    // beta 0.5 on 2, 4, 8:
    // m1 = 1, w1 = .5 -> 2;  m2 = .5+2 = 2.5, w2 = .75 -> 3.3333;  m3 = 1.25+4 = 5.25, w3 = .875 -> 6
    const std::vector<double> out = rr::debiasedEma({2, 4, 8}, 0.5);
    QCOMPARE(out.size(), size_t(3));
    QCOMPARE(out[0], 2.0);
    QVERIFY(std::abs(out[1] - 10.0 / 3.0) < 1e-12);
    QVERIFY(std::abs(out[2] - 6.0) < 1e-12);
  }
  void firstValueIsNotPulledToZero() {
    // A plain EMA would give 0.1 * 5 = 0.5 at the first point; the debiased one gives 5.
    QCOMPARE(rr::debiasedEma({5.0}, 0.9).front(), 5.0);
  }
  void zeroBetaIsIdentity() {
    const std::vector<double> v = {3, -1, 7.5, 2};
    QCOMPARE(rr::debiasedEma(v, 0.0), v);
  }
  void constantStaysConstant() {
    for (double x : rr::debiasedEma(std::vector<double>(50, 1.25), 0.95)) QVERIFY(std::abs(x - 1.25) < 1e-12);
  }
  void nonFiniteValuesAreSkipped() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> out = rr::debiasedEma({2, nan, 4}, 0.5);
    QCOMPARE(out[1], 2.0);                          // repeats the last smoothed value
    QVERIFY(std::abs(out[2] - 10.0 / 3.0) < 1e-12);  // as if the NaN was not there
  }
  void incrementalMatchesBatch() {
    const std::vector<double> v = {1, 9, 2, 8, 3, 7};
    const std::vector<double> batch = rr::debiasedEma(v, 0.7);
    rr::DebiasedEma ema(0.7);
    for (size_t i = 0; i < v.size(); ++i) QCOMPARE(ema.push(v[i]), batch[i]);
  }

  void robustRangeLeavesSpikesOut() {
    // 0..99 and one KL-like spike: Q1 = 25, Q3 = 75 (positions 25 and 75 of 101), IQR 50, fences
    // [-125, 225]. The spike is out, every other value in.
    std::vector<double> v;
    for (int i = 0; i < 100; ++i) v.push_back(i);
    v.push_back(3.9e12);
    const rr::CurveRange r = rr::robustCurveRange(v);
    QVERIFY(r.valid);
    QCOMPARE(r.lower, 0.0);
    QCOMPARE(r.upper, 99.0);
    QCOMPARE(r.outliersLeft, 1);
    // A value just inside the far fence stays, one just outside goes.
    v.back() = 224;
    QCOMPARE(rr::robustCurveRange(v).upper, 224.0);
    QCOMPARE(rr::robustCurveRange(v).outliersLeft, 0);
    // Low side: the quartiles shift to 24 and 74, so the fence is at -126 exactly.
    v.back() = -126;
    QCOMPARE(rr::robustCurveRange(v).lower, -126.0);
    v.back() = -127;
    QCOMPARE(rr::robustCurveRange(v).lower, 0.0);
    QCOMPARE(rr::robustCurveRange(v).outliersLeft, 1);
  }
  void robustRangeShowsEverythingOnFewPoints() {
    std::vector<double> v(rr::kMinPointsForOutliers - 1, 1.0);
    v.back() = 1e9;
    const rr::CurveRange r = rr::robustCurveRange(v);
    QCOMPARE(r.upper, 1e9);
    QCOMPARE(r.outliersLeft, 0);
  }
  void robustRangeSkipsNonFinite() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    QVERIFY(!rr::robustCurveRange({}).valid);
    QVERIFY(!rr::robustCurveRange({nan, nan}).valid);
    std::vector<double> v(30, 2.0);
    v[3] = nan;
    v[4] = std::numeric_limits<double>::infinity();
    const rr::CurveRange r = rr::robustCurveRange(v);
    QVERIFY(r.valid);
    QCOMPARE(r.lower, 2.0);
    QCOMPARE(r.upper, 2.0);
    QCOMPARE(r.outliersLeft, 0);
  }
};

RR_TEST_MAIN(CurveSmoothingTest)
#include "tst_curve_smoothing.moc"
