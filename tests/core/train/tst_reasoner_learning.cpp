// Each latent reasoner (ERL, PRL, PLR) must beat its backbone alone, trained the same way, on
// seeded synthetic data with planted Markov + cluster structure where the backbone is kept to a
// single narrow layer, so that one encoder pass is not enough and the reasoning steps (which
// re-use the layer, attending to the cached item tokens) add the missing depth.
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/eval/evaluator.h"
#include "core/model/recommender.h"
#include "core/train/trainer.h"
#include "test_main.h"

#include <QTemporaryDir>

using namespace rr;

namespace {
struct NullHooks : TrainHooks {
  void checkCancel() override {}
  void batchProgress(const std::string&, int, int, int64_t, int64_t, double) override {}
  void metric(const std::string&, int64_t, int, const QString&, double) override {}
  void message(const QString&) override {}
};

struct Fixture {
  SequenceData data;
  DataSplit split;
  Fixture() {
    SyntheticOptions so;
    so.users = 600;
    so.items = 150;
    so.clusters = 6;
    so.meanLength = 12;
    so.seed = 21;
    data = preprocess(generateSynthetic(so), PreprocessOptions{});
    split = makeSplit(data, SplitOptions{});
  }
};

double trainAndTest(const Fixture& f, const QString& preset) {
  RunConfig cfg = RunConfig::fromPreset(preset);
  cfg.set("model.backbone", "sasrec");
  cfg.set("data.max_len", 15);
  cfg.set("model.d", 16);
  cfg.set("model.layers", 1);
  cfg.set("model.heads", 1);
  cfg.set("model.dropout", 0.1);
  cfg.set("model.attn_dropout", 0.1);
  cfg.set("model.temperature", 1.0);
  cfg.set("train.targets", "last");
  cfg.set("train.epochs", 8);
  cfg.set("train.batch_size", 128);
  cfg.set("train.lr", 3e-3);
  cfg.set("train.patience", 0);
  cfg.set("train.seed", 5);
  cfg.set("model.reasoner.prl_warmup", 1);
  BatchBuilder builder(f.data, 15);
  FullRankingEvaluator evaluator(builder, EvalOptions::fromConfig(cfg), torch::kCPU);
  QTemporaryDir dir;
  NullHooks hooks;
  StageEnv env;
  env.model = buildRecommender(cfg, f.data.numItems);
  env.data = &f.data;
  env.split = &f.split;
  env.builder = &builder;
  env.evaluator = &evaluator;
  env.config = cfg;
  env.settings = StageSettings::forSpt(cfg);
  env.hooks = &hooks;
  env.lastCheckpoint = dir.filePath("last.pt");
  env.bestCheckpoint = dir.filePath("best.pt");
  SptTrainer trainer(env);
  trainer.run();
  loadCheckpoint(env.bestCheckpoint, *env.model, nullptr, false);
  return evaluator.evaluate(*env.model, f.split.test).metrics.value("ndcg@10");
}
}  // namespace

class ReasonerLearningTest : public QObject {
  Q_OBJECT
 private slots:
  void reasonersBeatTheirBackbone() {
    torch::set_num_threads(1);
    const Fixture f;
    const double base = trainAndTest(f, "sasrec");
    for (const char* preset : {"rearec-erl", "rearec-prl", "plr-fast"}) {
      const double r = trainAndTest(f, preset);
      qInfo("test NDCG@10: backbone alone %.4f, %s %.4f", base, preset, r);
      QVERIFY2(r > base * 1.02, preset);
    }
  }
};

RR_TEST_MAIN(ReasonerLearningTest)
#include "tst_reasoner_learning.moc"
