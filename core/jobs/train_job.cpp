#include "core/jobs/train_job.h"

#include "core/errors.h"
#include "core/eval/metrics.h"
#include "core/jobs/run_session.h"
#include "core/project/stored_config.h"
#include "core/train/checkpoint.h"
#include "core/train/trainer.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>

namespace rr {
namespace {

constexpr double kMetricFlushSeconds = 2.0;  // store writes are batched at most this often
constexpr int kMetricFlushRecords = 2000;

QJsonObject summaryMetrics(const QMap<QString, double>& m) {
  QJsonObject o;
  for (const QString& name : summaryMetricNames()) o.insert(name, m.value(name, 0.0));
  return o;
}

QMap<QString, double> toMap(const QJsonObject& o) {
  QMap<QString, double> m;
  for (auto it = o.begin(); it != o.end(); ++it) m.insert(it.key(), it.value().toDouble());
  return m;
}

}  // namespace

qint64 createRun(ExperimentStore& store, qint64 datasetId, const RunConfig& config, const QString& name) {
  config.validate();
  (void)store.dataset(datasetId);  // throws for an unknown dataset
  RunRecord r;
  r.datasetId = datasetId;
  r.name = name;
  r.preset = config.preset();
  r.config = config.toJson();
  r.status = RunStatus::Queued;
  r.stage = config.getStringList(QStringLiteral("stages")).value(0);
  return store.createRun(r);
}

QString lastStageEpochsKey(const RunConfig& config) {
  const QStringList stages = config.getStringList(QStringLiteral("stages"));
  return !stages.isEmpty() && stages.last() == QLatin1String("rpt") ? QStringLiteral("rpt.epochs")
                                                                     : QStringLiteral("train.epochs");
}

/// Per-run state of a TrainJob while it runs: session, metric buffer, progress bookkeeping.
struct TrainJob::State : public TrainHooks {
  TrainJob* job = nullptr;
  std::unique_ptr<RunSession> session;
  QVector<MetricRecord> pending;
  QElapsedTimer wall;        // this process's time on the run
  QElapsedTimer sinceFlush;
  double priorWall = 0;      // wall seconds of earlier sessions of this run
  int stageIndex = 0;
  int stageCount = 1;
  double epochSecondsEma = 0;
  QElapsedTimer epochTimer;

  void flush() {
    if (pending.isEmpty() || !session) return;
    session->store->appendMetrics(pending);
    pending.clear();
    sinceFlush.restart();
  }

  // TrainHooks
  void checkCancel() override { job->checkpointCancel(); }

  void batchProgress(const std::string& stage, int epoch, int epochs, int64_t done, int64_t total,
                     double rate) override {
    JobProgress p;
    const double epochFraction = total > 0 ? static_cast<double>(done) / total : 0;
    const bool validating = QString::fromStdString(stage).endsWith(QLatin1String(":valid"));
    p.phase = validating ? QStringLiteral("%1 validating epoch %2/%3").arg(QString::fromStdString(stage).section(':', 0, 0)).arg(epoch).arg(epochs)
                         : QStringLiteral("%1 epoch %2/%3").arg(QString::fromStdString(stage)).arg(epoch).arg(epochs);
    p.phaseDone = done;
    p.phaseTotal = total;
    p.rate = rate;
    p.rateUnit = validating ? QStringLiteral("users/s") : QStringLiteral("samples/s");
    if (!validating && rate > 0) p.phaseEtaSeconds = (total - done) / rate;
    const double inStage = ((epoch - 1) + (validating ? 1.0 : epochFraction * 0.97)) / std::max(1, epochs);
    p.fraction = (stageIndex + std::min(1.0, inStage)) / stageCount;
    p.elapsedSeconds = wall.nsecsElapsed() / 1e9;
    if (epochSecondsEma > 0) {
      // Upper bound: remaining epochs of this stage at the recent epoch time (early stopping
      // usually ends sooner).
      const double remainingEpochs = epochs - epoch + (1.0 - epochFraction);
      p.etaSeconds = remainingEpochs * epochSecondsEma;
    } else if (p.phaseEtaSeconds >= 0) {
      p.etaSeconds = p.phaseEtaSeconds + (epochs - epoch) * (p.phaseEtaSeconds + (rate > 0 ? done / rate : 0));
    }
    job->reportProgress(p);
  }

