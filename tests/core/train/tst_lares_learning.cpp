// LARES learns what depth buys: on planted multi-hop data (follow a chain of item pairs from a
// query item) a tiny LARES beats a single-pass SASRec of the same size; and GRPO post-training
// raises the mean reward of its rollouts.
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/eval/evaluator.h"
#include "core/model/lares.h"
#include "core/train/grpo.h"
#include "test_main.h"

#include <QTemporaryDir>
#include <random>

using namespace rr;

namespace {

struct NullHooks : TrainHooks {
  void checkCancel() override {}
  void batchProgress(const std::string&, int, int, int64_t, int64_t, double) override {}
  void metric(const std::string&, int64_t, int, const QString&, double) override {}
  void message(const QString&) override {}
};

constexpr int kItems = 24;
constexpr int kHops = 3;
constexpr int kLen = 2 * kHops + 1;

/// Pointer chasing: distinct items c0..c3; the pairs (c0,c1), (c1,c2), (c2,c3) in random order,
/// then the query c0; the target is c3, three hops away. Nothing but composition predicts it.
Batch chaseBatch(std::mt19937_64& rng, int B) {
  auto items = torch::zeros({B, kLen}, torch::kLong);
  auto target = torch::zeros({B}, torch::kLong);
  for (int b = 0; b < B; ++b) {
    std::vector<int> pool(kItems);
    std::iota(pool.begin(), pool.end(), 1);
    for (int i = 0; i <= kHops; ++i) std::swap(pool[static_cast<size_t>(i)], pool[i + rng() % (kItems - i)]);
    std::vector<int> order(kHops);
    std::iota(order.begin(), order.end(), 0);
    for (int i = kHops - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[rng() % (i + 1)]);
    for (int p = 0; p < kHops; ++p) {
      items[b][2 * p] = pool[static_cast<size_t>(order[static_cast<size_t>(p)])];
      items[b][2 * p + 1] = pool[static_cast<size_t>(order[static_cast<size_t>(p)]) + 1];
    }
    items[b][kLen - 1] = pool[0];
    target[b] = pool[kHops];
  }
  Batch batch;
  batch.items = items;
  batch.target = target;
  batch.users = torch::arange(B, torch::kLong);
  batch.maxLen = kLen;
  return batch;
}

/// Trains with Adam on fresh batches, returns top-1 accuracy on 2000 held-out chains.
double trainAndScore(Recommender model, int steps) {
  torch::manual_seed(7);
  std::mt19937_64 rng(5);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(2e-3));
  model->train();
  for (int s = 0; s < steps; ++s) {
    Batch b = chaseBatch(rng, 128);
    auto out = model->loss(b, LossContext{});
    opt.zero_grad();
    out.total.backward();
    opt.step();
  }
  std::mt19937_64 test(99);
  Batch t = chaseBatch(test, 2000);
  model->eval();
  torch::NoGradGuard ng;
  auto ranks = FullRankingEvaluator::ranksFromScores(model->scores(t), t.target);
  return ranks.eq(0).to(torch::kDouble).mean().item<double>();
}

RunConfig chaseConfig(const QString& preset) {
  RunConfig cfg = RunConfig::fromPreset(preset);
  cfg.set("data.max_len", kLen);
  cfg.set("model.d", 32);
  cfg.set("model.ffn", 64);
  cfg.set("model.dropout", 0.0);
  cfg.set("model.attn_dropout", 0.0);
  return cfg;
}

}  // namespace

class LaresLearningTest : public QObject {
  Q_OBJECT
 public:
  // Learning runs take minutes on a loaded 2-core machine; CTest's timeout (900 s) governs.
  LaresLearningTest() { qputenv("QTEST_FUNCTION_TIMEOUT", "900000"); }

