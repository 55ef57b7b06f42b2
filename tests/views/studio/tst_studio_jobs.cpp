// Jobs from the GUI: a training job goes queued -> running -> completed off the GUI thread,
// its metrics reach the chart model, and it trains further once completed; pause, stop
// (interrupted) and resume to completion.
#include "studio_test_support.h"
#include "test_main.h"
#include "views/curves_panel.h"
#include "core/jobs/train_job.h"
#include "views/main_window.h"
#include "views/project_explorer.h"

#include <QApplication>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTimer>
#include <QDir>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QThread>
#include <QTreeWidget>

using namespace rr;
using namespace rr::views;

namespace {
QList<JobStatus> statusesOf(const QSignalSpy& spy, qint64 handle) {
  QList<JobStatus> out;
  for (const auto& args : spy)
    if (args.at(0).toLongLong() == handle) out.append(args.at(1).value<JobStatus>());
  return out;
}
/// The runs table's text in `column` for `run`.
QString cellOf(MainWindow& w, qint64 run, int column) {
  RunsModel& m = w.runsModel();
  const int row = m.rowOfRun(run);
  return row < 0 ? QString() : m.index(row, column).data().toString();
}
/// Changes stored metric rows in place through a connection of its own (no trainer does this;
/// it shows which rows a reader reads again).
void rewriteMetricValue(const QString& dbPath, qint64 run, qint64 step, double value) {
  const QString name = QStringLiteral("rewrite");
  {
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
    db.setDatabaseName(dbPath);
    QVERIFY(db.open());
    QSqlQuery q(db);
    q.prepare(QStringLiteral("UPDATE metrics SET value = ? WHERE run_id = ? AND step = ?"));
    q.addBindValue(value);
    q.addBindValue(run);
    q.addBindValue(step);
    QVERIFY(q.exec());
  }
  QSqlDatabase::removeDatabase(name);
}
RunStatus storedStatus(const QString& dir, qint64 run) {
  ExperimentStore store(QDir(dir).filePath(QStringLiteral("project.db")));
  return store.run(run).status;
}
}  // namespace

class StudioJobsTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { rr::test::isolateSettings(); }

  void trainingGoesQueuedRunningCompleted() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    MainWindow w;
    QVERIFY2(w.openProject(dir.path(), true), qPrintable(w.lastError()));
    const qint64 run = w.createRun(ds, rr::test::tinyConfig(2), QStringLiteral("gui run"));
    QVERIFY2(run > 0, qPrintable(w.lastError()));
    w.setSelectedRuns({run});

    QSignalSpy status(&w.jobs(), &JobRunner::jobStatusChanged);
    QSignalSpy metrics(&w.jobs(), &JobRunner::metricsArrived);
    QSignalSpy finished(&w.jobs(), &JobRunner::jobFinished);
    QElapsedTimer clock;
    clock.start();
    const qint64 handle = w.startRun(run);
    QVERIFY(handle > 0);
    QCOMPARE(w.startRun(run), qint64(0));  // already queued
    QVERIFY(finished.wait(180000));
    const double seconds = clock.elapsed() / 1000.0;
    QCOMPARE(finished.first().at(1).value<JobStatus>(), JobStatus::Completed);
    QCOMPARE(statusesOf(status, handle), (QList<JobStatus>{JobStatus::Queued, JobStatus::Running, JobStatus::Completed}));

    // Metrics arrived in coalesced batches (at most ~25 per second, plus the flush at the end).
    int records = 0;
    for (const auto& args : metrics) records += args.at(0).value<QVector<MetricRecord>>().size();
    QVERIFY(records > 0);
    QVERIFY2(metrics.size() <= seconds * 1000 / JobRunner::kDrainIntervalMs + 5,
             qPrintable(QStringLiteral("%1 deliveries in %2 s").arg(metrics.size()).arg(seconds)));

    // The chart model holds what the store holds, and the chart shows it.
    ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
    QCOMPARE(store.run(run).status, RunStatus::Completed);
    const int stored = store.metrics(run, QStringLiteral("loss/total")).size();
    QVERIFY(stored > 0);
    QCOMPARE(w.curves().series(run, QStringLiteral("loss/total")).size(), stored);
    QCOMPARE(w.curves().series(run, QStringLiteral("valid/ndcg@10")).size(), 2);
    w.curvesPanel()->flushRedraw();
    CurveChart* chart = w.curvesPanel()->chart(QStringLiteral("loss/total"));
    QVERIFY(chart);
    QCOMPARE(chart->graph(1)->data()->size(), stored);
    // The table shows the finished run with its test metric.
    const int row = w.runsModel().rowOfRun(run);
    QCOMPARE(w.runsModel().index(row, RunsModel::Status).data().toString(), QStringLiteral("completed"));
    QVERIFY(!w.runsModel().index(row, RunsModel::TestNdcg).data().toString().isEmpty());

    // Train further: the completed run goes on to 3 epochs, its curves continue where they were.
    QVERIFY(w.trainFurtherAction()->isEnabled());
    QVERIFY(w.startRun(run, 3) > 0);
    QVERIFY(!w.trainFurtherAction()->isEnabled());  // while it trains
    QVERIFY(finished.wait(180000));
    QCOMPARE(finished.last().at(1).value<JobStatus>(), JobStatus::Completed);
    QCOMPARE(store.run(run).status, RunStatus::Completed);
    QCOMPARE(store.run(run).epochsRun, 3);
    QCOMPARE(w.curves().series(run, QStringLiteral("valid/ndcg@10")).size(), 3);
  }

  void pauseStopAndResume() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    MainWindow w;
    QVERIFY(w.openProject(dir.path(), true));
    const int epochs = 20;  // enough that the stop lands mid-run even on a fast machine
    const qint64 run = w.createRun(ds, rr::test::tinyConfig(epochs), QStringLiteral("stop me"));
    QVERIFY(run > 0);
    w.setSelectedRuns({run});
    QSignalSpy status(&w.jobs(), &JobRunner::jobStatusChanged);
    QSignalSpy finished(&w.jobs(), &JobRunner::jobFinished);
    const qint64 handle = w.startRun(run);

    // Pause once the first epoch is validated, check the store says paused, continue.
    QTRY_VERIFY_WITH_TIMEOUT(w.curves().series(run, QStringLiteral("valid/ndcg@10")).size() >= 1, 120000);
    w.jobs().pause(handle);
    QTRY_VERIFY_WITH_TIMEOUT(statusesOf(status, handle).contains(JobStatus::Paused), 60000);
    // The worker marks the run paused in the store right after announcing the pause.
    QTRY_COMPARE_WITH_TIMEOUT(storedStatus(dir.path(), run), RunStatus::Paused, 10000);
    w.jobs().resume(handle);
    QTRY_VERIFY_WITH_TIMEOUT(statusesOf(status, handle).count(JobStatus::Running) >= 2, 60000);

    // Stop during a later epoch: the run is interrupted, resumable.
    QTRY_VERIFY_WITH_TIMEOUT(w.curves().series(run, QStringLiteral("valid/ndcg@10")).size() >= 2, 120000);
    QVERIFY(w.stopRun(run, false));
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.last().at(1).value<JobStatus>(), JobStatus::Cancelled);
    {
      ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
      const RunRecord r = store.run(run);
      QCOMPARE(r.status, RunStatus::Interrupted);
      QVERIFY(r.epochsRun >= 2 && r.epochsRun < epochs);
    }
    QCOMPARE(w.runsModel().index(w.runsModel().rowOfRun(run), RunsModel::Status).data().toString(),
             QStringLiteral("interrupted"));

    // Resume from the checkpoint to the end.
    QVERIFY(w.startRun(run) > 0);
    QVERIFY(finished.wait(180000));
    QCOMPARE(finished.last().at(1).value<JobStatus>(), JobStatus::Completed);
    ExperimentStore store(Project::openOrCreate(dir.path()).databasePath());
    QCOMPARE(store.run(run).status, RunStatus::Completed);
    QCOMPARE(store.run(run).epochsRun, epochs);
    // One validation point per epoch, no duplicates from the resumed part.
    const auto& valid = w.curves().series(run, QStringLiteral("valid/ndcg@10"));
    QCOMPARE(valid.size(), epochs);
    for (int i = 1; i < valid.size(); ++i) QVERIFY(valid[i].x > valid[i - 1].x);
  }

  void closingWithARunningJobAsksThenInterruptsIt() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    auto* w = new MainWindow;
    w->setAttribute(Qt::WA_DeleteOnClose, false);
    QVERIFY(w->openProject(dir.path(), true));
    const qint64 run = w->createRun(ds, rr::test::tinyConfig(50), QStringLiteral("closing"));
    w->show();
    w->startRun(run);
    QTRY_VERIFY_WITH_TIMEOUT(!w->curves().series(run, QStringLiteral("loss/total")).isEmpty(), 120000);

    // First answer Cancel: the window stays open and the job keeps running.
    QString question;
    auto answer = [&question](QMessageBox::StandardButton button) {
      QTimer::singleShot(100, [&question, button] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box) return;
        question = box->text();
        box->button(button)->click();
      });
    };
    answer(QMessageBox::Cancel);
    QVERIFY(!w->close());
    QVERIFY2(question.contains(QStringLiteral("Stop them and quit")), qPrintable(question));
    QCOMPARE(w->jobs().activeCount(), 1);

    // Then Yes: the job stops cleanly before the window closes, the run is resumable.
    answer(QMessageBox::Yes);
    QVERIFY(w->close());
    QCOMPARE(w->jobs().activeCount(), 0);
    QCOMPARE(storedStatus(dir.path(), run), RunStatus::Interrupted);
    delete w;
  }

  void followsARunTrainedByAnotherProcess() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    MainWindow w;
    QVERIFY2(w.openProject(dir.path(), true), qPrintable(w.lastError()));

    // Another process, as `reasonrec train` in a terminal: its own connection, and the run's lock.
    const Project p = Project::openOrCreate(dir.path());
    ExperimentStore other(p.databasePath());
    const qint64 run = rr::createRun(other, ds, rr::test::tinyConfig(4), QStringLiteral("from a terminal"));
    auto lock = std::make_unique<Project::RunLock>(p.lockRun(run));
    other.setRunStage(run, QStringLiteral("spt"));
    other.setRunStatus(run, RunStatus::Running);
    QTRY_COMPARE(cellOf(w, run, RunsModel::Status), QStringLiteral("running"));
    w.setSelectedRuns({run});

    auto loss = [run](int step, double value) {
      MetricRecord m;
      m.run = run;
      m.stage = QStringLiteral("spt");
      m.step = step;
      m.epoch = 1 + (step - 1) / 2;
      m.name = QStringLiteral("loss/total");
      m.value = value;
      return m;
    };
    other.appendMetrics({loss(1, 3.0), loss(2, 2.5)});
    other.setRunProgress(run, 1, 1, {{QStringLiteral("ndcg@10"), 0.1}}, {{QStringLiteral("ndcg@10"), 0.1}});
    QTRY_COMPARE(cellOf(w, run, RunsModel::Progress), QStringLiteral("spt epoch 1 / 4"));
    QTRY_COMPARE(w.curves().series(run, QStringLiteral("loss/total")).size(), 2);
    const QModelIndex progress = w.runsModel().index(w.runsModel().rowOfRun(run), RunsModel::Progress);
    QCOMPARE(progress.data(Qt::UserRole).toDouble(), 0.25);  // the bar: 1 of 4 epochs

    // With its start time and epoch times in the store the cell counts down an ETA. Per the
    // store the session started just now, and epoch 2 ended 1000 s into it at 500 s per epoch:
    // the other 2 end about 2000 s (33:20) from now.
    other.setRunStarted(run, QStringLiteral("cpu"));
    MetricRecord e1 = loss(2, 1), e2 = loss(4, 1);
    e1.name = e2.name = QStringLiteral("time/epoch_seconds");
    e1.wallTime = 500;
    e2.wallTime = 1000;
    other.appendMetrics({e1, e2});
    // A run trained further (resume --epochs) keeps its earlier test figures in the store;
    // while it trains the explorer shows its epoch instead.
    other.setRunResult(run, {{QStringLiteral("ndcg@10"), 0.3}}, {}, 0);
    other.setRunProgress(run, 2, 2, {{QStringLiteral("ndcg@10"), 0.1}}, {{QStringLiteral("ndcg@10"), 0.1}});
    QTRY_VERIFY2(cellOf(w, run, RunsModel::Progress).startsWith(QStringLiteral("spt epoch 2 / 4 · ETA 33:")),
                 qPrintable(cellOf(w, run, RunsModel::Progress)));
    const auto explorerDetails = [&w, run] {
      const auto items = w.explorer()->tree()->findItems(QStringLiteral("#%1 ").arg(run), Qt::MatchStartsWith | Qt::MatchRecursive);
      return items.isEmpty() ? QString() : items.first()->text(1);
    };
    QTRY_COMPARE(explorerDetails(), QStringLiteral("running · epoch 2"));
    // The job log follows it as a terminal would: its epochs with their validation figure.
    const auto jobLog = [&w] { return w.findChild<QPlainTextEdit*>(QStringLiteral("JobLog"))->toPlainText(); };
    const QString who = QStringLiteral("[#%1 from a terminal, another process] ").arg(run);
    QTRY_VERIFY2(jobLog().contains(who + QStringLiteral("spt epoch 2 / 4: valid ndcg@10 = 0.1000 (best 0.1000 @ 2)")),
                 qPrintable(jobLog()));
    {  // a studio opened on the project meanwhile says at once that the run trains elsewhere
      MainWindow late;
      QVERIFY2(late.openProject(dir.path(), true), qPrintable(late.lastError()));
      const QString lateLog = late.findChild<QPlainTextEdit*>(QStringLiteral("JobLog"))->toPlainText();
      QVERIFY2(lateLog.contains(who + QStringLiteral("training: spt epoch 2 / 4")), qPrintable(lateLog));
    }
    // The runs table keeps the figure, greyed, and says where it comes from.
    const auto testCell = [&w, run] { return w.runsModel().index(w.runsModel().rowOfRun(run), RunsModel::TestNdcg); };
    QCOMPARE(testCell().data().toString(), QStringLiteral("0.3000"));
    QVERIFY(testCell().data(Qt::ToolTipRole).toString().contains("earlier end"));

    // Points logged within an epoch reach the chart too.
    other.appendMetrics({loss(3, 2.2)});
    QTRY_COMPARE(w.curves().series(run, QStringLiteral("loss/total")).size(), 3);

    // While it trains, a poll reads only the rows written since the last one: a stored point
    // changed in place is not read again...
    const auto lossSeries = [&w, run] { return w.curves().series(run, QStringLiteral("loss/total")); };
    rewriteMetricValue(p.databasePath(), run, 1, 9.0);
    other.appendMetrics({loss(4, 2.1)});
    QTRY_COMPARE(lossSeries().size(), 4);
    QCOMPARE(lossSeries()[0].value, 3.0);
    QCOMPARE(lossSeries()[3].value, 2.1);

    // The process dies (its lock is released, nothing is written): the run is interrupted.
    lock.reset();
    QTRY_COMPARE(cellOf(w, run, RunsModel::Status), QStringLiteral("interrupted"));
    QCOMPARE(other.run(run).status, RunStatus::Interrupted);
    QTRY_VERIFY2(jobLog().contains(who + QStringLiteral("interrupted")), qPrintable(jobLog()));
    QCOMPARE(cellOf(w, run, RunsModel::Progress), QString());
    QTRY_COMPARE(explorerDetails(), QStringLiteral("interrupted · test NDCG@10 0.3000"));
    QVERIFY(testCell().data(Qt::ToolTipRole).toString().isEmpty());
    // ...and a change of the run's row reloads its series whole.
    QTRY_COMPARE(lossSeries()[0].value, 9.0);

    // Resumed from a checkpoint at step 2 (as `reasonrec resume`): the steps after it are
    // truncated and trained again, and the chart shows the new ones only.
    lock = std::make_unique<Project::RunLock>(p.lockRun(run));
    other.truncateMetrics(run, QStringLiteral("spt"), 2);
    other.setRunStatus(run, RunStatus::Running);
    other.appendMetrics({loss(3, 1.5)});
    QTRY_COMPARE(cellOf(w, run, RunsModel::Status), QStringLiteral("running"));
    QTRY_COMPARE(lossSeries().size(), 3);
    QCOMPARE(lossSeries()[2].value, 1.5);
    other.appendMetrics({loss(4, 1.4)});
    QTRY_COMPARE(lossSeries().size(), 4);
    QCOMPARE(lossSeries()[3].value, 1.4);
    lock.reset();
    QTRY_COMPARE(cellOf(w, run, RunsModel::Status), QStringLiteral("interrupted"));
  }

  void trainingNeverRunsOnTheGuiThread() {
    // The runner's worker is another thread; a job observes where it runs.
    struct WhereJob : rr::Job {
      QThread* ranOn = nullptr;
      QString title() const override { return QStringLiteral("where"); }
      void run() override { ranOn = QThread::currentThread(); }
    };
    JobRunner runner;
    auto job = std::make_unique<WhereJob>();
    WhereJob* raw = job.get();
    QSignalSpy finished(&runner, &JobRunner::jobFinished);
    const qint64 h = runner.submit(std::move(job));
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.first().at(0).toLongLong(), h);
    Q_UNUSED(raw);  // deleted with the entry; ranOn checked through a second job below
    struct Probe : rr::Job {
      std::atomic<bool>* onGui;
      QThread* gui;
      Probe(std::atomic<bool>* f, QThread* g) : onGui(f), gui(g) {}
      QString title() const override { return QStringLiteral("probe"); }
      void run() override { onGui->store(QThread::currentThread() == gui); }
    };
    std::atomic<bool> onGui{true};
    runner.submit(std::make_unique<Probe>(&onGui, QThread::currentThread()));
    QVERIFY(finished.wait(10000));
    QVERIFY(!onGui.load());
  }
};

RR_TEST_GUI_MAIN(StudioJobsTest)
#include "tst_studio_jobs.moc"
