// Significance tests against textbook critical values and hand-worked examples.
#include "core/eval/significance.h"
#include "test_main.h"

#include <cmath>

using namespace rr;

class SignificanceTest : public QObject {
  Q_OBJECT
 private slots:
  void studentCriticalValues_data() {
    QTest::addColumn<double>("t");
    QTest::addColumn<double>("df");
    QTest::addColumn<double>("p");
    // Two-sided 5% and 1% critical values from standard t tables.
    QTest::newRow("df1 5%") << 12.7062 << 1.0 << 0.05;
    QTest::newRow("df4 5%") << 2.77645 << 4.0 << 0.05;
    QTest::newRow("df10 1%") << 3.16927 << 10.0 << 0.01;
    QTest::newRow("df30 5%") << 2.04227 << 30.0 << 0.05;
    QTest::newRow("t=0") << 0.0 << 7.0 << 1.0;
  }
  void studentCriticalValues() {
    QFETCH(double, t);
    QFETCH(double, df);
    QFETCH(double, p);
    QVERIFY2(std::fabs(studentTTwoSidedP(t, df) - p) < 2e-5, qPrintable(QString::number(studentTTwoSidedP(t, df), 'g', 10)));
  }

  void normal() {
    QVERIFY(std::fabs(normalTwoSidedP(1.959964) - 0.05) < 1e-6);
    QVERIFY(std::fabs(normalTwoSidedP(0) - 1.0) < 1e-12);
  }

  void incompleteBetaKnownValues() {
    // I_x(1,1) = x; I_x(2,1) = x^2; I_0.5(a,a) = 0.5.
    QVERIFY(std::fabs(regularizedIncompleteBeta(1, 1, 0.3) - 0.3) < 1e-12);
    QVERIFY(std::fabs(regularizedIncompleteBeta(2, 1, 0.3) - 0.09) < 1e-12);
    QVERIFY(std::fabs(regularizedIncompleteBeta(7.5, 7.5, 0.5) - 0.5) < 1e-12);
  }

  void pairedT() {
    // differences -1,0,1,2,3: mean 1, sd sqrt(2.5), t = 1/(sqrt(2.5)/sqrt(5)) = sqrt(2)
    const std::vector<double> a{1, 2, 3, 4, 5}, b{2, 2, 2, 2, 2};
    const auto r = pairedTTest(a, b);
    QCOMPARE(r.n, int64_t(5));
    QVERIFY(std::fabs(r.meanDiff - 1.0) < 1e-12);
    QVERIFY(std::fabs(r.t - std::sqrt(2.0)) < 1e-12);
    QCOMPARE(r.df, 4.0);
    QVERIFY(std::fabs(r.p - studentTTwoSidedP(std::sqrt(2.0), 4)) < 1e-15);
    QVERIFY(r.p > 0.2 && r.p < 0.25);
  }

  void pairedTDegenerate() {
    const std::vector<double> a{1, 1, 1}, b{1, 1, 1};
    QCOMPARE(pairedTTest(a, b).p, 1.0);
    const std::vector<double> c{2, 2, 2};
    QCOMPARE(pairedTTest(c, a).p, 0.0);  // constant non-zero difference
  }

  void wilcoxonHandExample() {
    // diffs: +1, -2, +3, +4, 0 (dropped) -> ranks 1,2,3,4; W+ = 1+3+4 = 8, n = 4
    const std::vector<double> a{2, 1, 6, 8, 5}, b{1, 3, 3, 4, 5};
    const auto r = wilcoxonSignedRank(a, b);
    QCOMPARE(r.n, int64_t(4));
    QCOMPARE(r.w, 8.0);
    // mean 5, var 7.5, continuity-corrected z = 2.5/sqrt(7.5)
    QVERIFY(std::fabs(r.z - 2.5 / std::sqrt(7.5)) < 1e-12);
  }

  void bootstrapCoversTheMean() {
    std::vector<double> a, b;
    for (int i = 0; i < 200; ++i) {
      a.push_back(0.5 + 0.01 * (i % 7));
      b.push_back(0.4 + 0.01 * (i % 5));
    }
    const auto ci = bootstrapMeanDiff(a, b, 500, 3);
    const auto t = pairedTTest(a, b);
    QVERIFY(ci.low < t.meanDiff && t.meanDiff < ci.high);
    const auto again = bootstrapMeanDiff(a, b, 500, 3);
    QCOMPARE(ci.low, again.low);  // seeded
  }
};

RR_TEST_MAIN(SignificanceTest)
#include "tst_significance.moc"