  void metric(const std::string& stage, int64_t step, int epoch, const QString& name, double value) override {
    MetricRecord r;
    r.run = job->runId();
    r.stage = QString::fromStdString(stage);
    r.step = step;
    r.epoch = epoch;
    r.name = name;
    r.value = value;
    r.wallTime = priorWall + wall.nsecsElapsed() / 1e9;
    pending.push_back(r);
    job->reportMetric(r);
    if (pending.size() >= kMetricFlushRecords || sinceFlush.nsecsElapsed() / 1e9 > kMetricFlushSeconds) flush();
  }

  void message(const QString& line) override { job->reportMessage(line); }

  void epochDone(const std::string& stage, const StageState& state, int epochs) override {
    const double secs = epochTimer.isValid() ? epochTimer.nsecsElapsed() / 1e9 : 0;
    epochTimer.restart();
    if (secs > 0) epochSecondsEma = epochSecondsEma > 0 ? 0.7 * epochSecondsEma + 0.3 * secs : secs;
    flush();
    session->store->setRunProgress(job->runId(), state.epoch, state.bestEpoch, toMap(state.bestValid),
                                   toMap(state.lastValid));
  }
};

TrainJob::TrainJob(QString projectDir, qint64 runId) : projectDir_(std::move(projectDir)), runId_(runId) {}
TrainJob::~TrainJob() = default;

QString TrainJob::title() const { return QStringLiteral("Train run %1").arg(runId_); }

void TrainJob::onPaused() {
  if (state_ && state_->session) {
    state_->flush();
    state_->session->store->setRunStatus(runId_, RunStatus::Paused);
  }
}

void TrainJob::onResumed() {
  if (state_ && state_->session) state_->session->store->setRunStatus(runId_, RunStatus::Running);
}

void TrainJob::run() {
  State st;
  st.job = this;
  st.wall.start();
  st.sinceFlush.start();
  QStringList overrides;
  if (threads_ >= 0) overrides << QStringLiteral("threads=%1").arg(threads_);
  st.session = RunSession::open(projectDir_, runId_, overrides);
  RunSession& s = *st.session;
  Project::RunLock lock = s.project.lockRun(runId_);
  st.priorWall = s.run.wallSeconds;
  state_ = &st;
  struct ClearState {
    TrainJob* j;
    ~ClearState() { j->state_ = nullptr; }
  } clear{this};

  const QStringList stages = s.config.getStringList(QStringLiteral("stages"));
  st.stageCount = static_cast<int>(stages.size());
  if (extendEpochs_ > 0) {
    const QString last = stages.last();
    const QString key = lastStageEpochsKey(s.config);
    const QString lastCheckpoint = s.checkpointPath(last.toStdString(), "last");
    const int done = QFileInfo::exists(lastCheckpoint) ? readCheckpointState(lastCheckpoint).epoch : 0;
    if (extendEpochs_ < done)
      throw ConfigError(key, QStringLiteral("run %1 has already trained %2 epochs of its %3 stage; ask for at least that many")
                                 .arg(runId_)
                                 .arg(done)
                                 .arg(last));
    RunConfig stored = storedRunConfig(s.run.config);  // without this session's thread override
    stored.set(key, extendEpochs_);
    stored.validate();
    s.config.set(key, extendEpochs_);
    s.store->reopenRunStage(runId_, stored.toJson(), last);
  }
  // The session began when its clock did (before the data was loaded), so that started_at plus
  // a record's wall time in this session is when the record was written.
  s.store->setRunStarted(runId_, s.deviceName,
                         QDateTime::currentDateTimeUtc().addMSecs(-st.wall.elapsed()));
  s.store->setRunStatus(runId_, RunStatus::Running);
  reportMessage(QStringLiteral("run %1: %2 on %3 users / %4 items, device %5, threads %6x%7 (torch x BLAS)")
                    .arg(runId_)
                    .arg(s.config.preset())
                    .arg(s.data.numUsers())
                    .arg(s.data.numItems)
                    .arg(s.deviceName)
                    .arg(s.threads.torch)
                    .arg(s.threads.blas));

  QJsonArray stageSummaries;
  QMap<QString, double> finalValid, finalTest;
  int totalEpochs = 0, finalBestEpoch = 0;
  int64_t totalSamples = 0;
  double totalTrainSeconds = 0;
  bool outOfTime = false;
  try {
    for (int i = 0; i < stages.size(); ++i) {
      st.stageIndex = i;
      const std::string stage = stages[i].toStdString();
      s.store->setRunStage(runId_, stages[i]);
      StageEnv env;
      env.model = s.model;
      env.data = &s.data;
      env.split = &s.split;
      env.builder = s.builder.get();
      env.evaluator = s.evaluator.get();
      env.device = s.device;
      env.config = s.config;
      env.settings = stage == "rpt" ? StageSettings::forRpt(s.config) : StageSettings::forSpt(s.config);
      env.hooks = &st;
      env.lastCheckpoint = s.checkpointPath(stage, "last");
      env.bestCheckpoint = s.checkpointPath(stage, "best");
      env.reopenFinished = extendEpochs_ > 0 && i + 1 == stages.size();
      env.timeLimitSeconds = timeLimitSeconds_;
      env.sessionSeconds = clock_ ? clock_ : std::function<double()>([&st] { return st.wall.nsecsElapsed() / 1e9; });

      if (QFileInfo::exists(env.lastCheckpoint)) {
        const StageState saved = readCheckpointState(env.lastCheckpoint);
        if (!saved.finished) s.store->truncateMetrics(runId_, stages[i], saved.step);
      } else if (stage == "rpt") {
        // RPT starts from the best SPT weights: this run's, or another run's (rpt.from_run).
        const qint64 from = s.config.getInt(QStringLiteral("rpt.from_run"));
        QString source = s.checkpointPath("spt", "best");
        if (from > 0) {
          const auto rec = s.store->checkpoint(from, QStringLiteral("spt"), QStringLiteral("best"));
          if (!rec) throw ConfigError(QStringLiteral("rpt.from_run"), QStringLiteral("run %1 has no SPT checkpoint").arg(from));
          source = s.project.absolutePath(rec->path);
        }
        loadCheckpoint(source, *s.model, nullptr, false);
      }
      st.epochTimer.start();
      st.epochSecondsEma = 0;
      auto trainer = makeStageTrainer(stage, env);
      const StageState result = trainer->run();
      outOfTime = trainer->stoppedByTimeLimit();
      st.flush();
      for (const auto& [kind, path] : {std::pair<const char*, QString>{"last", env.lastCheckpoint},
                                       std::pair<const char*, QString>{"best", env.bestCheckpoint}}) {
        if (!QFileInfo::exists(path)) continue;
        CheckpointRecord c;
        c.runId = runId_;
        c.stage = stages[i];
        c.kind = QString::fromLatin1(kind);
        c.epoch = QString::fromLatin1(kind) == QLatin1String("best") ? result.bestEpoch : result.epoch;
        c.path = s.project.relativePath(path);
        c.metric = result.bestMetric;
        s.store->recordCheckpoint(c);
      }

      // Evaluate this stage's best checkpoint (stored per stage, so SPT-only vs SPT+RPT compare).
      QMap<QString, double> valid, test;
      std::optional<EvaluationRecord> storedValid, storedTest;
      for (const auto& e : s.store->evaluations(runId_)) {
        if (e.stage != stages[i] || e.label != QLatin1String("final")) continue;
        if (e.split == QLatin1String("valid")) storedValid = e;
        if (e.split == QLatin1String("test")) storedTest = e;
      }
      if (storedValid && storedTest) {
        valid = storedValid->metrics;
        test = storedTest->metrics;
      } else {
        s.loadBest(stage);
        for (const char* split : {"valid", "test"}) {
          const bool isTest = QLatin1String(split) == QLatin1String("test");
          const auto& cases = isTest ? s.split.test : s.split.valid;
          const EvalResult r = s.evaluator->evaluate(*s.model, cases, [&](int64_t done, int64_t total) {
            checkpointCancel();
            JobProgress p;
            p.phase = QStringLiteral("%1: evaluating %2").arg(stages[i], QLatin1String(split));
            p.phaseDone = done;
            p.phaseTotal = total;
            p.fraction = (i + 1.0) / stages.size();
            p.elapsedSeconds = st.wall.nsecsElapsed() / 1e9;
            reportProgress(p);
          });
          EvaluationRecord e;
          e.runId = runId_;
          e.stage = stages[i];
          e.split = QLatin1String(split);
          e.label = QStringLiteral("final");
          e.metrics = r.metrics;
          e.ranks = r.ranks;
          s.store->saveEvaluation(e);
          (isTest ? test : valid) = r.metrics;
        }
      }
      reportMessage(QStringLiteral("%1 done: best epoch %2, test ndcg@10 %3 recall@10 %4")
                        .arg(stages[i])
                        .arg(result.bestEpoch)
                        .arg(test.value(QStringLiteral("ndcg@10")), 0, 'f', 4)
                        .arg(test.value(QStringLiteral("recall@10")), 0, 'f', 4));
      const double sps = result.trainSeconds > 0 ? result.samples / result.trainSeconds : 0;
      stageSummaries.append(QJsonObject{{QStringLiteral("stage"), stages[i]},
                                        {QStringLiteral("epochs_run"), result.epoch},
                                        {QStringLiteral("best_epoch"), result.bestEpoch},
                                        {QStringLiteral("valid"), summaryMetrics(valid)},
                                        {QStringLiteral("test"), summaryMetrics(test)},
                                        {QStringLiteral("train_samples_per_second"), sps},
                                        {QStringLiteral("train_targets_per_second"),
                                         result.trainSeconds > 0 ? result.targets / result.trainSeconds : 0},
                                        {QStringLiteral("wall_seconds"), result.trainSeconds}});
      totalEpochs += result.epoch;
      finalBestEpoch = result.bestEpoch;
      totalSamples += result.samples;
      totalTrainSeconds += result.trainSeconds;
      finalValid = valid;
      finalTest = test;
      if (outOfTime && i + 1 < stages.size())
        throw TimeLimitError(QStringLiteral("time limit reached after %1; resuming runs %2")
                                 .arg(stages[i], stages.mid(i + 1).join(QStringLiteral(", "))));
    }
  } catch (const TimeLimitError& e) {
    st.flush();
    s.store->setRunStatus(runId_, RunStatus::Interrupted, e.message());
    s.store->setRunResult(runId_, {}, {}, st.priorWall + st.wall.nsecsElapsed() / 1e9);
    throw;
  } catch (const CancelledError&) {
    st.flush();
    s.store->setRunStatus(runId_, RunStatus::Interrupted, QStringLiteral("stopped by the user"));
    s.store->setRunResult(runId_, {}, {}, st.priorWall + st.wall.nsecsElapsed() / 1e9);
    throw;
  } catch (const Error& e) {
    try {
      st.flush();
      s.store->setRunStatus(runId_, RunStatus::Failed, e.message());
      s.store->setRunResult(runId_, {}, {}, st.priorWall + st.wall.nsecsElapsed() / 1e9);
    } catch (...) {
    }
    throw;
  }

  const double wallSeconds = st.priorWall + st.wall.nsecsElapsed() / 1e9;
  QJsonObject summary{{QStringLiteral("run_id"), runId_},
                      {QStringLiteral("status"), QStringLiteral("completed")},
                      {QStringLiteral("preset"), s.config.preset()},
                      {QStringLiteral("dataset"), s.datasetJson()},
                      {QStringLiteral("epochs_run"), totalEpochs},
                      {QStringLiteral("best_epoch"), finalBestEpoch},
                      {QStringLiteral("valid"), summaryMetrics(finalValid)},
                      {QStringLiteral("test"), summaryMetrics(finalTest)},
                      {QStringLiteral("train_samples_per_second"),
                       totalTrainSeconds > 0 ? totalSamples / totalTrainSeconds : 0.0},
                      {QStringLiteral("wall_seconds"), wallSeconds},
                      {QStringLiteral("device"), s.deviceName},
                      {QStringLiteral("threads"), s.threads.torch * s.threads.blas}};
  if (stages.size() > 1) summary.insert(QStringLiteral("stages"), stageSummaries);
  if (outOfTime) summary.insert(QStringLiteral("time_limit_reached"), true);
  s.store->setRunResult(runId_, finalTest, summary, wallSeconds);
  s.store->setRunStatus(runId_, RunStatus::Completed);
  s.store->setRunFinished(runId_);
  setResult(summary);
}

}  // namespace rr
