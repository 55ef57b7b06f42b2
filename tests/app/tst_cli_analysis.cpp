// `reasonrec analyze`, `compare`, `sweep` and `export --report` on a tiny synthetic project,
// in-process: exit codes, the --summary JSON, errors naming the parameter, the report PDF.
#include "cli_fixture.h"
#include "test_main.h"

#include <QApplication>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>

#include "core/store/experiment_store.h"
#include "core/project/project.h"

#include <atomic>
#include <thread>

namespace {

QJsonObject readJson(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QJsonDocument::fromJson(f.readAll()).object();
}

const QStringList kTiny{"--set", "data.max_len=10", "--set", "model.d=16", "--set", "train.epochs=2",
                        "--set", "train.batch_size=64", "--threads", "1"};
const QString kData = "synthetic:users=200,items=40,clusters=4,length=8,seed=2";

// "run N: test NDCG@10 X, Recall@10 Y" lines of a sweep, as "X Y" in run order.
QStringList sweepResults(const QString& out) {
  static const QRegularExpression line(R"(run (\d+): test NDCG@10 (\S+), Recall@10 (\S+))");
  QMap<qint64, QString> byRun;
  for (auto it = line.globalMatch(out); it.hasNext();) {
    const auto m = it.next();
    byRun.insert(m.captured(1).toLongLong(), m.captured(2) + ' ' + m.captured(3));
  }
  return byRun.values();
}

// Run ids after "queued N runs (sweep 'NAME'):".
QVector<qint64> queuedRuns(const QString& out) {
  static const QRegularExpression line(R"(queued \d+ runs \(sweep '[^']*'\):([ \d]*))");
  QVector<qint64> ids;
  for (const QString& t : line.match(out).captured(1).split(' ', Qt::SkipEmptyParts)) ids.append(t.toLongLong());
  return ids;
}
}  // namespace

class CliAnalysisTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString project_;

 private slots:
  void initTestCase() {
    project_ = dir_.filePath("proj");
    QCOMPARE(cli(QStringList{"train", "--project", project_, "--data", kData} + kTiny).code, 0);
    QCOMPARE(cli(QStringList{"train", "--project", project_, "--data", kData, "--set", "model.dropout=0.2"} + kTiny).code, 0);
  }

  void analyzeEveryKind_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QStringList>("params");
    QTest::addColumn<QString>("printed");
    QTest::newRow("oracle") << "oracle" << QStringList{} << "oracle";
    QTest::newRow("robustness") << "robustness" << QStringList{"--param", "repetitions=2", "--param", "drops=0,0.2"} << "drop  20%";
    QTest::newRow("depth") << "depth" << QStringList{"--param", "steps=1,2"} << "no reasoning depth";
    QTest::newRow("attention") << "attention" << QStringList{"--param", "case=1"} << "final rank";
    QTest::newRow("efficiency") << "efficiency" << QStringList{"--param", "repeats=5"} << "b256 p99";
    QTest::newRow("diversity") << "diversity" << QStringList{"--set", "max_cases=40"} << "D(0)";
  }
  void analyzeEveryKind() {
    QFETCH(QString, kind);
    QFETCH(QStringList, params);
    QFETCH(QString, printed);
    const QString summary = dir_.filePath(kind + ".json");
    const CliResult r = cli(QStringList{"analyze", "--project", project_, "--run", "1,2", "--kind", kind, "--threads", "1",
                                     "--summary", summary} + params);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(printed), qPrintable(r.out));
    QVERIFY(r.out.contains("stored as analysis"));
    const QJsonObject s = readJson(summary);
    QCOMPARE(s.value("kind").toString(), kind);
    QVERIFY(s.value("analysis_id").toInt() > 0);
    QVERIFY(!s.value("result").toObject().isEmpty());
  }

  void analyzeErrors() {
    CliResult r = cli({"analyze", "--project", project_, "--run", "1", "--kind", "oracle", "--param", "repetitions=3"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: repetitions:"), qPrintable(r.err));
    r = cli({"analyze", "--project", project_, "--run", "1", "--kind", "magic"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("kind"));
    r = cli({"analyze", "--project", project_, "--run", "77", "--kind", "oracle"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("77"));
    r = cli({"analyze", "--project", project_, "--run", "1", "--kind", "attention", "--param", "case=100000"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("case"), qPrintable(r.err));
  }

  void compareFormats() {
    CliResult r = cli({"compare", "--project", project_, "--run", "1,2", "--baseline", "1"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("(baseline)"));
    QVERIFY(r.out.contains("**"));
    r = cli({"compare", "--project", project_, "--format", "latex"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("\\textbf{"));
    r = cli({"compare", "--project", project_, "--format", "csv"});
    QCOMPARE(r.code, 0);
    QCOMPARE(r.out.split('\n', Qt::SkipEmptyParts).size(), 3);
    QCOMPARE(cli({"compare", "--project", project_, "--format", "xml"}).code, 2);
    // By history length: one table per group, one CSV header for all of them.
    r = cli({"compare", "--project", project_, "--run", "1,2", "--baseline", "1", "--by-length", "2"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.count("### history ") >= 1 && r.out.count("(baseline)") == r.out.count("### history "), qPrintable(r.out));
    r = cli({"compare", "--project", project_, "--run", "1,2", "--by-length", "2", "--format", "csv"});
    QCOMPARE(r.code, 0);
    QCOMPARE(r.out.count("group,run,label"), 1);
    r = cli({"compare", "--project", project_, "--run", "1,2", "--by-length", "x"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--by-length"), qPrintable(r.err));
  }

  void sweepQueues() {
    CliResult r = cli({"sweep", "--project", project_, "--base-run", "1", "--grid", "model.d=8,16", "--grid", "train.lr=0.001,0.002",
                    "--name", "lrgrid"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("queued 4 runs"), qPrintable(r.out));
    r = cli({"runs", "--project", project_, "--json"});
    int queued = 0;
    for (const auto& v : QJsonDocument::fromJson(r.out.toUtf8()).array()) queued += v.toObject().value("status").toString() == "queued";
    QCOMPARE(queued, 4);
    r = cli({"sweep", "--project", project_, "--base-run", "1", "--grid", "model.heads=3"});
    QCOMPARE(r.code, 2);  // 3 heads do not divide d 16
  }

  // --jobs 2 trains in two `reasonrec resume` processes at once, with the same results as one
  // after another (each run's generators are seeded by its configuration, not by the process).
  void sweepTrainsInParallel() {
    qputenv("REASONREC_EXECUTABLE", RR_CLI_EXECUTABLE);
    const QStringList grid{"sweep", "--project", project_, "--base-run", "1", "--grid", "train.lr=0.002,0.004", "--train"};
    const CliResult one = cli(grid + QStringList{"--name", "one", "--threads", "1"});
    QVERIFY2(one.code == 0, qPrintable(one.err));
    const CliResult two = cli(grid + QStringList{"--name", "two", "--jobs", "2", "--threads", "2"});
    QVERIFY2(two.code == 0, qPrintable(two.err + two.out));
    QCOMPARE(two.err.count("training in process"), 2);
    QVERIFY2(two.err.contains(QRegularExpression(R"(\[run \d+\] )")), qPrintable(two.err));  // children's progress, prefixed
    QCOMPARE(sweepResults(two.out).size(), 2);
    QCOMPARE(sweepResults(two.out), sweepResults(one.out));
    QCOMPARE(cli(grid + QStringList{"--jobs", "0"}).code, 2);
    QCOMPARE(cli({"sweep", "--project", project_, "--base-run", "1", "--grid", "train.lr=0.1", "--jobs", "2"}).code, 2);  // no --train
  }

  // Cancelling a parallel sweep stops the children at a checkpoint (runs `interrupted`, resumable)
  // and leaves runs not yet started queued.
  void parallelSweepCancels() {
    qputenv("REASONREC_EXECUTABLE", RR_CLI_EXECUTABLE);
    const QString db = rr::Project::openOrCreate(project_).databasePath();
    std::atomic<bool> done{false};
    std::thread canceller([&] {
      rr::ExperimentStore store(db);
      while (!done) {
        int running = 0;
        for (const rr::RunRecord& r : store.runs())
          running += r.tags.contains("sweep:long") && r.status == rr::RunStatus::Running;
        if (running == 2) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          rr::cli::requestCancel();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    const CliResult r = cli({"sweep", "--project", project_, "--base-run", "1", "--grid", "train.lr=0.001,0.002,0.003",
                             "--set", "train.epochs=400", "--set", "train.patience=0", "--name", "long", "--train",
                             "--jobs", "2", "--threads", "2"});
    done = true;
    canceller.join();
    QVERIFY2(r.code == 130, qPrintable(r.err + r.out));
    QVERIFY2(r.err.contains("cancelled: 1 runs not started stay queued"), qPrintable(r.err));
    const QVector<qint64> ids = queuedRuns(r.out);
    QCOMPARE(ids.size(), 3);
    rr::ExperimentStore store(db);
    QCOMPARE(store.run(ids[0]).status, rr::RunStatus::Interrupted);
    QCOMPARE(store.run(ids[1]).status, rr::RunStatus::Interrupted);
    QCOMPARE(store.run(ids[2]).status, rr::RunStatus::Queued);
  }

  // --time-limit bounds the whole sweep: each run gets the time left, and once the limit stops
  // one (completed at its last epoch, evaluated) the runs not started stay queued, exit 130.
  // Epochs take milliseconds here, so 100,000 of them cannot fit in the limit of 2.4 s.
  void sweepTimeLimit_data() {
    QTest::addColumn<int>("jobs");
    QTest::newRow("one after another") << 1;
    QTest::newRow("two processes") << 2;
  }
  void sweepTimeLimit() {
    QFETCH(int, jobs);
    qputenv("REASONREC_EXECUTABLE", RR_CLI_EXECUTABLE);
    const QString name = QString("timed%1").arg(jobs);
    const CliResult r = cli({"sweep", "--project", project_, "--base-run", "1", "--grid", "train.lr=0.001,0.002,0.003",
                             "--set", "train.epochs=100000", "--set", "train.patience=0", "--name", name, "--train",
                             "--jobs", QString::number(jobs), "--threads", QString::number(jobs), "--time-limit", "0.04"});
    QVERIFY2(r.code == 130, qPrintable(r.err + r.out));
    const QVector<qint64> ids = queuedRuns(r.out);
    QCOMPARE(ids.size(), 3);
    rr::ExperimentStore store(rr::Project::openOrCreate(project_).databasePath());
    for (int i = 0; i < 3; ++i) {
      const rr::RunRecord run = store.run(ids[i]);
      if (i < jobs) {
        QCOMPARE(run.status, rr::RunStatus::Completed);
        QVERIFY(run.summary.value("time_limit_reached").toBool());
        QVERIFY2(run.epochsRun >= 1 && run.epochsRun < 100000, qPrintable(QString::number(run.epochsRun)));
        QVERIFY(run.test.value("ndcg@10") > 0);
      } else {
        QCOMPARE(run.status, rr::RunStatus::Queued);
      }
    }
    QStringList left;
    for (int i = jobs; i < 3; ++i) left << QString::number(ids[i]);
    const QString line = QString("time limit of 0.04 min reached: %1 runs not started stay queued (%2)")
                             .arg(3 - jobs).arg(left.join(", "));
    QVERIFY2(r.err.contains(line), qPrintable(r.err));
    QCOMPARE(cli({"sweep", "--project", project_, "--base-run", "1", "--grid", "train.lr=0.1", "--time-limit", "1"}).code,
             2);  // no --train
  }

  void exportReport() {
    const QString pdf = dir_.filePath("report.pdf");
    const CliResult r = cli({"export", "--project", project_, "--run", "1,2", "--report", pdf});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("pages"), qPrintable(r.err));
    QVERIFY(QFile::exists(pdf));
    if (QStandardPaths::findExecutable("pdftotext").isEmpty()) QSKIP("pdftotext not installed");
    QProcess text;
    text.start("pdftotext", {pdf, "-"});
    QVERIFY(text.waitForFinished());
    const QString t = QString::fromUtf8(text.readAllStandardOutput());
    QVERIFY(t.contains("Oracle ceiling"));
    QVERIFY(t.contains("Training curves"));
  }
};

RR_TEST_GUI_MAIN(CliAnalysisTest)
#include "tst_cli_analysis.moc"
