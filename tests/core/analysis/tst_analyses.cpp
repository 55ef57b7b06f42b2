// The analyses of SPEC §6 against hand-computed values. A test-only reasoner with S > 1 steps,
// M = 2 streams and a gate plants which reasoning state hits the target for which user, so the
// oracle ceiling, per-candidate metrics, depth sweep, diversity and inspector ranks are known
// exactly; the real SASRec provides the attention and robustness checks.
#include "core/analysis/analyses.h"
#include "core/data/synthetic.h"
#include "core/data/preprocess.h"
#include "core/eval/metrics.h"
#include "core/errors.h"
#include "test_main.h"

#include <chrono>
#include <numeric>
#include <thread>

using namespace rr;

namespace {

constexpr int kItems = 40;   // misses rank at N-1 = 39 >= 20, so they score 0 @20
constexpr int kUsers = 23;
constexpr int kStreams = 2;

/// Step/stream state j (0 = final, 1 + s*M + m) hits the target for users with u % C == j,
/// where C = S*M + 1; every other state points at a fixed wrong item.
class PlantedReasonerImpl : public RecommenderImpl {
 public:
  explicit PlantedReasonerImpl(int trainedSteps) : trained_(trainedSteps), steps_(trainedSteps) {
    table_ = register_buffer("table", torch::eye(kItems + 1));
  }
  LossOutput loss(const Batch&, const LossContext&) override { throw std::logic_error("not trainable"); }
  torch::Tensor represent(const Batch& b) override { return trace(b, false).final; }
  ReasoningTrace trace(const Batch& b, bool withAttention) override {
    const int S = steps_ + 1, C = S * kStreams + 1;
    const int64_t B = b.size();
    ReasoningTrace t;
    t.states = torch::zeros({B, S, kStreams, kItems + 1});
    t.final = torch::zeros({B, kItems + 1});
    for (int64_t i = 0; i < B; ++i) {
      const int64_t u = b.users[i].item<int64_t>(), target = b.target[i].item<int64_t>();
      const int64_t miss = target % kItems + 1;
      const int64_t hit = u % C;
      t.final[i][hit == 0 ? target : miss] = 1;
      for (int s = 0; s < S; ++s)
        for (int m = 0; m < kStreams; ++m) t.states[i][s][m][hit == 1 + s * kStreams + m ? target : miss] = 1;
    }
    t.gate = torch::tensor({0.25f, 0.75f}).unsqueeze(0).expand({B, kStreams}).contiguous();
    if (withAttention)
      for (int s = 0; s < S; ++s)
        for (int m = 0; m < kStreams; ++m)
          for (int layer = 0; layer < 2; ++layer) {
            AttentionRecord r;
            r.step = s;
            r.stream = m;
            r.layer = layer;
            r.itemKeys = b.width();
            r.weights = torch::softmax(torch::randn({B, 2, b.width() + s}), -1);
            t.attention.push_back(r);
          }
    return t;
  }
  torch::Tensor itemTable() override { return table_; }
  double flopsPerSample(double seqLen) const override { return 1000.0 * seqLen * (steps_ + 1) + rankingFlops(kItems + 1, kItems); }
  void setEvalSteps(int steps) override { steps_ = steps > 0 ? steps : trained_; }
  int evalSteps() const override { return steps_; }

