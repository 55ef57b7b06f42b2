// Training jobs end to end on a tiny synthetic project: completion and what gets stored, stop
// and resume giving exactly the uninterrupted result, evaluation with overrides.
#include "core/data/synthetic.h"
#include "core/jobs/evaluate_job.h"
#include "core/jobs/import_job.h"
#include "core/jobs/run_session.h"
#include "core/jobs/train_job.h"
#include "core/project/project.h"
#include "core/store/experiment_store.h"
#include "test_main.h"

#include <QJsonArray>
#include <QTemporaryDir>

using namespace rr;

namespace {
const QString kData = QStringLiteral("synthetic:users=300,items=60,clusters=4,length=10,seed=5");

RunConfig tinyConfig(int epochs, const char* preset = "sasrec") {
  RunConfig cfg = RunConfig::fromPreset(preset);
  cfg.set("data.max_len", 12);
  cfg.set("model.d", 16);
  cfg.set("train.epochs", epochs);
  cfg.set("train.batch_size", 32);
  cfg.set("train.log_every", 1);
  cfg.set("train.patience", 0);
  cfg.set("threads", 1);
  return cfg;
}

qint64 newRun(const QString& dir, const RunConfig& cfg) {
  Project p = Project::openOrCreate(dir);
  ExperimentStore store(p.databasePath());
  ImportRequest req;
  req.projectDir = dir;
  req.source = kData;
  const qint64 ds = importDataset(req, store);
  return createRun(store, ds, cfg, "test");
}

/// A LARES run of `sptEpochs` SPT epochs and then one RPT epoch.
qint64 newSptRptRun(const QString& dir, int sptEpochs) {
  RunConfig cfg = tinyConfig(sptEpochs, "lares");
  cfg.set("rpt.epochs", 1);
  cfg.set("rpt.batch_size", 32);
  cfg.set("stages", QJsonArray{"spt", "rpt"});
  return newRun(dir, cfg);
}

/// Resumes an SPT+RPT run to its end: completed, with `sptEpochs` SPT epochs and RPT's one.
void resumeToTheEnd(const QString& dir, qint64 run, int sptEpochs) {
  TrainJob resume(dir, run);
  resume.execute();
  QCOMPARE(resume.status(), JobStatus::Completed);
  const QJsonArray stages = resume.result().value("stages").toArray();
  QCOMPARE(stages.size(), 2);
  QCOMPARE(stages[0].toObject().value("epochs_run").toInt(), sptEpochs);
  QCOMPARE(stages[1].toObject().value("epochs_run").toInt(), 1);
}

/// A fake session clock for the time limit: 10 s per validation seen (so every epoch takes 10 s).
struct TenSecondsAnEpoch : JobObserver {
  std::atomic<int> validations{0};
  void jobMetric(const MetricRecord& r) override {
    if (r.name == QLatin1String("valid/ndcg@10")) ++validations;
  }
};

/// Runs `job` on that fake clock with a time limit of `limitSeconds` (the observer, like
/// StopDuringEpoch below, is not notified once execute() has returned).
void executeWithTimeLimit(TrainJob& job, double limitSeconds) {
  TenSecondsAnEpoch clock;
  job.addObserver(&clock);
  job.setClock([&clock] { return 10.0 * clock.validations.load(); });
  job.setTimeLimit(limitSeconds);
  job.execute();
}

/// A fake session clock that stands still through SPT and passes the limit right after RPT's
/// start-of-stage check (its first reading once SPT is done), i.e. during RPT's data selection.
struct PastTheLimitInRptSelection : JobObserver {
  std::atomic<bool> sptDone{false};
  std::atomic<int> readsSince{0};
  void jobMessage(const QString& line) override {
    if (line.startsWith(QLatin1String("spt done"))) sptDone = true;
  }
  double now() { return sptDone && readsSince++ > 0 ? 1000.0 : 0.0; }
};

/// Cancels the job during the epoch after `afterEpochs` validations.
struct StopDuringEpoch : JobObserver {
  Job* job = nullptr;
  int afterEpochs = 2;
  std::atomic<int> validations{0};
  void jobMetric(const MetricRecord& r) override {
    if (r.name == QLatin1String("valid/ndcg@10")) ++validations;
    if (validations.load() >= afterEpochs && r.name == QLatin1String("loss/total") && r.epoch == afterEpochs + 1) job->cancel();
  }
};
}  // namespace

