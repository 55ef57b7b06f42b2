#pragma once
// Shared by the training tests: hooks that never cancel, an SPT stage environment over a test
// dataset, the popularity baseline a model that learns must beat, seeded synthetic tasks (the
// copy task among them) and a train-then-test helper.
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/eval/evaluator.h"
#include "core/model/layers.h"
#include "core/runtime.h"
#include "core/train/checkpoint.h"
#include "core/train/trainer.h"

#include <QDir>
#include <QStringList>
#include <QTemporaryDir>

#include <numeric>

namespace rr {

struct NullHooks : TrainHooks {
  QStringList messages;
  void checkCancel() override {}
  void batchProgress(const std::string&, int, int, int64_t, int64_t, double) override {}
  void metric(const std::string&, int64_t, int, const QString&, double) override {}
  void message(const QString& m) override { messages << m; }
};

/// One thread in LibTorch's pool and OpenBLAS's. CTest sets OPENBLAS_NUM_THREADS=1; run
/// directly beside other jobs, a two-thread OpenBLAS spun: such a test got 13% of a core where
/// the same test with one BLAS thread, at the same time, got 51%.
inline void useOneThread() { runtime::applySplit({1, 1}); }

/// A fresh model of `cfg` with its SPT settings; checkpoints go to dir/spt-{last,best}.pt.
inline StageEnv sptEnv(const RunConfig& cfg, const SequenceData& data, const DataSplit& split,
                       const BatchBuilder& builder, const FullRankingEvaluator& evaluator, TrainHooks& hooks,
                       const QString& dir) {
  StageEnv env;
  env.model = buildRecommender(cfg, data.numItems);
  env.data = &data;
  env.split = &split;
  env.builder = &builder;
  env.evaluator = &evaluator;
  env.config = cfg;
  env.settings = StageSettings::forSpt(cfg);
  env.hooks = &hooks;
  env.lastCheckpoint = QDir(dir).filePath("spt-last.pt");
  env.bestCheckpoint = QDir(dir).filePath("spt-best.pt");
  return env;
}

/// Test Recall@10 of ranking every item by its training-set popularity.
inline double popularityRecall(const SequenceData& data, const DataSplit& split, const BatchBuilder& builder) {
  auto counts = torch::zeros({data.numItems + 1});
  for (int u = 0; u < data.numUsers(); ++u)
    for (int j = 0; j < split.trainEnd[u]; ++j) counts[data.sequences[u][j]] += 1;
  std::vector<int64_t> rows(split.test.size());
  std::iota(rows.begin(), rows.end(), 0);
  Batch b = builder.evalBatch(split.test, rows);
  auto scores = counts.unsqueeze(0).expand({b.size(), data.numItems + 1}).clone();
  return FullRankingEvaluator::ranksFromScores(scores, b.target).lt(10).to(torch::kDouble).mean().item<double>();
}

/// A seeded synthetic dataset and its leave-one-out split.
struct SyntheticTask {
  SequenceData data;
  DataSplit split;
  explicit SyntheticTask(const SyntheticOptions& options)
      : data(preprocess(generateSynthetic(options), PreprocessOptions{})), split(makeSplit(data, SplitOptions{})) {}
};

/// The default (markov) pattern: Markov successors, home clusters and Zipf popularity.
inline SyntheticTask markovTask(int users, int items, int clusters, double meanLength, uint64_t seed) {
  SyntheticOptions so;
  so.users = users;
  so.items = items;
  so.clusters = clusters;
  so.meanLength = meanLength;
  so.seed = seed;
  return SyntheticTask(so);
}

/// pattern=copy over 60 items, sequences of 8 to 20 (mean 12): the next item is the successor
/// of the last item's earlier occurrence, an induction step that needs two attention operations.
inline SyntheticTask copyTask(int users) {
  SyntheticOptions so;
  so.users = users;
  so.items = 60;
  so.meanLength = 12;
  so.minLength = 8;
  so.maxLength = 20;
  so.pattern = QStringLiteral("copy");
  so.seed = 7;
  return SyntheticTask(so);
}

/// `preset` set up for the copy task: max_len 20, 2 heads, feed-forward 4·d, temperature 1,
/// `last` targets, Adam, no early stopping, and nothing that adds noise or a second objective
/// (dropouts, RCL, diversity, TLA, SLA): the task is noiseless and the comparisons are about
/// capacity. (With PRL's noisy-view InfoNCE at weight 1, PRL stayed at its backbone's level in
/// 15 epochs, test NDCG@10 0.356; without it its validation NDCG@10 passed the backbone's best by
/// epoch 11.)
inline RunConfig copyTaskConfig(const QString& preset, int d, double lr, int batchSize, int epochs) {
  RunConfig cfg = RunConfig::fromPreset(preset);
  cfg.set("data.max_len", 20);
  cfg.set("model.d", d);
  cfg.set("model.ffn", 4 * d);
  cfg.set("model.heads", 2);
  cfg.set("model.temperature", 1.0);
  for (const char* key : {"model.dropout", "model.attn_dropout", "model.reasoner.input_dropout",
                          "model.reasoner.rep_dropout", "model.reasoner.attn_score_dropout", "train.rcl_weight",
                          "train.div_weight", "train.tla_weight", "train.sla_weight"})
    cfg.set(key, 0.0);
  cfg.set("train.targets", "last");
  cfg.set("train.optimizer", "adam");
  cfg.set("train.lr", lr);
  cfg.set("train.batch_size", batchSize);
  cfg.set("train.epochs", epochs);
  cfg.set("train.patience", 0);
  cfg.set("train.seed", 5);
  return cfg;
}

/// What trainThenTest saw: test metrics of the best-validation checkpoint and the model's size.
struct TestedModel {
  QMap<QString, double> test;
  int64_t parameters = 0;
};

/// Pre-trains a fresh model of `cfg` on the task (SPT stage only) and evaluates its best
/// checkpoint on the test cases.
inline TestedModel trainThenTest(const RunConfig& cfg, const SyntheticTask& task) {
  const int maxLen = cfg.getInt(QStringLiteral("data.max_len"));
  BatchBuilder builder(task.data, maxLen);
  FullRankingEvaluator evaluator(builder, EvalOptions::fromConfig(cfg), torch::kCPU);
  QTemporaryDir dir;
  NullHooks hooks;
  StageEnv env = sptEnv(cfg, task.data, task.split, builder, evaluator, hooks, dir.path());
  SptTrainer(env).run();
  loadCheckpoint(env.bestCheckpoint, *env.model, nullptr, false);
  TestedModel out;
  out.test = evaluator.evaluate(*env.model, task.split.test).metrics;
  out.parameters = parameterCount(*env.model);
  return out;
}

}  // namespace rr
