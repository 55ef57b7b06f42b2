#include "core/train/trainer.h"

#include "core/errors.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <map>
#include <mutex>

namespace rr {
namespace {

constexpr int kProgressEveryBatches = 4;  // batch progress callbacks are cheap but not free

uint64_t stageSalt(const std::string& stage) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : stage) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h;
}

QJsonObject toJson(const QMap<QString, double>& m) {
  QJsonObject o;
  for (auto it = m.begin(); it != m.end(); ++it) o.insert(it.key(), it.value());
  return o;
}

}  // namespace

StageSettings StageSettings::forSpt(const RunConfig& cfg) {
  StageSettings s;
  s.stage = "spt";
  s.epochs = cfg.getInt(QStringLiteral("train.epochs"));
  s.batchSize = cfg.getInt(QStringLiteral("train.batch_size"));
  s.lr = cfg.getDouble(QStringLiteral("train.lr"));
  s.weightDecay = cfg.getDouble(QStringLiteral("train.weight_decay"));
  s.adamw = cfg.getString(QStringLiteral("train.optimizer")) == QLatin1String("adamw");
  s.gradClip = cfg.getDouble(QStringLiteral("train.grad_clip"));
  s.patience = cfg.getInt(QStringLiteral("train.patience"));
  s.metric = cfg.getString(QStringLiteral("train.metric"));
  s.logEvery = cfg.getInt(QStringLiteral("train.log_every"));
  s.seed = static_cast<uint64_t>(cfg.getInt(QStringLiteral("train.seed")));
  s.bucketing = cfg.getBool(QStringLiteral("train.length_bucketing"));
  s.targets = parseTargetMode(cfg.getString(QStringLiteral("train.targets")));
  return s;
}

StageSettings StageSettings::forRpt(const RunConfig& cfg) {
  StageSettings s = forSpt(cfg);
  s.stage = "rpt";
  s.epochs = cfg.getInt(QStringLiteral("rpt.epochs"));
  s.batchSize = cfg.getInt(QStringLiteral("rpt.batch_size"));
  s.lr = cfg.getDouble(QStringLiteral("rpt.lr"));
  s.weightDecay = cfg.getDouble(QStringLiteral("rpt.weight_decay"));
  s.adamw = cfg.getString(QStringLiteral("rpt.optimizer")) == QLatin1String("adamw");
  s.gradClip = cfg.getDouble(QStringLiteral("rpt.grad_clip"));
  s.patience = cfg.getInt(QStringLiteral("rpt.patience"));
  s.targets = TargetMode::Last;
  return s;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const std::vector<torch::Tensor>& params,
                                                       const StageSettings& s) {
  if (s.adamw)
    return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(s.lr).weight_decay(s.weightDecay));
  return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(s.lr).weight_decay(s.weightDecay));
}

StageTrainer::StageTrainer(StageEnv env) : env_(std::move(env)) {}
StageTrainer::~StageTrainer() = default;

std::unique_ptr<torch::optim::Optimizer> StageTrainer::makeOptimizer() {
  return rr::makeOptimizer(env_.model->parameters(), env_.settings);
}

void StageTrainer::checkFinite(const torch::Tensor& loss, int epoch) const {
  if (!torch::isfinite(loss).all().item<bool>())
    throw RunError(QStringLiteral("training diverged: %1 loss is not finite at epoch %2, step %3; "
                                  "lower the learning rate or set a gradient clip")
                       .arg(QString::fromStdString(env_.settings.stage))
                       .arg(epoch)
                       .arg(state_.step + 1));
}

void StageTrainer::optimizerStep(const LossOutput& loss, int epoch) {
  if (env_.settings.gradClip > 0)
    torch::nn::utils::clip_grad_norm_(env_.model->parameters(), env_.settings.gradClip);
  optimizer_->step();
  ++state_.step;
  auto accumulate = [this](const std::string& name, const torch::Tensor& v) {
    for (auto& [n, sum] : lossSums_)
      if (n == name) {
        sum.add_(v.detach());
        return;
      }
    lossSums_.emplace_back(name, v.detach().clone());
  };
  accumulate("total", loss.total);
  for (const auto& [name, value] : loss.parts)
    if (name != "total") accumulate(name, value);
  ++lossCount_;
  if (env_.settings.logEvery > 0 && state_.step % env_.settings.logEvery == 0) flushLossLog(epoch);
}

