#include "core/errors.h"
#include "core/jobs/job.h"
#include "test_main.h"

#include <QJsonObject>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace rr;

namespace {

/// Records everything a job reports, from any thread.
class RecordingObserver : public JobObserver {
 public:
  void jobStatusChanged(JobStatus s) override {
    std::lock_guard<std::mutex> g(m_);
    statuses_ << jobStatusName(s);
  }
  void jobProgress(const JobProgress& p) override {
    std::lock_guard<std::mutex> g(m_);
    progress_.append(p);
  }
  void jobMetric(const MetricRecord& r) override {
    std::lock_guard<std::mutex> g(m_);
    metrics_.append(r);
  }
  void jobMessage(const QString& line) override {
    std::lock_guard<std::mutex> g(m_);
    messages_ << line;
  }
  QStringList statuses() const {
    std::lock_guard<std::mutex> g(m_);
    return statuses_;
  }
  QVector<MetricRecord> metrics() const {
    std::lock_guard<std::mutex> g(m_);
    return metrics_;
  }
  QStringList messages() const {
    std::lock_guard<std::mutex> g(m_);
    return messages_;
  }
  QVector<JobProgress> progress() const {
    std::lock_guard<std::mutex> g(m_);
    return progress_;
  }

 private:
  mutable std::mutex m_;
  QStringList statuses_;
  QVector<JobProgress> progress_;
  QVector<MetricRecord> metrics_;
  QStringList messages_;
};

/// A job whose run() does what the test asks.
class ScriptedJob : public Job {
 public:
  enum class Script { Complete, ThrowDataError, ThrowRunError, ThrowStd, ThrowUnknown, CancelItself, LoopUntilStopped };
  explicit ScriptedJob(Script s) : script_(s) {}
  QString title() const override { return QStringLiteral("scripted"); }

  std::atomic<bool> stop{false};
  std::atomic<int> iterations{0};
  std::atomic<int> paused{0};
  std::atomic<int> resumed{0};

 protected:
  void run() override {
    switch (script_) {
      case Script::Complete:
        for (int i = 1; i <= 3; ++i) {
          checkpointCancel();
          MetricRecord m;
          m.step = i;
          m.name = QStringLiteral("loss/ce");
          m.value = 1.0 / i;
          reportMetric(m);
          JobProgress p;
          p.fraction = i / 3.0;
          p.phase = QStringLiteral("epoch %1/3").arg(i);
          reportProgress(p);
        }
        reportMessage(QStringLiteral("done"));
        setResult(QJsonObject{{QStringLiteral("status"), QStringLiteral("completed")}});
        return;
      case Script::ThrowDataError:
        throw DataError(QStringLiteral("data.txt"), 12, QStringLiteral("expected an integer item id, got 'x'"));
      case Script::ThrowRunError:
        throw RunError(QStringLiteral("loss diverged to NaN at step 7"));
      case Script::ThrowStd:
        throw std::out_of_range("vector::at");
      case Script::ThrowUnknown:
        throw 42;
      case Script::CancelItself:
        cancel();
        checkpointCancel();
        throw std::logic_error("not reached");
      case Script::LoopUntilStopped:
        while (!stop.load()) {
          checkpointCancel();
          ++iterations;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return;
    }
  }
  void onPaused() override { ++paused; }
  void onResumed() override { ++resumed; }

 private:
  Script script_;
};

}  // namespace

class TestJob : public QObject {
  Q_OBJECT

 private slots:
  void statusNames() {
    QCOMPARE(jobStatusName(JobStatus::Queued), QStringLiteral("queued"));
    QCOMPARE(jobStatusName(JobStatus::Running), QStringLiteral("running"));
    QCOMPARE(jobStatusName(JobStatus::Paused), QStringLiteral("paused"));
    QCOMPARE(jobStatusName(JobStatus::Completed), QStringLiteral("completed"));
    QCOMPARE(jobStatusName(JobStatus::Failed), QStringLiteral("failed"));
    QCOMPARE(jobStatusName(JobStatus::Cancelled), QStringLiteral("cancelled"));
  }