 private:
  int trained_, steps_;
  torch::Tensor table_;
};

/// The planted reasoner whose requests take `steps` ms longer per step (a sleep), and which logs
/// the depth it answers each request at: its cost is known and the order of requests visible.
class SleepyReasonerImpl : public PlantedReasonerImpl {
 public:
  using PlantedReasonerImpl::PlantedReasonerImpl;
  torch::Tensor represent(const Batch& b) override {
    log.push_back(evalSteps());
    std::this_thread::sleep_for(std::chrono::milliseconds(evalSteps()));
    return PlantedReasonerImpl::represent(b);
  }
  std::vector<int> log;
};

SequenceData plantedData() {
  SequenceData d;
  d.numItems = kItems;
  for (int u = 0; u < kUsers; ++u) {
    std::vector<int32_t> seq;
    for (int j = 0; j < 6; ++j) seq.push_back((u * 3 + j) % kItems + 1);
    d.sequences.push_back(seq);
    d.userIds.append(QStringLiteral("u%1").arg(u));
  }
  d.itemIds.append(QString());
  for (int i = 1; i <= kItems; ++i) d.itemIds.append(QStringLiteral("item%1").arg(i));
  return d;
}

std::vector<EvalCase> lastItemCases(const SequenceData& d) {
  std::vector<EvalCase> cases;
  for (int u = 0; u < d.numUsers(); ++u) cases.push_back({u, static_cast<int32_t>(d.sequences[u].size() - 1)});
  return cases;
}

double fractionWith(int C, int j) {
  int n = 0;
  for (int u = 0; u < kUsers; ++u) n += u % C == j ? 1 : 0;
  return static_cast<double>(n) / kUsers;
}

EvalOptions smallBatches() {
  EvalOptions o;
  o.batchSize = 5;  // several batches
  return o;
}

/// A d-16 SASRec on 60 synthetic users, in eval mode, with its batch builder and test cases.
struct TinySasrec {
  RunConfig cfg = RunConfig::fromPreset("sasrec");
  SequenceData data = preprocess(generateSynthetic(parseSyntheticSpec("synthetic:users=60,items=30,clusters=3,length=8,seed=3")), PreprocessOptions());
  Recommender model;
  BatchBuilder builder{data, 10};
  std::vector<EvalCase> cases = lastItemCases(data);
  TinySasrec() {
    cfg.set("model.d", 16);
    cfg.set("data.max_len", 10);
    torch::manual_seed(1);
    model = buildRecommender(cfg, data.numItems);
    model->eval();
  }
};

}  // namespace

class AnalysesTest : public QObject {
  Q_OBJECT
 private slots:
  void oracleMatchesPlantedHits() {
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    const FullRankingEvaluator evaluator(builder, smallBatches(), torch::kCPU);
    PlantedReasonerImpl model(2);
    const auto cases = lastItemCases(data);
    const OracleRun r = oracleCeiling(model, evaluator, cases, 20);
    const int C = 3 * kStreams + 1;
    QCOMPARE(r.steps, 3);
    QCOMPARE(r.streams, kStreams);
    QCOMPARE(r.candidates.size(), C);
    QVERIFY(r.candidates[0].final);
    // A hit ranks first (NDCG 1, Recall 1); a miss ranks 39th of 40 (0 at @20).
    QCOMPARE(r.currentNdcg, fractionWith(C, 0));
    QCOMPARE(r.currentRecall, fractionWith(C, 0));
    QCOMPARE(r.oracleNdcg, 1.0);
    QCOMPARE(r.oracleRecall, 1.0);
    for (int j = 1; j < C; ++j) {
      QCOMPARE(r.candidates[j].step, (j - 1) / kStreams);
      QCOMPARE(r.candidates[j].stream, (j - 1) % kStreams);
      QCOMPARE(r.candidates[j].ndcg, fractionWith(C, j));
      QCOMPARE(r.candidates[j].bestShare, fractionWith(C, j));
    }
    // The current metric is the plain evaluation of the final representation.
    const EvalResult plain = evaluator.evaluate(model, cases);
    QCOMPARE(r.currentNdcg, plain.metrics.value("ndcg@20"));
  }

  void oracleRespectsCandidateFlags() {
    // Only step 2 stream 1 is a candidate: the oracle covers final + that state.
    struct Flagged : PlantedReasonerImpl {
      Flagged() : PlantedReasonerImpl(2) {}
      ReasoningTrace trace(const Batch& b, bool a) override {
        auto t = PlantedReasonerImpl::trace(b, a);
        t.candidate.assign(3, std::vector<bool>(kStreams, false));
        t.candidate[2][1] = true;
        return t;
      }
    } model;
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    const FullRankingEvaluator evaluator(builder, smallBatches(), torch::kCPU);
    const OracleRun r = oracleCeiling(model, evaluator, lastItemCases(data), 20);
    QCOMPARE(r.candidates.size(), 2);
    const int C = 7;
    QCOMPARE(r.oracleNdcg, fractionWith(C, 0) + fractionWith(C, 1 + 2 * kStreams + 1));
  }