void StageTrainer::flushLossLog(int epoch) {
  if (lossCount_ == 0) return;
  for (const auto& [name, sum] : lossSums_)
    env_.hooks->metric(env_.settings.stage, state_.step, epoch, QStringLiteral("loss/") + QString::fromStdString(name),
                       sum.item<double>() / lossCount_);
  lossSums_.clear();
  lossCount_ = 0;
}

double StageTrainer::validate(int epoch) {
  const StageSettings& s = env_.settings;
  const EvalResult valid = env_.evaluator->evaluate(
      *env_.model, env_.split->valid, [this, &s, epoch](int64_t done, int64_t total) {
        env_.hooks->checkCancel();
        env_.hooks->batchProgress(s.stage + ":valid", epoch, s.epochs, done, total, 0);
      });
  for (auto it = valid.metrics.begin(); it != valid.metrics.end(); ++it)
    env_.hooks->metric(s.stage, state_.step, epoch, QStringLiteral("valid/") + it.key(), it.value());
  const double value = valid.metrics.value(s.metric, 0.0);
  state_.lastValid = toJson(valid.metrics);
  if (value > state_.bestMetric) {
    state_.bestMetric = value;
    state_.bestEpoch = epoch;
    state_.badEpochs = 0;
    state_.bestValid = state_.lastValid;
    saveCheckpoint(env_.bestCheckpoint, *env_.model, nullptr, state_);
  } else {
    ++state_.badEpochs;
  }
  return value;
}

StageState StageTrainer::run() {
  const StageSettings& s = env_.settings;
  optimizer_ = makeOptimizer();
  if (QFileInfo::exists(env_.lastCheckpoint)) {
    state_ = loadCheckpoint(env_.lastCheckpoint, *env_.model, optimizer_.get(), /*restoreRng=*/true);
    if (state_.finished) {
      if (!env_.reopenFinished || state_.epoch >= s.epochs) return state_;
      state_.finished = false;
      state_.badEpochs = 0;
      env_.hooks->message(QStringLiteral("%1: training on from epoch %2 to %3 (best %4 = %5 at epoch %6; "
                                         "early-stopping patience starts over)")
                              .arg(QString::fromStdString(s.stage))
                              .arg(state_.epoch)
                              .arg(s.epochs)
                              .arg(s.metric)
                              .arg(state_.bestMetric, 0, 'f', 4)
                              .arg(state_.bestEpoch));
    } else {
      env_.hooks->message(QStringLiteral("%1: resuming after epoch %2 (best %3 = %4 at epoch %5)")
                              .arg(QString::fromStdString(s.stage))
                              .arg(state_.epoch)
                              .arg(s.metric)
                              .arg(state_.bestMetric, 0, 'f', 4)
                              .arg(state_.bestEpoch));
    }
  } else {
    torch::manual_seed(mixSeed(s.seed, stageSalt(s.stage)));
  }
  auto noEpochDone = [&] {
    return TimeLimitError(QStringLiteral("time limit reached before %1 finished an epoch").arg(QString::fromStdString(s.stage)));
  };
  if (state_.epoch == 0 && outOfTime(0)) throw noEpochDone();
  prepare();

  double lastEpochSeconds = 0;  // this session's previous epoch, validation and checkpoint included
  for (int epoch = state_.epoch + 1; epoch <= s.epochs; ++epoch) {
    env_.hooks->checkCancel();
    if (outOfTime(lastEpochSeconds)) {
      if (state_.epoch == 0) throw noEpochDone();
      stoppedByTimeLimit_ = true;
      break;  // finished below, at the last epoch done
    }
    const double epochStart = env_.sessionSeconds ? env_.sessionSeconds() : 0;
    LossContext ctx{s.stage, epoch, state_.step};
    env_.model->train();
    env_.model->beginEpoch(ctx);
    QElapsedTimer timer;
    timer.start();
    const int64_t samplesBefore = state_.samples;
    trainEpoch(epoch);
    flushLossLog(epoch);
    const double trainSeconds = timer.nsecsElapsed() / 1e9;
    state_.trainSeconds += trainSeconds;
    const double rate = trainSeconds > 0 ? (state_.samples - samplesBefore) / trainSeconds : 0;
    env_.hooks->metric(s.stage, state_.step, epoch, QStringLiteral("time/epoch_seconds"), trainSeconds);
    env_.hooks->metric(s.stage, state_.step, epoch, QStringLiteral("throughput/samples_per_second"), rate);

    state_.epoch = epoch;
    const double value = validate(epoch);
    if ((s.patience > 0 && state_.badEpochs >= s.patience) || epoch == s.epochs) state_.finished = true;
    saveCheckpoint(env_.lastCheckpoint, *env_.model, optimizer_.get(), state_);
    env_.hooks->epochDone(s.stage, state_, s.epochs);
    env_.hooks->message(QStringLiteral("%1 epoch %2/%3: loss-time %4 s, %5 samples/s, valid %6 = %7 (best %8 @ %9)%10")
                            .arg(QString::fromStdString(s.stage))
                            .arg(epoch)
                            .arg(s.epochs)
                            .arg(trainSeconds, 0, 'f', 1)
                            .arg(rate, 0, 'f', 0)
                            .arg(s.metric)
                            .arg(value, 0, 'f', 4)
                            .arg(state_.bestMetric, 0, 'f', 4)
                            .arg(state_.bestEpoch)
                            .arg(state_.finished && epoch < s.epochs ? QStringLiteral(" - early stop") : QString()));
    if (env_.sessionSeconds) lastEpochSeconds = env_.sessionSeconds() - epochStart;
    if (state_.finished) break;
  }
  if (!state_.finished) {  // epochs lowered below what was already run, or the time limit
    state_.finished = true;
    saveCheckpoint(env_.lastCheckpoint, *env_.model, optimizer_.get(), state_);
  }
  return state_;
}

