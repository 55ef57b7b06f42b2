// The runs table: reloads from the store after a restart (edits included), filters, column
// chooser, and deleting runs removes their checkpoint files.
#include "core/jobs/train_job.h"
#include "studio_test_support.h"
#include "test_main.h"
#include "views/main_window.h"
#include "views/runs_panel.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QTableView>
#include <QTemporaryDir>

using namespace rr;
using namespace rr::views;

class RunsTableTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { rr::test::isolateSettings(); }

  void logsTheEpochsOfARunTrainedElsewhere() {
    RunRecord before;
    before.id = 7;
    before.name = QStringLiteral("plr");
    before.config = RunConfig::fromPreset(QStringLiteral("plr-fast")).toJson();  // train.epochs 200, metric ndcg@10
    before.stage = QStringLiteral("spt");
    before.status = RunStatus::Running;
    before.epochsRun = 1;
    RunRecord now = before;
    const QString who = QStringLiteral("[#7 plr, another process] ");
    QCOMPARE(followedRunLogLine(nullptr, now), who + QStringLiteral("training: spt epoch 1 / 200"));
    QCOMPARE(followedRunLogLine(&before, now), QString());  // nothing new
    now.epochsRun = 2;
    now.bestEpoch = 1;
    now.bestValid = {{QStringLiteral("ndcg@10"), 0.0312}};
    now.lastValid = {{QStringLiteral("ndcg@10"), 0.03}};
    QCOMPARE(followedRunLogLine(&before, now),
             who + QStringLiteral("spt epoch 2 / 200: valid ndcg@10 = 0.0300 (best 0.0312 @ 1)"));
    RunRecord rpt = now;  // the next stage starts: said without the previous stage's figure
    rpt.stage = QStringLiteral("rpt");
    rpt.epochsRun = 0;
    QCOMPARE(followedRunLogLine(&now, rpt), who + QStringLiteral("rpt epoch 0 / 10"));  // rpt.epochs, its default
    now.status = RunStatus::Paused;  // paused by its process: still training, nothing to add
    QCOMPARE(followedRunLogLine(&now, now), QString());
    before = now;
    now.status = RunStatus::Completed;
    now.test = {{QStringLiteral("ndcg@10"), 0.0291}};
    QCOMPARE(followedRunLogLine(&before, now), who + QStringLiteral("completed · test NDCG@10 0.0291"));
    QCOMPARE(followedRunLogLine(&now, now), QString());
    QCOMPARE(followedRunLogLine(nullptr, now), QString());  // found finished: nothing happened while watched
    now.status = RunStatus::Failed;
    now.error = QStringLiteral("disk full");
    QCOMPARE(followedRunLogLine(&before, now), who + QStringLiteral("failed: disk full"));
    now.status = RunStatus::Interrupted;
    QVERIFY(followedRunLogLine(&before, now).startsWith(who + QStringLiteral("interrupted")));
  }

  void reloadsFromTheStoreAfterRestart() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    Project p = Project::openOrCreate(dir.path());
    qint64 a = 0, b = 0, c = 0;
    {
      ExperimentStore store(p.databasePath());
      a = createRun(store, ds, rr::test::tinyConfig(2), QStringLiteral("alpha"));
      b = createRun(store, ds, RunConfig::fromPreset(QStringLiteral("lares")), QStringLiteral("beta"));
      c = createRun(store, ds, rr::test::tinyConfig(3), QStringLiteral("gamma"));
      store.setRunStatus(a, RunStatus::Completed);
      store.setRunResult(a, {{QStringLiteral("ndcg@10"), 0.1234}, {QStringLiteral("recall@10"), 0.25}}, {}, 12);
      store.setRunStatus(c, RunStatus::Running);  // its owner "crashed": no lock held
    }
    {
      RunsModel model;
      model.setDatabase(p.databasePath());
      QCOMPARE(model.rowCount(), 3);
      const int row = model.rowOfRun(b);
      QVERIFY(model.setData(model.index(row, RunsModel::Tags), QStringLiteral("baseline, paper,baseline")));
      QVERIFY(model.setData(model.index(row, RunsModel::Notes), QStringLiteral("first try\nsecond line")));
      QVERIFY(model.setData(model.index(row, RunsModel::Name), QStringLiteral("beta-renamed")));
    }
    // "Restart": a new project open (settles orphaned runs) and a new model.
    Project::openOrCreate(dir.path());
    RunsModel model;
    model.setDatabase(p.databasePath());
    QCOMPARE(model.rowCount(), 3);
    auto cell = [&](qint64 run, int col) { return model.index(model.rowOfRun(run), col).data().toString(); };
    QCOMPARE(cell(a, RunsModel::Status), QStringLiteral("completed"));
    QCOMPARE(cell(a, RunsModel::TestNdcg), QStringLiteral("0.1234"));
    QCOMPARE(cell(a, RunsModel::Dataset), QStringLiteral("tiny"));
    QCOMPARE(cell(a, RunsModel::Wall), QStringLiteral("12 s"));
    QCOMPARE(cell(b, RunsModel::Preset), QStringLiteral("lares"));
    QCOMPARE(cell(b, RunsModel::Tags), QStringLiteral("baseline, paper"));
    QCOMPARE(cell(b, RunsModel::Notes), QStringLiteral("first try"));
    QCOMPARE(cell(b, RunsModel::Name), QStringLiteral("beta-renamed"));
    QCOMPARE(cell(c, RunsModel::Status), QStringLiteral("interrupted"));

    RunsFilterModel proxy;
    proxy.setSourceModel(&model);
    proxy.setText(QStringLiteral("lares"));
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setText(QStringLiteral("sasrec"));
    QCOMPARE(proxy.rowCount(), 2);
    proxy.setText(QString());
    proxy.setStatusFilter(static_cast<int>(RunStatus::Interrupted));
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.index(0, 0).data(RunsModel::RunIdRole).toLongLong(), c);
  }

  void columnChooserAndCsv() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    Project p = Project::openOrCreate(dir.path());
    {
      ExperimentStore store(p.databasePath());
      createRun(store, ds, rr::test::tinyConfig(2), QStringLiteral("one, with comma"));
    }
    RunsModel model;
    model.setDatabase(p.databasePath());
    RunsPanel panel(&model);
    panel.setColumnShown(RunsModel::Notes, false);
    QVERIFY(!panel.isColumnShown(RunsModel::Notes));
    RunsPanel again(&model);  // the choice is remembered
    QVERIFY(!again.isColumnShown(RunsModel::Notes));
    panel.setColumnShown(RunsModel::Notes, true);
    QTemporaryDir out;
    QCOMPARE(panel.exportCsv(out.filePath("runs.csv")), QString());
    QFile f(out.filePath("runs.csv"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().split('\n');
    QVERIFY(lines[0].startsWith("ID,Name,Status,Preset"));
    QVERIFY(lines[1].contains("\"one, with comma\""));
  }

  void deleteRemovesRunAndCheckpoints() {
    QTemporaryDir dir;
    const qint64 ds = rr::test::makeProject(dir.path());
    Project p = Project::openOrCreate(dir.path());
    qint64 id = 0;
    QString ckpt;
    {
      ExperimentStore store(p.databasePath());
      id = createRun(store, ds, rr::test::tinyConfig(2), QStringLiteral("doomed"));
      ckpt = QDir(p.checkpointDir(id)).filePath(QStringLiteral("spt-best.pt"));
      QFile f(ckpt);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("weights");
      f.close();
      CheckpointRecord c;
      c.runId = id;
      c.stage = QStringLiteral("spt");
      c.kind = QStringLiteral("best");
      c.path = p.relativePath(ckpt);
      store.recordCheckpoint(c);
    }
    MainWindow w;
    QVERIFY2(w.openProject(dir.path(), true), qPrintable(w.lastError()));
    QCOMPARE(w.runsModel().rowCount(), 1);
    QVERIFY(QFile::exists(ckpt));
    QVERIFY(w.deleteRuns({id}, false));
    QCOMPARE(w.runsModel().rowCount(), 0);
    QVERIFY(!QFile::exists(ckpt));
    QVERIFY(!QDir(QFileInfo(ckpt).absolutePath()).exists());
    ExperimentStore store(p.databasePath());
    QVERIFY(!store.findRun(id));
  }
};

RR_TEST_GUI_MAIN(RunsTableTest)
#include "tst_runs_table.moc"