 private slots:
  void depthBeatsSinglePassOnMultiHopChains() {
    RunConfig sas = chaseConfig("sasrec");
    sas.set("model.layers", 2);
    sas.set("train.targets", "last");
    RunConfig lar = chaseConfig("lares");
    lar.set("model.reasoner.pre_layers", 1);
    lar.set("model.reasoner.core_layers", 1);
    lar.set("model.reasoner.steps", 4);
    lar.set("model.reasoner.t0_scale", 1.0);
    Recommender s = buildRecommender(sas, kItems);
    Recommender l = buildRecommender(lar, kItems);
    const int64_t ps = parameterCount(*s), pl = parameterCount(*l);
    QVERIFY2(std::abs(ps - pl) < 0.02 * ps, "same-size models");
    const int steps = 1500;
    const double accS = trainAndScore(s, steps);
    const double accL = trainAndScore(l, steps);
    qInfo("3-hop chains, top-1 accuracy after %d steps: SASRec (2 layers, %lld params) %.3f, "
          "LARES (1+1 layers x 4 steps, %lld params) %.3f",
          steps, static_cast<long long>(ps), accS, static_cast<long long>(pl), accL);
    QVERIFY2(accL > accS + 0.1, "LARES must beat the same-size single-pass model by 10 points");
  }

  void rptRaisesMeanReward() {
    SyntheticOptions so;
    so.users = 500;
    so.items = 80;
    so.clusters = 5;
    so.meanLength = 12;
    so.seed = 4;
    const SequenceData data = preprocess(generateSynthetic(so), PreprocessOptions{});
    const DataSplit split = makeSplit(data, SplitOptions{});
    RunConfig cfg = RunConfig::fromPreset("lares");
    cfg.set("data.max_len", 12);
    cfg.set("model.d", 32);
    cfg.set("model.ffn", 64);
    cfg.set("train.epochs", 2);
    cfg.set("train.batch_size", 128);
    cfg.set("train.patience", 0);
    cfg.set("rpt.epochs", 4);
    cfg.set("rpt.batch_size", 100);
    cfg.set("rpt.lr", 2e-3);
    cfg.set("rpt.select_top_k", 0);
    BatchBuilder builder(data, 12);
    FullRankingEvaluator evaluator(builder, EvalOptions::fromConfig(cfg), torch::kCPU);
    QTemporaryDir dir;
    NullHooks hooks;
    StageEnv env;
    env.model = buildRecommender(cfg, data.numItems);
    env.data = &data;
    env.split = &split;
    env.builder = &builder;
    env.evaluator = &evaluator;
    env.config = cfg;
    env.settings = StageSettings::forSpt(cfg);
    env.hooks = &hooks;
    env.lastCheckpoint = dir.filePath("spt-last.pt");
    env.bestCheckpoint = dir.filePath("spt-best.pt");
    SptTrainer(env).run();

    env.settings = StageSettings::forRpt(cfg);
    env.lastCheckpoint = dir.filePath("rpt-last.pt");
    env.bestCheckpoint = dir.filePath("rpt-best.pt");
    // Mean reward of G rollouts on a fixed set of training samples, same seed before and after.
    auto meanReward = [&](GrpoTrainer& t) {
      auto& m = static_cast<LaresReasonerImpl&>(*env.model);
      auto units = trainingUnits(split, TargetMode::Last);
      std::vector<int64_t> rows(std::min<size_t>(units.size(), 1500));
      std::iota(rows.begin(), rows.end(), 0);
      torch::manual_seed(123);
      m.train();
      torch::NoGradGuard ng;
      double sum = 0;
      int n = 0;
      for (size_t start = 0; start < rows.size(); start += 500) {
        std::vector<int64_t> part(rows.begin() + start, rows.begin() + std::min(rows.size(), start + 500));
        Batch b = builder.trainBatch(units, part, TargetMode::Last);
        auto z = m.represent(b);  // training mode: random T0 and dropout
        auto rank = FullRankingEvaluator::ranksFromScores(torch::mm(z, m.itemTable().t()), b.target);
        sum += rankReward(rank, "ndcg@10").sum().item<double>();
        n += static_cast<int>(b.size());
      }
      (void)t;
      return sum / n;
    };
    GrpoTrainer rpt(env);
    const double before = meanReward(rpt);
    const StageState st = rpt.run();
    QVERIFY(st.epoch >= 1);
    const double after = meanReward(rpt);
    qInfo("mean NDCG@10 reward of training rollouts: before RPT %.4f, after %.4f", before, after);
    QVERIFY2(after > before + 0.01, "GRPO must raise the mean reward");
  }
};

RR_TEST_MAIN(LaresLearningTest)
#include "tst_lares_learning.moc"