bool StageTrainer::pastTimeLimit() const {
  return env_.timeLimitSeconds > 0 && env_.sessionSeconds && env_.sessionSeconds() > env_.timeLimitSeconds;
}

bool StageTrainer::outOfTime(double lastEpochSeconds) {
  if (env_.timeLimitSeconds <= 0 || !env_.sessionSeconds) return false;
  const double now = env_.sessionSeconds();
  if (now + lastEpochSeconds <= env_.timeLimitSeconds) return false;
  env_.hooks->message(
      QStringLiteral("%1: time limit of %2 min: %3")
          .arg(QString::fromStdString(env_.settings.stage))
          .arg(env_.timeLimitSeconds / 60.0, 0, 'g', 4)
          .arg(state_.epoch == 0
                   ? QStringLiteral("reached after %1 min, before the first epoch").arg(now / 60.0, 0, 'f', 1)
                   : QStringLiteral("stopping after epoch %1 (%2 min in; at %3 s an epoch the next would end past the limit)")
                         .arg(state_.epoch)
                         .arg(now / 60.0, 0, 'f', 1)
                         .arg(lastEpochSeconds, 0, 'f', 1)));
  return true;
}

SptTrainer::SptTrainer(StageEnv env) : StageTrainer(std::move(env)) {
  units_ = trainingUnits(*env_.split, env_.settings.targets);
  if (units_.empty())
    throw DataError(QStringLiteral("<dataset>"), 0, QStringLiteral("no training sequences after the split"));
  lengths_.reserve(units_.size());
  for (const auto& u : units_) {
    lengths_.push_back(env_.builder->unitLength(u));
    targetsPerEpoch_ += env_.settings.targets == TargetMode::AllPositions ? lengths_.back() : 1;
  }
  env_.model->prepareTraining(*env_.data, *env_.split, *env_.builder);
}