  void depthSweepChangesAndRestoresDepth() {
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    const FullRankingEvaluator evaluator(builder, smallBatches(), torch::kCPU);
    PlantedReasonerImpl model(2);
    const DepthRun r = depthSweep(model, evaluator, lastItemCases(data), {1, 2, 4});
    QVERIFY(r.supported);
    QCOMPARE(r.steps, (QVector<int>{1, 2, 4}));
    for (int i = 0; i < 3; ++i) {
      const int C = (r.steps[i] + 1) * kStreams + 1;  // the final state hits users with u % C == 0
      QCOMPARE(r.metrics[i].value("recall@20"), fractionWith(C, 0));
    }
    QCOMPARE(model.evalSteps(), 2);
  }

  void streamDiversityAndGates() {
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    PlantedReasonerImpl model(2);
    const auto cases = lastItemCases(data);
    const DiversityRun r = streamDiversity(model, builder, cases, torch::kCPU, 20, 4);
    QCOMPARE(r.steps, 3);
    QCOMPARE(r.streams, kStreams);
    // Two one-hot states are 2 apart (squared) when they point at different items, else 0:
    // at step s the streams differ exactly for users whose hit is one of that step's streams.
    const int C = 3 * kStreams + 1;
    for (int s = 0; s < 3; ++s) {
      std::vector<double> d;
      for (int u = 0; u < kUsers; ++u) d.push_back(u % C == 1 + s * kStreams || u % C == 2 + s * kStreams ? 2.0 : 0.0);
      const double mean = std::accumulate(d.begin(), d.end(), 0.0) / d.size();
      QVERIFY(std::abs(r.diversityMean[s] - mean) < 1e-12);
    }
    QVERIFY(r.hasGate);
    QVERIFY(std::abs(r.gateMean[0] - 0.25) < 1e-7);
    QVERIFY(std::abs(r.gateMean[1] - 0.75) < 1e-7);
    QVERIFY(r.gateStd[0] < 1e-7);
    QCOMPARE(r.gateHistogram[0][5], 1.0);   // 0.25 falls in bin [0.25, 0.30)
    QCOMPARE(r.gateHistogram[1][15], 1.0);  // 0.75 in [0.75, 0.80)
  }

