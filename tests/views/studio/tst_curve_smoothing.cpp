// Debiased EMA of the curve smoothing slider against hand-computed values.
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
};

RR_TEST_MAIN(CurveSmoothingTest)
#include "tst_curve_smoothing.moc"