int64_t SptTrainer::step(const std::vector<int64_t>& rows, int epoch) {
  const StageSettings& s = env_.settings;
  Batch batch = env_.builder->trainBatch(units_, rows, s.targets).to(env_.device);
  LossContext ctx{s.stage, epoch, state_.step};
  LossOutput out = env_.model->loss(batch, ctx);
  checkFinite(out.total, epoch);
  optimizer_->zero_grad();
  out.total.backward();
  optimizerStep(out, epoch);
  int64_t targets = static_cast<int64_t>(rows.size());
  if (s.targets == TargetMode::AllPositions) {
    targets = 0;
    for (int64_t r : rows) targets += lengths_[static_cast<size_t>(r)];
  }
  state_.samples += static_cast<int64_t>(rows.size());
  state_.targets += targets;
  return targets;
}

void SptTrainer::trainEpoch(int epoch) {
  const StageSettings& s = env_.settings;
  const auto batches = epochBatches(lengths_, s.batchSize, s.bucketing, mixSeed(s.seed, static_cast<uint64_t>(epoch)));
  QElapsedTimer timer;
  timer.start();
  int64_t done = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    env_.hooks->checkCancel();
    step(batches[i], epoch);
    done += static_cast<int64_t>(batches[i].size());
    if (i % kProgressEveryBatches == 0 || i + 1 == batches.size()) {
      const double secs = timer.nsecsElapsed() / 1e9;
      env_.hooks->batchProgress(s.stage, epoch, s.epochs, done, static_cast<int64_t>(units_.size()),
                                secs > 0 ? done / secs : 0);
    }
  }
}

TrainBenchFigures StageTrainer::benchmark(double) {
  throw Error(ExitCode::Usage, QStringLiteral("stage '%1' has no benchmark").arg(QString::fromStdString(env_.settings.stage)));
}

TrainBenchFigures SptTrainer::benchmark(double seconds) {
  constexpr int kWarmupSteps = 3;
  const StageSettings& s = env_.settings;
  optimizer_ = makeOptimizer();
  torch::manual_seed(mixSeed(s.seed, stageSalt(s.stage)));
  env_.model->train();
  TrainBenchFigures f;
  QElapsedTimer timer;
  int64_t samples = 0, targets = 0;
  int warm = 0;
  for (int epoch = 1; epoch < 1000; ++epoch) {
    for (const auto& rows : epochBatches(lengths_, s.batchSize, s.bucketing, mixSeed(s.seed, static_cast<uint64_t>(epoch)))) {
      env_.hooks->checkCancel();
      const int64_t t = step(rows, epoch);
      if (warm < kWarmupSteps) {
        if (++warm == kWarmupSteps) timer.start();
        continue;
      }
      samples += static_cast<int64_t>(rows.size());
      targets += t;
      ++f.steps;
      if (timer.nsecsElapsed() / 1e9 >= seconds) break;
    }
    if (timer.isValid() && timer.nsecsElapsed() / 1e9 >= seconds) break;
  }
  f.seconds = timer.isValid() ? timer.nsecsElapsed() / 1e9 : 0;
  f.samplesPerSecond = f.seconds > 0 ? samples / f.seconds : 0;
  f.targetsPerSecond = f.seconds > 0 ? targets / f.seconds : 0;
  return f;
}

namespace {
std::map<std::string, StageTrainerFactory>& stageRegistry() {
  static std::map<std::string, StageTrainerFactory> r{
      {"spt", [](StageEnv env) -> std::unique_ptr<StageTrainer> { return std::make_unique<SptTrainer>(std::move(env)); }}};
  return r;
}
std::mutex& stageMutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void registerStageTrainer(const std::string& stage, StageTrainerFactory factory) {
  std::lock_guard<std::mutex> lock(stageMutex());
  stageRegistry()[stage] = std::move(factory);
}

std::unique_ptr<StageTrainer> makeStageTrainer(const std::string& stage, StageEnv env) {
  StageTrainerFactory f;
  {
    std::lock_guard<std::mutex> lock(stageMutex());
    auto it = stageRegistry().find(stage);
    if (it == stageRegistry().end())
      throw ConfigError(QStringLiteral("stages"),
                        QStringLiteral("stage '%1' is not available in this build").arg(QString::fromStdString(stage)));
    f = it->second;
  }
  return f(std::move(env));
}

}  // namespace rr