  void inspectorRanksAndTopItems() {
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 4);  // history window shorter than the sequences
    PlantedReasonerImpl model(2);
    const auto cases = lastItemCases(data);
    const int user = 10;  // 10 % 7 = 3: step 1, stream 0 hits
    const InspectorData d = inspectCase(model, builder, EvalOptions(), cases, user, torch::kCPU, 10);
    QCOMPARE(d.userId, QStringLiteral("u10"));
    QCOMPARE(d.history.size(), 4);
    QCOMPARE(d.history.last(), data.sequences[user][4]);
    QCOMPARE(d.historyLabels.last(), QStringLiteral("item%1").arg(data.sequences[user][4]));
    QCOMPARE(d.target, data.sequences[user][5]);
    QCOMPARE(d.steps, 3);
    QCOMPARE(d.streams, kStreams);
    QCOMPARE(d.maps.size(), 3 * kStreams * 2);
    for (int s = 0; s < 3; ++s)
      for (int m = 0; m < kStreams; ++m) QCOMPARE(d.ranks[s][m], s == 1 && m == 0 ? 0 : kItems - 1);
    QCOMPARE(d.finalRank, kItems - 1);
    QCOMPARE(d.gate.size(), kStreams);
    for (const auto& t : d.top) {
      QCOMPARE(t.items.size(), 10);
      QVERIFY(!t.items.contains(0));
      if (t.step == 1 && t.stream == 0) QCOMPARE(t.items.first(), d.target);
      else QCOMPARE(t.items.first(), d.target % kItems + 1);
    }
    // JSON round trip keeps everything.
    const InspectorData back = InspectorData::fromJson(d.toJson());
    QCOMPARE(back.ranks, d.ranks);
    QCOMPARE(back.maps.size(), d.maps.size());
    QCOMPARE(back.maps[3].weights, d.maps[3].weights);
    QCOMPARE(back.top[2].labels, d.top[2].labels);
  }

  void sasrecAttentionRowsSumToOne() {
    TinySasrec t;
    const RunConfig& cfg = t.cfg;
    Recommender model = t.model;
    const BatchBuilder& builder = t.builder;
    const auto& cases = t.cases;
    const InspectorData d = inspectCase(*model, builder, EvalOptions(), cases, 7, torch::kCPU);
    QCOMPARE(d.steps, 1);
    QCOMPARE(d.maps.size(), cfg.getInt("model.layers"));
    for (const auto& m : d.maps) {
      QCOMPARE(m.itemKeys, d.history.size());
      QCOMPARE(m.weights.size(), cfg.getInt("model.heads"));
      for (const auto& head : m.weights) {
        QCOMPARE(head.size(), d.history.size());
        const double sum = std::accumulate(head.begin(), head.end(), 0.0);
        QVERIFY2(std::abs(sum - 1.0) < 1e-5, qPrintable(QString::number(sum)));
        for (double w : head) QVERIFY(w >= 0);
      }
      const auto avg = InspectorData::headAverage(m);
      QVERIFY(std::abs(std::accumulate(avg.begin(), avg.end(), 0.0) - 1.0) < 1e-5);
    }
    // The final rank is the evaluator's rank of the same case.
    const FullRankingEvaluator evaluator(builder, EvalOptions(), torch::kCPU);
    const EvalResult e = evaluator.evaluate(*model, cases);
    QCOMPARE(d.finalRank, e.ranks[7]);
    QCOMPARE(d.ranks[0][0], e.ranks[7]);
  }

  void dropHistoryItemsCountsAndSeeds() {
    const SequenceData data = plantedData();
    const auto cases = lastItemCases(data);
    SequenceData a, b, c, zero;
    const auto ca = dropHistoryItems(data, cases, 0.4, 7, &a);
    dropHistoryItems(data, cases, 0.4, 7, &b);
    dropHistoryItems(data, cases, 0.4, 8, &c);
    const auto cz = dropHistoryItems(data, cases, 0.0, 7, &zero);
    QCOMPARE(a.sequences, b.sequences);  // seeded
    QVERIFY(a.sequences != c.sequences);
    for (int i = 0; i < kUsers; ++i) {
      const auto& orig = data.sequences[i];
      QCOMPARE(ca[i].pos, 5 - 2);  // round(0.4 * 5) = 2 removed
      QCOMPARE(a.sequences[i].back(), orig.back());  // the target stays
      // What is left is a subsequence of the history, in order.
      size_t k = 0;
      for (int32_t item : orig) if (k + 1 < a.sequences[i].size() && a.sequences[i][k] == item) ++k;
      QCOMPARE(k + 1, a.sequences[i].size());
      QCOMPARE(zero.sequences[i], orig);
      QCOMPARE(cz[i].pos, 5);
    }
    // At least one history item always stays.
    SequenceData all;
    const auto call = dropHistoryItems(data, cases, 0.95, 1, &all);
    for (const auto& cc : call) QCOMPARE(cc.pos, 1);
  }

  void robustnessAtZeroDropIsThePlainEvaluation() {
    RunConfig cfg = RunConfig::fromPreset("sasrec");
    cfg.set("model.d", 16);
    cfg.set("data.max_len", 6);
    const SequenceData data = preprocess(generateSynthetic(parseSyntheticSpec("synthetic:users=80,items=30,clusters=3,length=9,seed=4")), PreprocessOptions());
    torch::manual_seed(2);
    Recommender model = buildRecommender(cfg, data.numItems);
    model->eval();
    const BatchBuilder builder(data, 6);
    const auto cases = lastItemCases(data);
    for (HistoryMask mask : {HistoryMask::None, HistoryMask::ExcludeSeen}) {
      EvalOptions o = smallBatches();
      o.historyMask = mask;
      const FullRankingEvaluator evaluator(builder, o, torch::kCPU);
      const EvalResult plain = evaluator.evaluate(*model, cases);
      const RobustnessRun r = robustnessCurve(*model, data, 6, o, torch::kCPU, cases, {0.0, 0.3}, 2, 5, 20);
      QCOMPARE(r.ndcgMean[0], plain.metrics.value("ndcg@20"));  // exactly
      QCOMPARE(r.recallMean[0], plain.metrics.value("recall@20"));
      QCOMPARE(r.ndcgStd[0], 0.0);
      QVERIFY(r.ndcgMean[1] != plain.metrics.value("ndcg@20"));
    }
  }

  void efficiencyFigures() {
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    PlantedReasonerImpl model(2);
    const auto cases = lastItemCases(data);
    const auto rows = measureEfficiencySideBySide({{&model, &builder, &cases, torch::kCPU, 0}}, 10);
    QCOMPARE(static_cast<int>(rows.size()), 1);
    const EfficiencyRow& r = rows.front();
    QCOMPARE(r.steps, 2);
    QCOMPARE(r.flopsPerSample, 1000.0 * 5 * 3 + 2.0 * (kItems + 1) * kItems);  // 5 history items, 3 states
    QVERIFY(r.batch1P50 > 0 && r.batch1P99 >= r.batch1P50);
    QVERIFY(r.batch256P50 > 0 && r.throughput > 0);
    QVERIFY(r.peakRssMb > 0);
    // The request's calls: batch building, the planted representation, scoring and the top 10.
    QVERIFY(r.batch1OperatorCalls > 5);
    QCOMPARE(r.batch1OperatorCalls, rankingRequestOperatorCalls(model, builder, cases, torch::kCPU, 1));
    QCOMPARE(EfficiencyResult::fromJson(EfficiencyResult{"cpu", 1, {r}}.toJson()).rows[0].batch1OperatorCalls,
             r.batch1OperatorCalls);
    QCOMPARE(percentileOf({1, 2, 3, 4, 5}, 0.5), 3.0);
    QCOMPARE(percentileOf({1, 2, 3, 4, 5}, 0.99), 4.96);
  }

  // Only the outermost calls count: linear is one call although it runs t and addmm inside.
  // A call that throws leaves the count of the next measurement right.
  void countsOutermostOperatorCalls() {
    const auto a = torch::ones({3, 4}), w = torch::ones({2, 4}), bias = torch::zeros({2});
    QCOMPARE(countOperatorCalls([] {}), 0);
    QCOMPARE(countOperatorCalls([&] { auto c = a + a; }), 1);
    QCOMPARE(countOperatorCalls([&] { auto c = torch::linear(a, w, bias).relu(); }), 2);
    QVERIFY_THROWS_EXCEPTION(c10::Error, countOperatorCalls([&] { auto c = a.mm(a); }));
    QCOMPARE(countOperatorCalls([&] {
               auto c = a * 2;
               QCOMPARE(countOperatorCalls([&] { auto d = c - 1; }), 1);  // nested: counted in both
             }),
             2);
  }

  void efficiencySideBySide() {
    // Three targets: one model as trained (1 step) and at 4 steps, a second model (2 steps).
    // Requests interleave, each round starting one target later; each row's ratio is paired
    // with the first row's requests; the models' depths come back.
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    const auto cases = lastItemCases(data);
    SleepyReasonerImpl a(1), b(2);
    const std::vector<EfficiencyTarget> targets{{&a, &builder, &cases, torch::kCPU, 0},
                                                {&a, &builder, &cases, torch::kCPU, 4},
                                                {&b, &builder, &cases, torch::kCPU, 0}};
    std::vector<double> progress;
    const auto rows = measureEfficiencySideBySide(targets, 10, {}, [&](double f) { progress.push_back(f); });
    QCOMPARE(static_cast<int>(rows.size()), 3);
    QCOMPARE(rows[0].steps, 1);
    QCOMPARE(rows[1].steps, 4);
    QCOMPARE(rows[2].steps, 2);
    QCOMPARE(rows[1].flopsPerSample, 1000.0 * 5 * 5 + 2.0 * (kItems + 1) * kItems);  // at 4 steps
    QCOMPARE(rows[0].batch1Ratio, 1.0);
    QCOMPARE(rows[0].batch256Ratio, 1.0);
    // 4 ms against 1 ms of sleep per request (plus the same small work): well above 2.
    QVERIFY2(rows[1].batch1Ratio > 2.0, qPrintable(QString::number(rows[1].batch1Ratio)));
    QVERIFY(rows[2].batch1Ratio > 1.0);
    for (const auto& r : rows) {
      QVERIFY(r.batch1P50 > 0 && r.batch256P50 > 0);
      QCOMPARE(r.peakRssMb, rows[0].peakRssMb);
    }
    QCOMPARE(a.evalSteps(), 1);
    QCOMPARE(b.evalSteps(), 2);
    // Blocks of 8 requests. Round 0 runs targets 0, 1, 2; round 1 runs 1, 2, 0; round 2 runs
    // 2, 0, 1: model a answers at depths 1, 4 | 4, 1 | 1, 4, eight requests each.
    // Then two requests per row (one untimed, one counted) for the operator calls.
    QCOMPARE(std::vector<int>(a.log.end() - 4, a.log.end()), (std::vector<int>{1, 1, 4, 4}));
    a.log.resize(a.log.size() - 4);
    std::vector<int> blocks;
    for (size_t j = 0; j < a.log.size(); j += 8) {
      QVERIFY(std::all_of(a.log.begin() + j, a.log.begin() + j + 8, [&](int x) { return x == a.log[j]; }));
      blocks.push_back(a.log[j]);
    }
    QCOMPARE(std::vector<int>(blocks.begin(), blocks.begin() + 6), (std::vector<int>{1, 4, 4, 1, 1, 4}));
    // A warm-up round and ceil(10 / 7) = 2 timed rounds, at batch 1 and at batch 256.
    QCOMPARE(static_cast<int>(blocks.size()), 2 * 3 * 2);
    QCOMPARE(static_cast<int>(b.log.size()), 8 * 3 * 2 + 2);
    QVERIFY(rows[1].batch1OperatorCalls > 0);
    QVERIFY(std::is_sorted(progress.begin(), progress.end()));
    QCOMPARE(progress.back(), 1.0);
  }

  void efficiencySideBySideRestoresDepthOnCancel() {
    const SequenceData data = plantedData();
    const BatchBuilder builder(data, 8);
    const auto cases = lastItemCases(data);
    SleepyReasonerImpl a(3);
    int calls = 0;
    auto cancel = [&] {
      if (++calls == 2) throw CancelledError();
    };
    QVERIFY_THROWS_EXCEPTION(CancelledError, measureEfficiencySideBySide({{&a, &builder, &cases, torch::kCPU, 5}}, 10, cancel));
    QCOMPARE(a.evalSteps(), 3);
    QCOMPARE(static_cast<int>(a.log.size()), 8);  // one round (one block) ran before the cancel
    QCOMPARE(a.log.front(), 5);
  }

  // The latency measure runs in inference mode; nothing it makes may end up in the model, or the
  // studio's next training job on the same weights would fail in backward.
  void rankingRequestsLeaveTheModelTrainable() {
    TinySasrec t;
    Recommender model = t.model;
    const BatchBuilder& builder = t.builder;
    const auto& cases = t.cases;
    const SequenceData& data = t.data;
    const auto ms = timeRankingRequests(*model, builder, cases, torch::kCPU, 7, 12);
    QCOMPARE(ms.size(), size_t(12));
    for (double v : ms) QVERIFY(v > 0);
    QVERIFY(timeRankingRequests(*model, builder, {}, torch::kCPU, 1, 5).empty());

    model->train();
    std::vector<TrainUnit> units;
    for (int u = 0; u < data.numUsers(); ++u) units.push_back({u, static_cast<int32_t>(data.sequences[u].size() - 1)});
    std::vector<int64_t> rows(units.size());
    std::iota(rows.begin(), rows.end(), 0);
    const Batch b = builder.trainBatch(units, rows, TargetMode::AllPositions);
    LossOutput out = model->loss(b, LossContext());
    out.total.backward();
    QVERIFY(std::isfinite(out.total.item<double>()));
    int withGrad = 0;
    for (const auto& p : model->parameters()) {
      QVERIFY(!p.is_inference());
      withGrad += p.grad().defined() ? 1 : 0;
    }
    QVERIFY(withGrad > 0);
  }
};

RR_TEST_MAIN(AnalysesTest)
#include "tst_analyses.moc"