  void outcomes_data() {
    QTest::addColumn<int>("script");
    QTest::addColumn<QStringList>("statuses");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("error");
    const QStringList failed{"running", "failed"};
    QTest::newRow("completes") << int(ScriptedJob::Script::Complete) << QStringList{"running", "completed"} << 0 << "";
    QTest::newRow("data error keeps its code and message")
        << int(ScriptedJob::Script::ThrowDataError) << failed << 3
        << "data.txt:12: expected an integer item id, got 'x'";
    QTest::newRow("run error") << int(ScriptedJob::Script::ThrowRunError) << failed << 4
                               << "loss diverged to NaN at step 7";
    QTest::newRow("std exception is an internal error") << int(ScriptedJob::Script::ThrowStd) << failed << 4
                                                        << "internal error: vector::at";
    QTest::newRow("anything else is an internal error") << int(ScriptedJob::Script::ThrowUnknown) << failed << 4
                                                        << "internal error: unknown exception";
    QTest::newRow("cancelled") << int(ScriptedJob::Script::CancelItself) << QStringList{"running", "cancelled"} << 130
                               << "";
  }
  void outcomes() {
    QFETCH(int, script);
    QFETCH(QStringList, statuses);
    QFETCH(int, exitCode);
    QFETCH(QString, error);
    ScriptedJob job(static_cast<ScriptedJob::Script>(script));
    RecordingObserver obs;
    job.addObserver(&obs);
    QCOMPARE(job.status(), JobStatus::Queued);
    job.execute();  // never throws
    QCOMPARE(obs.statuses(), statuses);
    QCOMPARE(jobStatusName(job.status()), statuses.last());
    QCOMPARE(job.exitCode(), exitCode);
    QCOMPARE(job.errorMessage(), error);
  }