class TrainJobTest : public QObject {
  Q_OBJECT
 private slots:
  void completesAndStoresEverything() {
    QTemporaryDir dir;
    const qint64 run = newRun(dir.path(), tinyConfig(3));
    TrainJob job(dir.path(), run);
    job.execute();
    QCOMPARE(job.status(), JobStatus::Completed);
    QCOMPARE(job.exitCode(), 0);
    const QJsonObject s = job.result();
    for (const char* key : {"run_id", "status", "preset", "dataset", "epochs_run", "best_epoch", "valid", "test",
                            "train_samples_per_second", "wall_seconds"})
      QVERIFY2(s.contains(QLatin1String(key)), key);
    for (const char* m : {"recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr@10"})
      QVERIFY2(s.value("test").toObject().contains(QLatin1String(m)), m);
    QCOMPARE(s.value("epochs_run").toInt(), 3);

    ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
    const RunRecord r = store.run(run);
    QCOMPARE(r.status, RunStatus::Completed);
    QCOMPARE(r.epochsRun, 3);
    QVERIFY(r.test.contains("ndcg@10"));
    // started_at is when the session's clock started (before loading the data), so started_at
    // plus a wall time is when it was on the clock: the run ended no earlier than started_at +
    // wall_seconds (store times and elapsed() are whole milliseconds, hence the 5 ms; the old
    // start, stamped after loading, was ~20 ms late even on this tiny project).
    QVERIFY(r.startedAt.isValid() && r.finishedAt.isValid());
    const qint64 sessionMs = r.startedAt.msecsTo(r.finishedAt);
    QVERIFY2(sessionMs >= static_cast<qint64>(1000 * r.wallSeconds) - 5,
             qPrintable(QStringLiteral("started %1 ms before the end, wall %2 s").arg(sessionMs).arg(r.wallSeconds)));
    const auto test = store.evaluation(run, "test");
    QVERIFY(test.has_value());
    QCOMPARE(static_cast<int>(test->ranks.size()), s.value("dataset").toObject().value("users").toInt());
    QCOMPARE(store.metrics(run, "valid/ndcg@10").size(), 3);
    QVERIFY(!store.metrics(run, "loss/total").isEmpty());
    QVERIFY(store.checkpoint(run, "spt", "best").has_value());
    QVERIFY(store.checkpoint(run, "spt", "last").has_value());
  }

  void stopAndResumeEqualsUninterrupted() {
    QTemporaryDir dir;
    const qint64 straight = newRun(dir.path(), tinyConfig(4));
    const qint64 stopped = newRun(dir.path(), tinyConfig(4));
    {
      TrainJob job(dir.path(), straight);
      job.execute();
      QCOMPARE(job.status(), JobStatus::Completed);
    }
    {
      TrainJob job(dir.path(), stopped);
      StopDuringEpoch stopper;
      stopper.job = &job;
      job.addObserver(&stopper);
      job.execute();
      QCOMPARE(job.status(), JobStatus::Cancelled);
      QCOMPARE(job.exitCode(), 130);
    }
    {
      ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
      QCOMPARE(store.run(stopped).status, RunStatus::Interrupted);
      QCOMPARE(store.run(stopped).epochsRun, 2);
    }
    TrainJob resume(dir.path(), stopped);
    resume.execute();
    QCOMPARE(resume.status(), JobStatus::Completed);

    ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
    const auto a = store.evaluation(straight, "test");
    const auto b = store.evaluation(stopped, "test");
    QVERIFY(a && b);
    QCOMPARE(a->ranks, b->ranks);  // bit-identical continuation
    QCOMPARE(a->metrics, b->metrics);
    // The resumed series has no duplicate or missing validation points.
    QCOMPARE(store.metrics(stopped, "valid/ndcg@10").size(), 4);
    const auto la = store.metrics(straight, "loss/total");
    const auto lb = store.metrics(stopped, "loss/total");
    QCOMPARE(la.size(), lb.size());
    for (int i = 0; i < la.size(); ++i) QCOMPARE(la[i].value, lb[i].value);
  }

  // At 10 s an epoch and a 25 s limit, epoch 3 would end at 30 s: the run stops after epoch 2,
  // is evaluated at its best epoch and completes; --epochs then trains it further.
  void timeLimitEndsAtTheLastEpochThatFits() {
    QTemporaryDir dir;
    const qint64 run = newRun(dir.path(), tinyConfig(6));
    {
      TrainJob job(dir.path(), run);
      executeWithTimeLimit(job, 25);
      QCOMPARE(job.status(), JobStatus::Completed);
      QCOMPARE(job.exitCode(), 0);
      QCOMPARE(job.result().value("epochs_run").toInt(), 2);
      QCOMPARE(job.result().value("time_limit_reached").toBool(), true);
    }
    {
      ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
      QCOMPARE(store.run(run).status, RunStatus::Completed);
      QCOMPARE(store.run(run).epochsRun, 2);
      QVERIFY(store.evaluation(run, "test").has_value());
      QCOMPARE(store.metrics(run, "valid/ndcg@10").size(), 2);
    }
    TrainJob further(dir.path(), run);
    further.setExtendEpochs(4);
    further.execute();
    QCOMPARE(further.status(), JobStatus::Completed);
    QCOMPARE(further.result().value("epochs_run").toInt(), 4);
    QVERIFY(!further.result().contains("time_limit_reached"));
  }

