#pragma once
/// \file
/// \brief Stage trainers: the epoch loop with validation, early stopping, checkpoints and
/// resume shared by SPT (SPEC §4.1) and RPT (§4.2). Internal to core (LibTorch).

#include "core/data/batching.h"
#include "core/eval/evaluator.h"
#include "core/model/recommender.h"
#include "core/train/checkpoint.h"

#include <QString>
#include <functional>
#include <memory>
#include <string>

namespace rr {

/// \brief What a stage trainer tells the job running it. Thread: the job's worker thread.
class TrainHooks {
 public:
  virtual ~TrainHooks() = default;
  /// Throws CancelledError when the user stopped the job; blocks while paused.
  virtual void checkCancel() = 0;
  /// Batch-level progress within an epoch.
  virtual void batchProgress(const std::string& stage, int epoch, int epochs, int64_t done,
                             int64_t total, double samplesPerSecond) = 0;
  virtual void metric(const std::string& stage, int64_t step, int epoch, const QString& name,
                      double value) = 0;
  virtual void message(const QString& line) = 0;
  /// After each epoch's validation and checkpoint: the state as saved.
  virtual void epochDone(const std::string& stage, const StageState& state, int epochs) {}
};

/// \brief Optimiser and loop settings of one stage, read from the run configuration.
struct StageSettings {
  std::string stage = "spt";
  int epochs = 200;
  int batchSize = 256;
  double lr = 1e-3;
  double weightDecay = 0;
  bool adamw = false;
  double gradClip = 0;
  int patience = 10;
  QString metric = QStringLiteral("ndcg@10");
  int logEvery = 10;
  uint64_t seed = 42;
  bool bucketing = true;
  TargetMode targets = TargetMode::AllPositions;
  static StageSettings forSpt(const RunConfig& cfg);
  static StageSettings forRpt(const RunConfig& cfg);
};

/// \brief Everything a stage needs; pointers are owned by the caller and outlive the trainer.
struct StageEnv {
  Recommender model;
  const SequenceData* data = nullptr;
  const DataSplit* split = nullptr;
  const BatchBuilder* builder = nullptr;
  const FullRankingEvaluator* evaluator = nullptr;
  torch::Device device = torch::kCPU;
  RunConfig config;
  StageSettings settings;
  TrainHooks* hooks = nullptr;
  QString lastCheckpoint;   ///< absolute path of <stage>-last.pt
  QString bestCheckpoint;   ///< absolute path of <stage>-best.pt
  /// A finished stage with fewer epochs than settings.epochs trains on (its early-stopping
  /// patience starts over) instead of returning at once; see TrainJob::setExtendEpochs.
  bool reopenFinished = false;
  /// Session time limit in seconds (0 = none) and the session's clock: no epoch starts that, at
  /// the pace of this session's previous epoch, would end past the limit. See TrainJob::setTimeLimit.
  double timeLimitSeconds = 0;
  std::function<double()> sessionSeconds;
};

/// \brief Throughput of a stage's optimisation steps, measured by benchmark().
struct TrainBenchFigures {
  double samplesPerSecond = 0;
  double targetsPerSecond = 0;
  int64_t steps = 0;
  double seconds = 0;
};

/// \brief The shared epoch loop. run() resumes from lastCheckpoint when it exists.
/// Per epoch: trainEpoch() -> validation (full ranking) -> early stopping bookkeeping ->
/// best checkpoint when improved -> last checkpoint (with RNG state, after validation, so a
/// resumed run continues bit-identically on the same thread count).
class StageTrainer {
 public:
  explicit StageTrainer(StageEnv env);
  virtual ~StageTrainer();
  /// Runs (or continues) the stage to its end; returns the final state. When the time limit
  /// ends it early the stage is finished at its last epoch (stoppedByTimeLimit()); when it
  /// leaves no epoch of this stage done, TimeLimitError.
  StageState run();
  bool stoppedByTimeLimit() const { return stoppedByTimeLimit_; }
  const StageEnv& env() const { return env_; }
  /// Times optimisation steps (after a short warm-up) for about `seconds`; no validation, no
  /// checkpoints. Modifies the model. Used by `reasonrec bench`.
  virtual TrainBenchFigures benchmark(double seconds);

 protected:
  /// One epoch of optimisation (1-based epoch). Must call hooks->checkCancel() between batches
  /// and account samples/targets in state_.
  virtual void trainEpoch(int epoch) = 0;
  /// Called once before the first epoch of a fresh or resumed stage (e.g. RPT data selection).
  /// Long preparation checks hooks->checkCancel() and pastTimeLimit() as it goes.
  virtual void prepare() {}
  /// Whether this session is already past its time limit (false without one).
  bool pastTimeLimit() const;
  /// The optimiser over the model's parameters.
  virtual std::unique_ptr<torch::optim::Optimizer> makeOptimizer();

  /// Clips gradients when configured, steps, logs accumulated losses every logEvery steps.
  void optimizerStep(const LossOutput& loss, int epoch);
  /// Records accumulated loss parts as "loss/<name>" metrics (means since the last flush).
  void flushLossLog(int epoch);
  /// Throws RunError when a loss is not finite.
  void checkFinite(const torch::Tensor& loss, int epoch) const;
  /// Evaluates the validation split, records "valid/<metric>" at `epoch`, and when the stage's
  /// metric improves on state_.bestMetric makes this the best epoch and saves the best
  /// checkpoint. Returns the metric's value. Epoch 0 = the model the stage starts from.
  double validate(int epoch);

  StageEnv env_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  StageState state_;

 private:
  /// Whether an epoch that starts now would end past the time limit, at `lastEpochSeconds` an
  /// epoch; says so in the log when it would.
  bool outOfTime(double lastEpochSeconds);

  std::vector<std::pair<std::string, torch::Tensor>> lossSums_;
  int lossCount_ = 0;
  bool stoppedByTimeLimit_ = false;
};

/// \brief SPT / plain training: mini-batches of training units, model->loss(), backward, step.
class SptTrainer : public StageTrainer {
 public:
  explicit SptTrainer(StageEnv env);
  TrainBenchFigures benchmark(double seconds) override;

 protected:
  void trainEpoch(int epoch) override;

 private:
  /// One optimisation step on units_[rows]; returns the number of targets it trained.
  int64_t step(const std::vector<int64_t>& rows, int epoch);
  std::vector<TrainUnit> units_;
  std::vector<int> lengths_;
  int64_t targetsPerEpoch_ = 0;
};

/// Factory for stage names ("spt", "rpt"); RPT is registered by the GRPO trainer's file.
using StageTrainerFactory = std::function<std::unique_ptr<StageTrainer>(StageEnv)>;
void registerStageTrainer(const std::string& stage, StageTrainerFactory factory);
std::unique_ptr<StageTrainer> makeStageTrainer(const std::string& stage, StageEnv env);

/// Makes the optimiser a stage's settings describe.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const std::vector<torch::Tensor>& params,
                                                       const StageSettings& s);

}  // namespace rr
