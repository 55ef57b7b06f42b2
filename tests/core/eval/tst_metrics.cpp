// Ranking metrics against values computed by hand.
#include "core/eval/metrics.h"
#include "test_main.h"

#include <cmath>

using namespace rr;

class MetricsTest : public QObject {
  Q_OBJECT
 private slots:
  void singleCase_data() {
    QTest::addColumn<QString>("metric");
    QTest::addColumn<int>("rank");
    QTest::addColumn<double>("expected");
    QTest::newRow("recall@10 rank 0") << "recall@10" << 0 << 1.0;
    QTest::newRow("recall@10 rank 9") << "recall@10" << 9 << 1.0;
    QTest::newRow("recall@10 rank 10 misses") << "recall@10" << 10 << 0.0;
    QTest::newRow("ndcg@10 rank 0") << "ndcg@10" << 0 << 1.0;
    QTest::newRow("ndcg@10 rank 1 = 1/log2(3)") << "ndcg@10" << 1 << 1.0 / std::log2(3.0);
    QTest::newRow("ndcg@10 rank 3 = 1/log2(5)") << "ndcg@10" << 3 << 1.0 / std::log2(5.0);
    QTest::newRow("ndcg@5 rank 5 misses") << "ndcg@5" << 5 << 0.0;
    QTest::newRow("mrr@10 rank 0") << "mrr@10" << 0 << 1.0;
    QTest::newRow("mrr@10 rank 3 = 1/4") << "mrr@10" << 3 << 0.25;
    QTest::newRow("mrr@10 rank 10 misses") << "mrr@10" << 10 << 0.0;
    QTest::newRow("hr alias") << "hr@5" << 4 << 1.0;
  }
  void singleCase() {
    QFETCH(QString, metric);
    QFETCH(int, rank);
    QFETCH(double, expected);
    MetricName m;
    QVERIFY(MetricName::parse(metric, &m));
    QCOMPARE(metricValue(m, rank), expected);
  }

  void means() {
    // ranks 0, 1, 4, 12: recall@5 = 3/4; ndcg@5 = (1 + 1/log2 3 + 1/log2 6)/4; mrr@5 = (1 + 1/2 + 1/5)/4
    const std::vector<int32_t> ranks{0, 1, 4, 12};
    const auto m = metricsFromRanks(ranks, {5, 20});
    QCOMPARE(m.value("recall@5"), 0.75);
    QVERIFY(std::fabs(m.value("ndcg@5") - (1 + 1 / std::log2(3.0) + 1 / std::log2(6.0)) / 4) < 1e-12);
    QVERIFY(std::fabs(m.value("mrr@5") - (1 + 0.5 + 0.2) / 4) < 1e-12);
    QCOMPARE(m.value("recall@20"), 1.0);
    QCOMPARE(m.size(), 6);
  }

  void malformedNames_data() {
    QTest::addColumn<QString>("text");
    QTest::newRow("no cutoff") << "ndcg";
    QTest::newRow("zero cutoff") << "recall@0";
    QTest::newRow("unknown kind") << "map@10";
    QTest::newRow("garbage") << "@@";
  }
  void malformedNames() {
    QFETCH(QString, text);
    QVERIFY(!MetricName::parse(text, nullptr));
  }

  void perCaseVector() {
    MetricName m{MetricName::Kind::Recall, 2};
    const auto v = perCaseMetric({0, 1, 2, 3}, m);
    QCOMPARE(v, (std::vector<double>{1, 1, 0, 0}));
  }
};

RR_TEST_MAIN(MetricsTest)
#include "tst_metrics.moc"
