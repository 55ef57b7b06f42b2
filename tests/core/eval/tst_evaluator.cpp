// Full-ranking rank computation: padding column, ties, history masking, divergence; batches
// ranked concurrently agree with one at a time, and cancellation and errors reach the caller.
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/errors.h"
#include "core/eval/evaluator.h"
#include "core/eval/fused_ranking.h"
#include "core/runtime.h"
#include "test_main.h"

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <numeric>
#include <set>
#include <thread>

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

/// Ranks from exact scores (double precision): items 1..N at least the target's, minus itself,
/// masked pairs excluded.
std::vector<int64_t> referenceRanks(const torch::Tensor& reps, const torch::Tensor& table, const torch::Tensor& target,
                                    const torch::Tensor& maskRows = {}, const torch::Tensor& maskItems = {}) {
  auto s = torch::mm(reps.to(torch::kDouble), table.to(torch::kDouble).t());
  std::vector<int64_t> out;
  for (int64_t b = 0; b < reps.size(0); ++b) {
    const int64_t t = target[b].item<int64_t>();
    std::set<int64_t> masked;
    for (int64_t i = 0; maskRows.defined() && i < maskRows.numel(); ++i)
      if (maskRows[i].item<int64_t>() == b && maskItems[i].item<int64_t>() != t) masked.insert(maskItems[i].item<int64_t>());
    int64_t n = 0;
    for (int64_t j = 1; j < table.size(0); ++j)
      n += !masked.count(j) && s[b][j].item<double>() >= s[b][t].item<double>() ? 1 : 0;
    out.push_back(n - 1);
  }
  return out;
}

std::vector<int64_t> toVector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::vector<CpuIsa> supportedIsas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::Auto, CpuIsa::Avx512, CpuIsa::Avx2, CpuIsa::Baseline})
    if (cpuIsaSupported(isa)) out.push_back(isa);
  return out;
}

EvalOptions batchesOf(int size, int workers) {
  EvalOptions o;
  o.batchSize = size;
  o.workers = workers;
  return o;
}

/// Forwards to `inner` (a submodule, so it follows eval()), calling `onRepresent` on the ranking thread before each batch.
class GatedModel : public RecommenderImpl {
 public:
  GatedModel(Recommender inner, std::function<void()> onRepresent)
      : inner_(register_module("inner", std::move(inner))), onRepresent_(std::move(onRepresent)) {}
  LossOutput loss(const Batch& batch, const LossContext& ctx) override { return inner_->loss(batch, ctx); }
  torch::Tensor represent(const Batch& batch) override {
    onRepresent_();
    return inner_->represent(batch);
  }
  torch::Tensor itemTable() override { return inner_->itemTable(); }
  double flopsPerSample(double seqLen) const override { return inner_->flopsPerSample(seqLen); }

