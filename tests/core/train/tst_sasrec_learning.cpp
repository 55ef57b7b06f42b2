// SASRec learns: on seeded synthetic data with planted Markov structure it must beat the
// popularity ranking it is always compared with, by a clear margin, on held-out users.
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/eval/evaluator.h"
#include "core/model/recommender.h"
#include "core/train/trainer.h"
#include "core/errors.h"
#include "test_main.h"
#include "train_fixtures.h"

#include <limits>

#include <QTemporaryDir>
#include <numeric>

using namespace rr;

class SasrecLearningTest : public QObject {
  Q_OBJECT
 private slots:
  void beatsPopularity() {
    const SyntheticTask task = markovTask(800, 120, 6, 14, 11);
    const SequenceData& data = task.data;
    const DataSplit& split = task.split;
    RunConfig cfg = RunConfig::fromPreset("sasrec");
    cfg.set("data.max_len", 20);
    cfg.set("model.d", 32);
    cfg.set("model.dropout", 0.2);
    cfg.set("model.attn_dropout", 0.2);
    cfg.set("train.epochs", 12);
    cfg.set("train.batch_size", 64);
    cfg.set("train.patience", 0);
    cfg.set("train.seed", 3);
    BatchBuilder builder(data, 20);
    FullRankingEvaluator evaluator(builder, EvalOptions::fromConfig(cfg), torch::kCPU);
    QTemporaryDir dir;
    NullHooks hooks;
    StageEnv env = sptEnv(cfg, data, split, builder, evaluator, hooks, dir.path());

    const double before = evaluator.evaluate(*env.model, split.test).metrics.value("recall@10");
    SptTrainer trainer(env);
    const StageState st = trainer.run();
    QCOMPARE(st.epoch, 12);
    loadCheckpoint(env.bestCheckpoint, *env.model, nullptr, false);
    const double after = evaluator.evaluate(*env.model, split.test).metrics.value("recall@10");
    const double pop = popularityRecall(data, split, builder);
    qInfo("test recall@10: untrained %.4f, popularity %.4f, SASRec %.4f", before, pop, after);
    QVERIFY2(after > pop + 0.05, "SASRec must beat popularity by 5 points of Recall@10");
    QVERIFY(after > before + 0.1);
  }

  void divergenceIsReportedNotHidden() {
    struct NanModel : RecommenderImpl {
      torch::Tensor w;
      int items;
      explicit NanModel(int n) : items(n) { w = register_parameter("w", torch::ones({1, 4})); }
      LossOutput loss(const Batch&, const LossContext&) override {
        LossOutput o;
        o.total = w.sum() * std::numeric_limits<float>::quiet_NaN();
        return o;
      }
      torch::Tensor represent(const Batch& b) override { return w.expand({b.size(), 4}); }
      torch::Tensor itemTable() override { return torch::ones({items + 1, 4}); }
      double flopsPerSample(double) const override { return 0; }
    };
    SyntheticOptions so;
    so.users = 50;
    so.items = 20;
    const SequenceData data = preprocess(generateSynthetic(so), PreprocessOptions{});
    const DataSplit split = makeSplit(data, SplitOptions{});
    RunConfig cfg = RunConfig::fromPreset("sasrec");
    BatchBuilder builder(data, 10);
    FullRankingEvaluator evaluator(builder, EvalOptions::fromConfig(cfg), torch::kCPU);
    QTemporaryDir dir;
    NullHooks hooks;
    StageEnv env = sptEnv(cfg, data, split, builder, evaluator, hooks, dir.path());
    env.model = std::make_shared<NanModel>(data.numItems);
    SptTrainer trainer(env);
    try {
      trainer.run();
      QFAIL("expected RunError");
    } catch (const RunError& e) {
      QVERIFY2(e.message().contains("diverged") && e.message().contains("epoch 1"), qPrintable(e.message()));
    }
  }
};

RR_TEST_MAIN(SasrecLearningTest)
#include "tst_sasrec_learning.moc"
