// Full-ranking rank computation: padding column, ties, history masking, divergence; batches
// ranked concurrently agree with one at a time, and cancellation and errors reach the caller.
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/errors.h"
#include "core/eval/evaluator.h"
#include "core/runtime.h"
#include "test_main.h"

#include <atomic>

using namespace rr;

namespace {

/// A small model of `preset` (d 16, max_len 10) on 70 synthetic users, with leave-one-out
/// test cases of every length up to max_len.
struct Tiny {
  SequenceData data = preprocess(generateSynthetic(parseSyntheticSpec("synthetic:users=70,items=40,clusters=3,length=7,seed=5")),
                                 PreprocessOptions());
  BatchBuilder builder{data, 10};
  std::vector<EvalCase> cases;
  Recommender model;
  explicit Tiny(const QString& preset) {
    RunConfig cfg = RunConfig::fromPreset(preset);
    cfg.set("model.d", 16);
    cfg.set("data.max_len", 10);
    torch::manual_seed(2);
    model = buildRecommender(cfg, data.numItems);
    for (int u = 0; u < data.numUsers(); ++u)
      cases.push_back({u, static_cast<int32_t>(data.sequences[u].size() - 1)});
  }
};

EvalOptions batchesOf(int size, int workers) {
  EvalOptions o;
  o.batchSize = size;
  o.workers = workers;
  return o;
}

}  // namespace

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

  void concurrentBatchesRankLikeOneAtATime() {
    const int blas = runtime::setBlasThreads(1);  // the workers' BLAS, for the serial run too
    for (const char* preset : {"sasrec", "plr-fast", "rearec-prl", "gru4rec", "bert4rec"}) {
      for (HistoryMask mask : {HistoryMask::None, HistoryMask::ExcludeSeen}) {
        Tiny t{QString::fromLatin1(preset)};
        t.model->train();
        EvalOptions one = batchesOf(6, 1), three = batchesOf(6, 3);
        one.historyMask = three.historyMask = mask;
        const EvalResult a = FullRankingEvaluator(t.builder, one, torch::kCPU).evaluate(*t.model, t.cases);
        std::vector<int64_t> reported;
        const EvalResult b = FullRankingEvaluator(t.builder, three, torch::kCPU)
                                 .evaluate(*t.model, t.cases, [&](int64_t done, int64_t) { reported.push_back(done); });
        QVERIFY2(a.ranks == b.ranks, preset);
        QCOMPARE(b.ranks.size(), t.cases.size());
        QVERIFY(t.model->is_training());  // the mode is restored
        // Progress only grows and ends at the total.
        QVERIFY(std::is_sorted(reported.begin(), reported.end()));
        QCOMPARE(reported.back(), static_cast<int64_t>(t.cases.size()));
        // Not all at the same rank (the comparison above would then prove little).
        QVERIFY(*std::max_element(a.ranks.begin(), a.ranks.end()) > *std::min_element(a.ranks.begin(), a.ranks.end()));
      }
    }
    if (blas > 0) runtime::setBlasThreads(blas);
  }

  void cancellingStopsEveryWorker() {
    Tiny t{"sasrec"};
    const int blas = runtime::setBlasThreads(3);
    std::atomic<int> calls{0};
    bool cancelled = false;
    try {
      FullRankingEvaluator(t.builder, batchesOf(4, 2), torch::kCPU).evaluate(*t.model, t.cases, [&](int64_t, int64_t) {
        ++calls;
        throw CancelledError();
      });
    } catch (const CancelledError&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
    QCOMPARE(calls.load(), 1);
    QVERIFY(t.model->is_training());
    if (blas > 0) QCOMPARE(runtime::setBlasThreads(blas), 3);  // OpenBLAS's pool was put back
  }

  void aWorkersErrorReachesTheCaller() {
    Tiny t{"sasrec"};
    {
      torch::NoGradGuard ng;
      for (auto& p : t.model->parameters()) p.fill_(std::nanf(""));
    }
    bool thrown = false;
    try {
      FullRankingEvaluator(t.builder, batchesOf(4, 3), torch::kCPU).evaluate(*t.model, t.cases);
    } catch (const RunError& e) {
      thrown = e.message().contains("non-finite");
    }
    QVERIFY(thrown);
  }

  void workersFollowTheThreadSplit() {
    Tiny t{"sasrec"};
    const runtime::ThreadSplit before = runtime::currentSplit();
    const FullRankingEvaluator automatic(t.builder, batchesOf(8, 0), torch::kCPU);
    runtime::applySplit({2, 1});
    QCOMPARE(automatic.workersFor(torch::kCPU), 1);  // LibTorch's pool already spans the cores
    runtime::applySplit({1, 2});
    QCOMPARE(automatic.workersFor(torch::kCPU), runtime::blasThreadsControllable() ? 2 : 1);
    QCOMPARE(automatic.workersFor(torch::Device(torch::kCUDA)), 1);
    QCOMPARE(FullRankingEvaluator(t.builder, batchesOf(8, 3), torch::kCPU).workersFor(torch::kCPU), 3);
    runtime::applySplit(before.torch > 0 ? before : runtime::ThreadSplit{1, 1});
  }
};

RR_TEST_MAIN(EvaluatorTest)
#include "tst_evaluator.moc"