  // A limit already past when training starts leaves no epoch to evaluate: the run is
  // interrupted (resumable) and the job says why.
  void timeLimitBeforeTheFirstEpochInterrupts() {
    QTemporaryDir dir;
    const qint64 run = newRun(dir.path(), tinyConfig(3));
    TrainJob job(dir.path(), run);
    job.setClock([] { return 100.0; });
    job.setTimeLimit(60);
    job.execute();
    QCOMPARE(job.status(), JobStatus::Cancelled);
    QCOMPARE(job.exitCode(), 130);
    QVERIFY2(job.errorMessage().contains("time limit reached before spt finished an epoch"), qPrintable(job.errorMessage()));
    ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
    QCOMPARE(store.run(run).status, RunStatus::Interrupted);
    QCOMPARE(store.run(run).epochsRun, 0);
  }

  // Stopped by the limit in SPT with RPT still to come: SPT is finished and evaluated, the run is
  // interrupted, and resuming it runs RPT from there.
  void timeLimitBetweenStagesLeavesTheRestToResume() {
    QTemporaryDir dir;
    const qint64 run = newSptRptRun(dir.path(), 4);
    {
      TrainJob job(dir.path(), run);
      executeWithTimeLimit(job, 15);
      QCOMPARE(job.status(), JobStatus::Cancelled);
      QVERIFY2(job.errorMessage().contains("time limit reached after spt; resuming runs rpt"), qPrintable(job.errorMessage()));
    }
    {
      ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
      QCOMPARE(store.run(run).status, RunStatus::Interrupted);
      QVERIFY(store.evaluation(run, "test").has_value());  // SPT's, at its one epoch
      QCOMPARE(store.metrics(run, "valid/ndcg@10").size(), 1);
    }
    resumeToTheEnd(dir.path(), run, 1);
  }

  // RPT's data selection (a pass over every training sample before its first epoch) stops at
  // the limit: the run is interrupted with the reason, and resume selects again and trains.
  void timeLimitDuringRptSelectionInterrupts() {
    QTemporaryDir dir;
    const qint64 run = newSptRptRun(dir.path(), 1);
    {
      TrainJob job(dir.path(), run);
      PastTheLimitInRptSelection clock;
      job.addObserver(&clock);
      job.setClock([&clock] { return clock.now(); });
      job.setTimeLimit(60);
      job.execute();
      QCOMPARE(job.status(), JobStatus::Cancelled);
      QVERIFY2(job.errorMessage().contains("time limit reached during the RPT data selection"), qPrintable(job.errorMessage()));
      QVERIFY(clock.readsSince.load() >= 2);
    }
    {
      ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
      QCOMPARE(store.run(run).status, RunStatus::Interrupted);
      QCOMPARE(store.run(run).stage, QString("rpt"));
    }
    resumeToTheEnd(dir.path(), run, 1);
  }

  void evaluateWithOverride() {
    QTemporaryDir dir;
    const qint64 run = newRun(dir.path(), tinyConfig(2));
    TrainJob job(dir.path(), run);
    job.execute();
    QCOMPARE(job.status(), JobStatus::Completed);
    EvaluateRequest req;
    req.projectDir = dir.path();
    req.runId = run;
    req.overrides = QStringList{"eval.history_mask=exclude_seen"};
    EvaluateJob eval(req);
    eval.execute();
    QCOMPARE(eval.status(), JobStatus::Completed);
    const QJsonObject r = eval.result();
    QCOMPARE(r.value("label").toString(), QString("eval.history_mask=exclude_seen"));
    ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
    QVERIFY(store.evaluation(run, "test", "eval.history_mask=exclude_seen").has_value());
    // Masking seen items can only move targets up.
    QVERIFY(r.value("test").toObject().value("recall@10").toDouble() >=
            store.evaluation(run, "test")->metrics.value("recall@10") - 1e-12);
  }

  // A run stored before rpt.kl_level and rpt.advantages existed opens (for resume, evaluation and
  // analyses) with the behaviour it was trained with, not with today's defaults.
  void olderRunOpensWithItsEarlierBehaviour() {
    QTemporaryDir dir;
    const qint64 run = newRun(dir.path(), tinyConfig(1));
    {
      ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
      QJsonObject config = store.run(run).config;
      QJsonObject rpt = config.value("rpt").toObject();
      rpt.remove("kl_level");
      rpt.remove("advantages");
      config.insert("rpt", rpt);
      store.setRunConfig(run, config);
    }
    const auto s = RunSession::open(dir.path(), run);
    QCOMPARE(s->config.getString("rpt.kl_level"), QString("rollout"));
    QCOMPARE(s->config.getString("rpt.advantages"), QString("group"));
    QCOMPARE(s->config.getInt("model.d"), 16);
  }

  void badOverrideFailsWithTheKey() {
    QTemporaryDir dir;
    const qint64 run = newRun(dir.path(), tinyConfig(1));
    EvaluateRequest req;
    req.projectDir = dir.path();
    req.runId = run;
    req.overrides = QStringList{"model.reasoner.eval_stepz=3"};
    EvaluateJob eval(req);
    eval.execute();
    QCOMPARE(eval.status(), JobStatus::Failed);
    QCOMPARE(eval.exitCode(), 2);
    QVERIFY(eval.errorMessage().contains("model.reasoner.eval_stepz"));
  }
};

RR_TEST_MAIN(TrainJobTest)
#include "tst_train_job.moc"
