// Batches: left padding, truncation to max_len, per-position targets, trimmed width; epoch
// orders cover every unit once and are deterministic.
#include "core/data/batching.h"
#include "test_main.h"

#include <set>

using namespace rr;

namespace {
SequenceData tinyData() {
  SequenceData d;
  d.numItems = 9;
  d.sequences = {{1, 2, 3, 4, 5, 6}, {7, 8, 9}, {2, 4}};
  d.userIds = {"a", "b", "c"};
  d.itemIds = {"", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return d;
}
}  // namespace

class BatchingTest : public QObject {
  Q_OBJECT
 private slots:
  void allPositionsBatch() {
    const auto data = tinyData();
    BatchBuilder b(data, 4);
    std::vector<TrainUnit> units{{0, 6}, {1, 3}};
    Batch batch = b.trainBatch(units, {0, 1}, TargetMode::AllPositions);
    // unit 0: input 1..5 truncated to the last 4 = 2 3 4 5, targets 3 4 5 6
    QCOMPARE(batch.width(), 4);
    QCOMPARE(batch.positionOffset(), 0);
    QVERIFY(torch::equal(batch.items[0], torch::tensor({2, 3, 4, 5}, torch::kLong)));
    QVERIFY(torch::equal(batch.targets[0], torch::tensor({3, 4, 5, 6}, torch::kLong)));
    // unit 1: input 7 8 left-padded, targets 8 9
    QVERIFY(torch::equal(batch.items[1], torch::tensor({0, 0, 7, 8}, torch::kLong)));
    QVERIFY(torch::equal(batch.targets[1], torch::tensor({0, 0, 8, 9}, torch::kLong)));
    QVERIFY(torch::equal(batch.target, torch::tensor({6, 9}, torch::kLong)));
  }

  void widthIsTrimmedToTheLongestRow() {
    const auto data = tinyData();
    BatchBuilder b(data, 50);
    std::vector<TrainUnit> units{{1, 3}, {2, 2}};
    Batch batch = b.trainBatch(units, {0, 1}, TargetMode::Last);
    QCOMPARE(batch.width(), 2);
    QCOMPARE(batch.positionOffset(), 48);
    QVERIFY(torch::equal(batch.items, torch::tensor({{7, 8}, {0, 2}}, torch::kLong)));
    QVERIFY(torch::equal(batch.target, torch::tensor({9, 4}, torch::kLong)));
    QVERIFY(!batch.targets.defined());
  }

  void evalBatchAndHistory() {
    const auto data = tinyData();
    BatchBuilder b(data, 3);
    std::vector<EvalCase> cases{{0, 5}, {1, 2}};
    Batch batch = b.evalBatch(cases, {0, 1});
    QVERIFY(torch::equal(batch.items, torch::tensor({{3, 4, 5}, {0, 7, 8}}, torch::kLong)));
    QVERIFY(torch::equal(batch.target, torch::tensor({6, 9}, torch::kLong)));
    auto [rows, items] = b.historyIndex(cases, {0, 1});
    QCOMPARE(rows.numel(), int64_t(7));  // full histories, not truncated: 5 + 2
    QVERIFY(torch::equal(items, torch::tensor({1, 2, 3, 4, 5, 7, 8}, torch::kLong)));
  }

  void epochOrderCoversEveryUnitOnce_data() {
    QTest::addColumn<bool>("bucketing");
    QTest::newRow("shuffled") << false;
    QTest::newRow("bucketed") << true;
  }
  void epochOrderCoversEveryUnitOnce() {
    QFETCH(bool, bucketing);
    std::vector<int> lengths;
    for (int i = 0; i < 1000; ++i) lengths.push_back(1 + (i * 7919) % 50);
    const auto batches = epochBatches(lengths, 16, bucketing, 5);
    std::multiset<int64_t> seen;
    for (const auto& b : batches) seen.insert(b.begin(), b.end());
    QCOMPARE(static_cast<int>(seen.size()), 1000);
    QCOMPARE(static_cast<int>(std::set<int64_t>(seen.begin(), seen.end()).size()), 1000);
    QCOMPARE(epochBatches(lengths, 16, bucketing, 5), batches);   // deterministic
    QVERIFY(epochBatches(lengths, 16, bucketing, 6) != batches);  // seed matters
    if (bucketing) {
      // Bucketing makes batches nearly uniform in length: the mean spread is small.
      double spread = 0;
      for (const auto& b : batches) {
        int lo = 1000, hi = 0;
        for (auto r : b) lo = std::min(lo, lengths[r]), hi = std::max(hi, lengths[r]);
        spread += hi - lo;
      }
      QVERIFY(spread / batches.size() < 5);
    }
  }
};

RR_TEST_MAIN(BatchingTest)
#include "tst_batching.moc"
