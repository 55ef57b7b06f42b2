// Full-ranking rank computation: padding column, ties, history masking, divergence.
#include "core/errors.h"
#include "core/eval/evaluator.h"
#include "test_main.h"

using namespace rr;

class EvaluatorTest : public QObject {
  Q_OBJECT
 private slots:
  void ranksCountHigherItems() {
    // items 0..4 (0 = padding). Row 0: target 2 with score 0.5, items 3 and 4 higher -> rank 2.
    auto scores = torch::tensor({{9.0f, 0.1f, 0.5f, 0.7f, 0.9f}, {9.0f, 0.9f, 0.1f, 0.2f, 0.3f}});
    auto target = torch::tensor({2, 1}, torch::kLong);
    auto r = FullRankingEvaluator::ranksFromScores(scores.clone(), target);
    QCOMPARE(r[0].item<int64_t>(), 2);  // padding's 9.0 is never ranked
    QCOMPARE(r[1].item<int64_t>(), 0);
  }

  void tiesCountAgainstTheTarget() {
    auto scores = torch::zeros({1, 6});
    auto r = FullRankingEvaluator::ranksFromScores(scores, torch::tensor({3}, torch::kLong));
    QCOMPARE(r[0].item<int64_t>(), 4);  // a constant scorer gets the worst rank among 5 items
  }

  void historyMaskSkipsSeenItemsButNotTheTarget() {
    auto scores = torch::tensor({{0.0f, 0.9f, 0.8f, 0.1f, 0.7f}});
    auto target = torch::tensor({3}, torch::kLong);
    QCOMPARE(FullRankingEvaluator::ranksFromScores(scores.clone(), target)[0].item<int64_t>(), 3);
    // user saw items 1, 2 and (repeat consumption) 3 itself
    auto rows = torch::tensor({0, 0, 0}, torch::kLong);
    auto items = torch::tensor({1, 2, 3}, torch::kLong);
    QCOMPARE(FullRankingEvaluator::ranksFromScores(scores.clone(), target, rows, items)[0].item<int64_t>(), 1);
  }

  void nonFiniteScoresAreAnError() {
    auto scores = torch::tensor({{0.0f, std::nanf(""), 0.2f}});
    bool thrown = false;
    try {
      FullRankingEvaluator::ranksFromScores(scores, torch::tensor({1}, torch::kLong));
    } catch (const RunError& e) {
      thrown = e.message().contains("non-finite");
    }
    QVERIFY(thrown);
  }
};

RR_TEST_MAIN(EvaluatorTest)
#include "tst_evaluator.moc"