  void observersSeeMetricsMessagesAndProgressInOrder() {
    ScriptedJob job(ScriptedJob::Script::Complete);
    RecordingObserver a, b;
    job.addObserver(&a);
    job.addObserver(&b);
    job.execute();
    for (const RecordingObserver* o : {&a, &b}) {
      const QVector<MetricRecord> m = o->metrics();
      QCOMPARE(m.size(), 3);
      for (int i = 0; i < 3; ++i) QCOMPARE(m[i].step, qint64(i + 1));
      QCOMPARE(o->messages(), QStringList{QStringLiteral("done")});
      const QVector<JobProgress> p = o->progress();
      QCOMPARE(p.size(), 3);
      QCOMPARE(p.last().fraction, 1.0);
      QCOMPARE(p.last().phase, QStringLiteral("epoch 3/3"));
      QVERIFY(p.last().elapsedSeconds > 0);  // filled from the job's clock
    }
    QCOMPARE(job.lastProgress().phase, QStringLiteral("epoch 3/3"));
    QCOMPARE(job.result().value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
  }

  void cancelFromAnotherThread() {
    ScriptedJob job(ScriptedJob::Script::LoopUntilStopped);
    RecordingObserver obs;
    job.addObserver(&obs);
    std::thread worker([&] { job.execute(); });
    QTRY_VERIFY_WITH_TIMEOUT(job.iterations.load() > 5, 5000);
    job.cancel();
    worker.join();
    QVERIFY(job.isCancelRequested());
    QCOMPARE(obs.statuses(), (QStringList{"running", "cancelled"}));
    QCOMPARE(job.exitCode(), 130);
    QVERIFY(job.errorMessage().isEmpty());
  }

  void cancelledBeforeStart() {
    ScriptedJob job(ScriptedJob::Script::Complete);
    RecordingObserver obs;
    job.addObserver(&obs);
    job.cancel();
    job.execute();
    QCOMPARE(obs.statuses(), (QStringList{"running", "cancelled"}));
    QVERIFY(obs.metrics().isEmpty());
  }

  void pauseAndResume() {
    ScriptedJob job(ScriptedJob::Script::LoopUntilStopped);
    RecordingObserver obs;
    job.addObserver(&obs);
    std::thread worker([&] { job.execute(); });
    QTRY_VERIFY_WITH_TIMEOUT(job.iterations.load() > 2, 5000);
    job.pause();
    QVERIFY(job.isPauseRequested());
    QTRY_COMPARE_WITH_TIMEOUT(job.status(), JobStatus::Paused, 5000);
    QCOMPARE(job.paused.load(), 1);
    const int frozen = job.iterations.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    QCOMPARE(job.iterations.load(), frozen);  // blocked, not spinning
    job.resume();
    QTRY_VERIFY_WITH_TIMEOUT(job.iterations.load() > frozen, 5000);
    QCOMPARE(job.status(), JobStatus::Running);
    job.stop = true;
    worker.join();
    QCOMPARE(obs.statuses(), (QStringList{"running", "paused", "running", "completed"}));
    QCOMPARE(job.paused.load(), 1);
    QCOMPARE(job.resumed.load(), 1);
    QCOMPARE(job.exitCode(), 0);
  }

  void cancelWakesPausedJob() {
    ScriptedJob job(ScriptedJob::Script::LoopUntilStopped);
    RecordingObserver obs;
    job.addObserver(&obs);
    std::thread worker([&] { job.execute(); });
    QTRY_VERIFY_WITH_TIMEOUT(job.iterations.load() > 2, 5000);
    job.pause();
    QTRY_COMPARE_WITH_TIMEOUT(job.status(), JobStatus::Paused, 5000);
    job.cancel();
    worker.join();  // would hang if cancel() did not wake the paused job
    QCOMPARE(obs.statuses(), (QStringList{"running", "paused", "cancelled"}));
    QCOMPARE(job.resumed.load(), 0);
    QCOMPARE(job.exitCode(), 130);
  }

  // --- formatClock, the one duration format of the studio and the command line ---

  void formatsDurationsAsClocks() {
    QCOMPARE(formatClock(0), QStringLiteral("0:00"));
    QCOMPARE(formatClock(59.4), QStringLiteral("0:59"));
    QCOMPARE(formatClock(59.6), QStringLiteral("1:00"));
    QCOMPARE(formatClock(65), QStringLiteral("1:05"));
    QCOMPARE(formatClock(3599.4), QStringLiteral("59:59"));
    QCOMPARE(formatClock(3 * 3600 + 62), QStringLiteral("3:01:02"));
    QCOMPARE(formatClock(27 * 3600), QStringLiteral("27:00:00"));
    QCOMPARE(formatClock(-1), QStringLiteral("–"));
    QCOMPARE(formatClock(std::nan("")), QStringLiteral("–"));
    QCOMPARE(formatClock(std::numeric_limits<double>::infinity()), QStringLiteral("–"));
  }

  // --- EtaEstimator ---

  void etaUnknownUntilARateIsKnown() {
    EtaEstimator eta;
    eta.start(1000);
    QCOMPARE(eta.etaSeconds(), -1.0);
    eta.update(0, 0.5);  // time passed, nothing done
    QCOMPARE(eta.rate(), 0.0);
    QCOMPARE(eta.etaSeconds(), -1.0);
    eta.update(1000, 1.0);
    QCOMPARE(eta.etaSeconds(), 0.0);  // done
  }

  void etaFirstEstimateIsDebiased() {
    EtaEstimator eta;
    eta.start(10000);
    eta.update(100, 0.1);
    // Without the bias correction the first rate would be (1 - 0.9) * 1000 = 100/s and the
    // ETA ten times too long.
    QCOMPARE(eta.rate(), 1000.0);
    QCOMPARE(eta.etaSeconds(), 9.9);
    QCOMPARE(eta.done(), qint64(100));
    QCOMPARE(eta.total(), qint64(10000));
  }

  void etaConvergesOnConstantRate_data() {
    QTest::addColumn<double>("startupSeconds");  // a slow first interval (warm-up, first batch)
    QTest::newRow("steady from the start") << 0.0;
    QTest::newRow("one slow start-up interval") << 2.0;
  }
  void etaConvergesOnConstantRate() {
    QFETCH(double, startupSeconds);
    constexpr double kRate = 500.0;  // items per second after start-up
    constexpr qint64 kTotal = 50000;
    constexpr qint64 kStep = 50;
    EtaEstimator eta;
    eta.start(kTotal);
    double t = 0;
    qint64 done = 0;
    if (startupSeconds > 0) {
      done += kStep;
      t += startupSeconds;  // 25 items/s in the first interval
      eta.update(done, t);
    }
    int updates = 0;
    while (done < kTotal / 2) {
      done += kStep;
      t += kStep / kRate;
      eta.update(done, t);
      ++updates;
      if (updates == 40) {
        // About 40 intervals after start-up the weight of the slow interval is 0.9^40 < 2%.
        const double trueEta = (kTotal - done) / kRate;
        QVERIFY2(std::abs(eta.etaSeconds() - trueEta) / trueEta < 0.03,
                 qPrintable(QStringLiteral("eta %1 vs %2").arg(eta.etaSeconds()).arg(trueEta)));
      }
    }
    QVERIFY(std::abs(eta.rate() - kRate) / kRate < 1e-6);
    QVERIFY(std::abs(eta.etaSeconds() - (kTotal - done) / kRate) < 1e-3);
  }

  void etaFoldsTinyIntervals() {
    EtaEstimator eta;
    eta.start(1000);
    eta.update(10, 0.1);
    eta.update(20, 0.1);       // no time passed: folded into the next interval
    eta.update(30, 0.1000001);
    QCOMPARE(eta.rate(), 100.0);
    eta.update(40, 0.3);        // 30 items in 0.2 s since the last measured point
    QVERIFY(eta.rate() > 100.0 && eta.rate() < 150.0);
    QCOMPARE(eta.done(), qint64(40));
  }
};

RR_TEST_MAIN(TestJob)
#include "tst_job.moc"