 private:
  Recommender inner_;
  std::function<void()> onRepresent_;
};

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

  void fusedRanksMatchExactScores() {
    // Gaussian data of every remainder: users per tile, items per panel, dimensions.
    torch::manual_seed(7);
    const std::vector<std::array<int64_t, 3>> shapes{{1, 1, 1}, {7, 33, 17}, {13, 100, 64}, {50, 1000, 64}, {6, 64, 3}};
    for (const auto& [B, N, d] : shapes) {
      const auto reps = torch::randn({B, d}), table = torch::randn({N + 1, d});
      const auto target = torch::randint(1, N + 1, {B}, torch::kLong);
      const auto expected = referenceRanks(reps, table, target);
      for (CpuIsa isa : supportedIsas())
        QCOMPARE(toVector(fusedTargetRanks(reps, table, target, {}, {}, isa)), expected);
      // And the BLAS path agrees on data without near-ties.
      QCOMPARE(toVector(FullRankingEvaluator::ranksFromScores(torch::mm(reps, table.t()), target)), expected);
    }
  }

  void fusedRanksCountTiesAgainstTheTarget() {
    // Small integers: every score is exact, so ties are real ties, in any summation order.
    torch::manual_seed(8);
    const int64_t B = 20, N = 77, d = 5;
    const auto reps = torch::randint(-2, 3, {B, d}).to(torch::kFloat);
    auto table = torch::randint(-2, 3, {N + 1, d}).to(torch::kFloat);
    table[9] = table[4];  // a duplicate of some target rows
    auto target = torch::randint(1, N + 1, {B}, torch::kLong);
    target[0] = 4;
    const auto expected = referenceRanks(reps, table, target);
    QVERIFY(expected[0] >= 1);  // item 9 ties with target 4 and counts against it
    for (CpuIsa isa : supportedIsas())
      QCOMPARE(toVector(fusedTargetRanks(reps, table, target, {}, {}, isa)), expected);
    // A constant table: every item ties, the worst rank N-1 for all.
    const auto flat = fusedTargetRanks(reps, torch::ones({N + 1, d}), target);
    QCOMPARE(flat.min().item<int64_t>(), N - 1);
    QCOMPARE(flat.max().item<int64_t>(), N - 1);
  }

  void fusedRanksHonourTheHistoryMask() {
    torch::manual_seed(9);
    const int64_t B = 9, N = 40, d = 4;
    const auto reps = torch::randint(-2, 3, {B, d}).to(torch::kFloat);
    const auto table = torch::randint(-2, 3, {N + 1, d}).to(torch::kFloat);
    const auto target = torch::randint(1, N + 1, {B}, torch::kLong);
    // Repeats, the target itself and more than a panel's worth of items for one row.
    std::vector<int64_t> rows, items;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < 5; ++i) rows.push_back(b), items.push_back(1 + (b * 7 + i * 3) % N);
    rows.push_back(2), items.push_back(target[2].item<int64_t>());
    rows.push_back(3), items.push_back(items[15]);
    for (int64_t j = 1; j <= N; ++j) rows.push_back(5), items.push_back(j);
    const auto mr = torch::tensor(rows, torch::kLong), mi = torch::tensor(items, torch::kLong);
    const auto expected = referenceRanks(reps, table, target, mr, mi);
    QCOMPARE(expected[5], int64_t{0});  // every other item masked
    for (CpuIsa isa : supportedIsas())
      QCOMPARE(toVector(fusedTargetRanks(reps, table, target, mr, mi, isa)), expected);
    QCOMPARE(toVector(FullRankingEvaluator::ranksFromScores(torch::mm(reps, table.t()), target, mr, mi)), expected);
  }

  void fusedRanksRejectBadTargets() {
    auto table = torch::randn({11, 4});
    auto reps = torch::randn({3, 4});
    auto expectRunError = [&](const torch::Tensor& r, const torch::Tensor& t, const QString& words) {
      try {
        fusedTargetRanks(r, table, t);
      } catch (const RunError& e) {
        return e.message().contains(words);
      }
      return false;
    };
    QVERIFY(expectRunError(reps, torch::tensor({1, 11, 2}, torch::kLong), "not an item"));
    QVERIFY(expectRunError(reps, torch::tensor({1, 0, 2}, torch::kLong), "not an item"));
    auto nanRep = reps.clone();
    nanRep[1][2] = std::nanf("");
    QVERIFY(expectRunError(nanRep, torch::tensor({1, 5, 2}, torch::kLong), "non-finite"));
    // A non-finite score elsewhere is never counted, as in ranksFromScores.
    auto nanItem = table.clone();
    nanItem[7][0] = std::nanf("");
    const auto target = torch::tensor({1, 5, 2}, torch::kLong);
    QCOMPARE(toVector(fusedTargetRanks(reps, nanItem, target)),
             toVector(FullRankingEvaluator::ranksFromScores(torch::mm(reps, nanItem.t()), target)));
  }

  void concurrentBatchesRankLikeOneAtATime() {
    // One thread in both pools, as each worker has: the serial run then ranks the same way.
    const runtime::ThreadSplit before = runtime::currentSplit();
    runtime::applySplit({1, 1});
    for (const char* preset : {"sasrec", "bert4rec", "gru4rec", "fmlprec", "rearec-erl", "rearec-prl", "plr-fast", "lares", "hybrid"}) {
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
    runtime::applySplit(before.torch > 0 ? before : runtime::ThreadSplit{1, 1});
  }

  void evaluationRanksMatchExactScores() {
    // The evaluator's path (register ranking on one thread, the BLAS otherwise) against exact
    // scores of the same representations, with and without the history mask.
    const runtime::ThreadSplit before = runtime::currentSplit();
    for (runtime::ThreadSplit split : {runtime::ThreadSplit{1, 1}, runtime::ThreadSplit{1, 2}}) {
      runtime::applySplit(split);
      for (HistoryMask mask : {HistoryMask::None, HistoryMask::ExcludeSeen}) {
        Tiny t{"sasrec"};
        EvalOptions o = batchesOf(6, 1);
        o.historyMask = mask;
        const EvalResult e = FullRankingEvaluator(t.builder, o, torch::kCPU).evaluate(*t.model, t.cases);
        std::vector<int64_t> rows(t.cases.size());
        std::iota(rows.begin(), rows.end(), 0);
        torch::NoGradGuard ng;
        t.model->eval();
        const Batch all = t.builder.evalBatch(t.cases, rows);
        torch::Tensor mr, mi;
        if (mask == HistoryMask::ExcludeSeen) std::tie(mr, mi) = t.builder.historyIndex(t.cases, rows);
        const auto expected = referenceRanks(t.model->represent(all), t.model->itemTable(), all.target, mr, mi);
        QCOMPARE(std::vector<int64_t>(e.ranks.begin(), e.ranks.end()), expected);
      }
    }
    runtime::applySplit(before.torch > 0 ? before : runtime::ThreadSplit{1, 1});
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

  void aBlockedProgressCallbackHoldsTheOtherWorkers() {
    // A paused job blocks in the progress callback: the other workers must not run on. The
    // helper worker is held inside its first batch until the callback is first entered, so the
    // reporting thread's first batch always comes before the helper could rank them all (a
    // loaded machine once let the helper finish every batch first, and the test saw nothing).
    Tiny t{"sasrec"};
    const std::thread::id reporter = std::this_thread::get_id();
    std::atomic<bool> callbackEntered{false};
    std::atomic<int> representCalls{0};
    GatedModel gated(t.model, [&] {
      ++representCalls;
      if (std::this_thread::get_id() == reporter) return;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!callbackEntered.load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    std::vector<int64_t> reported;
    int callsWhileBlocked = -1;
    const EvalResult e = FullRankingEvaluator(t.builder, batchesOf(4, 2), torch::kCPU)
                             .evaluate(gated, t.cases, [&](int64_t done, int64_t) {
                               if (reported.empty()) {
                                 const int before = representCalls.load();
                                 callbackEntered.store(true);
                                 std::this_thread::sleep_for(std::chrono::milliseconds(300));
                                 callsWhileBlocked = representCalls.load() - before;
                               }
                               reported.push_back(done);
                             });
    const int64_t total = static_cast<int64_t>(t.cases.size());
    QCOMPARE(static_cast<int64_t>(e.ranks.size()), total);
    QCOMPARE(callsWhileBlocked, 0);  // the helper finished the batch it held and claimed no other
    QVERIFY(reported.size() >= 3);
    QVERIFY2(reported[0] < total, "the helper worker was held, so batches remained after the first report");
    QCOMPARE(reported.back(), total);
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
