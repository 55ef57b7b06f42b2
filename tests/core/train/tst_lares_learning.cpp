// LARES and the hybrid learn what a single pass of the same size cannot (an induction step),
// and GRPO post-training raises the mean reward of a pre-trained LARES's rollouts on planted data.
#include "core/model/lares.h"
#include "core/train/grpo.h"
#include "test_main.h"
#include "train_fixtures.h"

#include <algorithm>
#include <cstdlib>

using namespace rr;

class LaresLearningTest : public QObject {
  Q_OBJECT
 public:
  // Learning runs take minutes on a loaded 2-core machine; CTest's timeout (900 s) governs.
  LaresLearningTest() { qputenv("QTEST_FUNCTION_TIMEOUT", "900000"); }

 private slots:
  void beatsSameSizeSinglePassOnComposition_data() {
    QTest::addColumn<QString>("kind");
    QTest::newRow("lares") << QString("lares");
    QTest::newRow("hybrid") << QString("hybrid");
  }

  // pattern=copy: the next item is the successor of the last item's earlier occurrence. That
  // takes two attention operations in sequence (find the occurrence, then read the token after
  // it), so one Transformer layer run once cannot do it, while the same layer applied three
  // times by LARES's core block can. Same parameters (plus LARES's step LayerNorm), same
  // training. The hybrid runs that recurrence as two trigger-perturbed streams under a gate.
  // Measured under CTest (4,000 users, 20 epochs): SASRec 1 layer test NDCG@10 0.322, LARES
  // 1 core layer x 3 steps 0.900, the hybrid 0.889; in a command-line run LARES's valid NDCG@10
  // jumped from 0.51 to 0.77 at epoch 11.
  void beatsSameSizeSinglePassOnComposition() {
    QFETCH(QString, kind);
    useOneThread();
    const SyntheticTask task = copyTask(4000);
    RunConfig single = copyTaskConfig("sasrec", 32, 3e-3, 128, 20);
    single.set("model.layers", 1);
    RunConfig deep = copyTaskConfig(kind, 32, 3e-3, 128, 20);
    deep.set("model.reasoner.pre_layers", 0);
    deep.set("model.reasoner.core_layers", 1);
    deep.set("model.reasoner.sampler", "constant");
    deep.set("model.reasoner.steps", 3);
    torch::manual_seed(1);
    const TestedModel base = trainThenTest(single, task);
    torch::manual_seed(1);
    const TestedModel reasoner = trainThenTest(deep, task);
    qInfo("copy task, test NDCG@10: SASRec 1 layer %.4f (%lld parameters); %s, 1 core layer x 3 steps %.4f "
          "(%lld parameters)",
          base.test.value("ndcg@10"), static_cast<long long>(base.parameters), qPrintable(kind),
          reasoner.test.value("ndcg@10"), static_cast<long long>(reasoner.parameters));
    if (kind == QLatin1String("lares"))
      QVERIFY2(std::abs(reasoner.parameters - base.parameters) <= 2 * 32, "the models must be the same size");
    QVERIFY2(reasoner.test.value("ndcg@10") > base.test.value("ndcg@10") + 0.2,
             "the recurrence must beat the single pass by 0.2 NDCG@10 on a task that needs two attention steps");
  }

  void rptRaisesMeanReward() {
    torch::manual_seed(1);  // the model's initialisation
    const SyntheticTask task = markovTask(500, 80, 5, 12, 4);
    const SequenceData& data = task.data;
    const DataSplit& split = task.split;
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
    struct KlHooks : NullHooks {  // the per-step KL to the reference, in order; RPT validations
      std::vector<double> kl;
      std::vector<std::pair<int, double>> valid;
      void metric(const std::string& stage, int64_t, int epoch, const QString& name, double value) override {
        if (name == QLatin1String("rpt/kl")) kl.push_back(value);
        if (stage == "rpt" && name == QLatin1String("valid/ndcg@10")) valid.emplace_back(epoch, value);
      }
    } hooks;
    StageEnv env = sptEnv(cfg, data, split, builder, evaluator, hooks, dir.path());
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
    // Seen with the preset (step-level KL, positive advantages): 0.2089 -> 0.4677. With SPEC's
    // group advantages the reward fell (0.1491 with the step-level KL) or rose by 0.02 only while
    // the rollout-level KL's exp() held the policy near the reference (0.2304).
    QVERIFY2(after > before + 0.05, "GRPO must raise the mean reward");
    // The starting model is validated as epoch 0 and is the best unless an epoch beats it.
    QVERIFY(hooks.valid.size() >= 2);
    QCOMPARE(hooks.valid.front().first, 0);
    double best = -1;
    int bestEpoch = -1;
    for (const auto& [epoch, value] : hooks.valid)
      if (value > best) best = value, bestEpoch = epoch;
    QCOMPARE(st.bestEpoch, bestEpoch);
    QCOMPARE(st.bestMetric, best);
    // The reference scores the same rollouts (same T0, steps and dropout masks): before the
    // first update the policy is the reference, so the first step's KL is exactly 0, and the
    // k3 KL stays small (it exploded to ~1e19 when the reference scored without dropout).
    QVERIFY(!hooks.kl.empty());
    QCOMPARE(hooks.kl.front(), 0.0);
    QVERIFY2(*std::max_element(hooks.kl.begin(), hooks.kl.end()) < 10.0,
             qPrintable(QString::number(*std::max_element(hooks.kl.begin(), hooks.kl.end()))));
  }
};

RR_TEST_MAIN(LaresLearningTest)
#include "tst_lares_learning.moc"
