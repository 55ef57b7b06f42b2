// The command-line contract: exit codes, one-line errors naming the key or file:line, the
// --summary JSON, runs/export/evaluate/resume on a tiny synthetic project.
#include "cli_fixture.h"
#include "test_main.h"

#include "core/project/project.h"
#include "core/store/experiment_store.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <memory>

namespace {
QJsonObject readJson(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject{};
}

const QStringList kTiny{"--set", "data.max_len=10", "--set", "model.d=16", "--set", "train.epochs=2",
                        "--set", "train.batch_size=64", "--threads", "1"};
const QString kData = "synthetic:users=200,items=40,clusters=4,length=8,seed=2";
}  // namespace

class CliTest : public QObject {
  Q_OBJECT
 private slots:
  void usage_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("no command") << QStringList{} << 2 << "usage";
    QTest::newRow("help") << QStringList{"--help"} << 0 << "commands";
    QTest::newRow("version") << QStringList{"--version"} << 0 << "LibTorch";
    QTest::newRow("unknown command") << QStringList{"frobnicate"} << 2 << "frobnicate";
    QTest::newRow("subcommand help") << QStringList{"train", "--help"} << 0 << "--preset";
    QTest::newRow("unknown option") << QStringList{"runs", "--bogus"} << 2 << "bogus";
    QTest::newRow("missing project") << QStringList{"train", "--data", "x"} << 2 << "--project";
    QTest::newRow("bad run id") << QStringList{"resume", "--project", "/tmp/rr-none", "--run", "abc"} << 2 << "--run";
  }
  void usage() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, mentions);
    const CliResult r = cli(args);
    QCOMPARE(r.code, code);
    QVERIFY2((r.out + r.err).contains(mentions), qPrintable(r.out + r.err));
  }

  void configErrorsNameTheKey_data() {
    QTest::addColumn<QString>("assignment");
    QTest::addColumn<QString>("key");
    QTest::newRow("unknown key") << "model.reasoner.stepz=3" << "model.reasoner.stepz";
    QTest::newRow("out of range") << "train.epochs=0" << "train.epochs";
    QTest::newRow("bad enum") << "data.split=random" << "data.split";
    QTest::newRow("not a number") << "train.lr=fast" << "train.lr";
  }
  void configErrorsNameTheKey() {
    QFETCH(QString, assignment);
    QFETCH(QString, key);
    QTemporaryDir dir;
    const CliResult r = cli({"train", "--project", dir.path(), "--data", kData, "--set", assignment});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY2(r.err.contains(key), qPrintable(r.err));
  }

  void dataErrorNamesFileAndLine() {
    QTemporaryDir dir;
    const QString path = dir.filePath("bad.inter");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t1\nu1\ti2\tnot-a-time\n");
    f.close();
    const CliResult r = cli({"train", "--project", dir.filePath("p"), "--data", path});
    QCOMPARE(r.code, 3);
    QVERIFY2(r.err.contains(path + ":3"), qPrintable(r.err));
  }

  void trainRunsEvaluateExport() {
    QTemporaryDir dir;
    const QString project = dir.filePath("proj");
    const QString summary = dir.filePath("summary.json");
    CliResult r = cli(QStringList{"train", "--project", project, "--data", kData, "--summary", summary} + kTiny);
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("ndcg@10"), qPrintable(r.out));
    QFile f(summary);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonObject s = QJsonDocument::fromJson(f.readAll()).object();
    QCOMPARE(s.value("status").toString(), QString("completed"));
    QCOMPARE(s.value("preset").toString(), QString("sasrec"));
    QCOMPARE(s.value("epochs_run").toInt(), 2);
    QVERIFY(s.value("dataset").toObject().value("users").toInt() > 0);
    QVERIFY(s.value("test").toObject().contains("mrr@10"));
    const int runId = s.value("run_id").toInt();

    r = cli({"runs", "--project", project, "--json"});
    QCOMPARE(r.code, 0);
    const QJsonArray runs = QJsonDocument::fromJson(r.out.toUtf8()).array();
    QCOMPARE(runs.size(), 1);
    QCOMPARE(runs[0].toObject().value("status").toString(), QString("completed"));

    r = cli({"runs", "--project", project});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("completed"));

    const QString csv = dir.filePath("m.csv");
    r = cli({"export", "--project", project, "--run", QString::number(runId), "--metrics", csv});
    QCOMPARE(r.code, 0);
    QFile c(csv);
    QVERIFY(c.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = c.readAll().split('\n');
    QCOMPARE(lines[0], QByteArray("run,stage,step,epoch,name,value,wall_time"));
    QVERIFY(lines.size() > 5);

    r = cli({"evaluate", "--project", project, "--run", QString::number(runId), "--set", "eval.history_mask=exclude_seen"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("exclude_seen"));
    // --threads changes the speed, not the evaluation: same label ("final") and the same metrics.
    const QString evalJson = dir.filePath("eval.json");
    r = cli({"evaluate", "--project", project, "--run", QString::number(runId), "--threads", "1", "--summary", evalJson});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(readJson(evalJson).value("label").toString(), QString("final"));
    QCOMPARE(readJson(evalJson).value("test").toObject().value("ndcg@10").toDouble(),
             readJson(summary).value("test").toObject().value("ndcg@10").toDouble());
    r = cli({"evaluate", "--project", project, "--run", QString::number(runId), "--threads", "-1"});
    QCOMPARE(r.code, 2);

    r = cli({"resume", "--project", project, "--run", QString::number(runId)});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("already completed"));

    r = cli({"evaluate", "--project", project, "--run", "999"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("999"));
  }

  // An interrupted run continues with the thread count given to resume, not only the stored one.
  void resumeTakesThreads() {
    QTemporaryDir dir;
    const QString project = dir.filePath("p");
    const QString first = dir.filePath("first.json"), second = dir.filePath("second.json");
    CliResult r = cli(QStringList{"train", "--project", project, "--data", kData, "--summary", first} + kTiny);
    QCOMPARE(r.code, 0);
    const int runId = readJson(first).value("run_id").toInt();
    QCOMPARE(readJson(first).value("threads").toInt(), 1);
    {  // as if the process had died after its last checkpoint
      rr::ExperimentStore store(rr::Project::openOrCreate(project).databasePath());
      store.setRunStatus(runId, rr::RunStatus::Interrupted);
    }
    r = cli({"resume", "--project", project, "--run", QString::number(runId), "--threads", "lots"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("threads"), qPrintable(r.err));
    r = cli({"resume", "--project", project, "--run", QString::number(runId), "--threads", "2", "--summary", second});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject s = readJson(second);
    QCOMPARE(s.value("status").toString(), QString("completed"));
    QCOMPARE(s.value("threads").toInt(), 2);
    QCOMPARE(s.value("test").toObject().value("ndcg@10").toDouble(),
             readJson(first).value("test").toObject().value("ndcg@10").toDouble());
  }

  void timeLimitOption() {
    // A bad limit is a usage error before any run exists; a limit already past when training
    // starts interrupts the run with the reason, and resume then trains it.
    QTemporaryDir dir;
    const QString project = dir.filePath("p"), summary = dir.filePath("s.json");
    CliResult r = cli(QStringList{"train", "--project", project, "--data", kData, "--time-limit", "soon"} + kTiny);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--time-limit: 'soon' is not a positive number of minutes"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(project + "/project.db") ||
            rr::ExperimentStore(rr::Project::openOrCreate(project).databasePath()).runs().isEmpty());
    r = cli(QStringList{"train", "--project", project, "--data", kData, "--time-limit", "1e-9", "--summary", summary} + kTiny);
    QCOMPARE(r.code, 130);
    QVERIFY2(r.err.contains("time limit reached before spt finished an epoch"), qPrintable(r.err));
    QCOMPARE(readJson(summary).value("status").toString(), QString("interrupted"));
    const QString id = QString::number(readJson(summary).value("run_id").toInt());
    r = cli({"resume", "--project", project, "--run", id, "--time-limit", "600", "--summary", summary});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(readJson(summary).value("status").toString(), QString("completed"));
    QVERIFY(!readJson(summary).contains("time_limit_reached"));
  }

  void resumeWithEpochsTrainsACompletedRunFurther() {
    // Two epochs, then two more with resume --epochs 4, give bit-for-bit the run that trained
    // four epochs in one go (patience off, so early stopping cannot tell them apart).
    QTemporaryDir dir;
    const QString project = dir.filePath("p");
    const QString straight = dir.filePath("straight.json"), extended = dir.filePath("extended.json");
    const QStringList opts = kTiny + QStringList{"--set", "train.patience=0"};
    QStringList four = opts;
    four.replace(four.indexOf("train.epochs=2"), "train.epochs=4");
    CliResult r = cli(QStringList{"train", "--project", project, "--data", kData, "--summary", straight} + four);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = cli(QStringList{"train", "--project", project, "--data", kData} + opts);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QString id = QString::number(readJson(straight).value("run_id").toInt() + 1);

    r = cli({"resume", "--project", project, "--run", id});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("already completed") && r.err.contains("--epochs"), qPrintable(r.err));
    r = cli({"resume", "--project", project, "--run", id, "--epochs", "1"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("train.epochs") && r.err.contains("already trained 2 epochs"), qPrintable(r.err));
    r = cli({"resume", "--project", project, "--run", id, "--epochs", "four"});
    QCOMPARE(r.code, 2);

    r = cli({"resume", "--project", project, "--run", id, "--epochs", "4", "--summary", extended});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("training on from epoch 2 to 4"), qPrintable(r.err));
    const QJsonObject a = readJson(straight), b = readJson(extended);
    QCOMPARE(b.value("epochs_run").toInt(), 4);
    QCOMPARE(b.value("best_epoch").toInt(), a.value("best_epoch").toInt());
    for (const char* split : {"valid", "test"})
      for (const QString& m : {QString("ndcg@10"), QString("recall@20"), QString("mrr@10")})
        QCOMPARE(b.value(split).toObject().value(m).toDouble(), a.value(split).toObject().value(m).toDouble());
    rr::ExperimentStore store(rr::Project::openOrCreate(project).databasePath());
    const rr::RunRecord run = store.run(id.toLongLong());
    QCOMPARE(run.status, rr::RunStatus::Completed);
    QCOMPARE(run.config.value("train").toObject().value("epochs").toInt(), 4);
  }

  // `runs` says when a run that is training will be done: a completed 2-epoch run trained
  // further to 6 epochs by another process, 2 of them done at 100 s each.
  void runsGivesTheEtaOfATrainingRun() {
    QTemporaryDir dir;
    const QString project = dir.filePath("p"), summary = dir.filePath("s.json");
    CliResult r = cli(QStringList{"train", "--project", project, "--data", kData, "--summary", summary} + kTiny);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const qint64 id = readJson(summary).value("run_id").toInt();
    const rr::Project proj = rr::Project::openOrCreate(project);
    rr::ExperimentStore store(proj.databasePath());
    auto lock = std::make_unique<rr::Project::RunLock>(proj.lockRun(id));  // its process lives
    rr::RunRecord run = store.run(id);
    QJsonObject config = run.config, train = config.value("train").toObject();
    train.insert("epochs", 6);
    config.insert("train", train);
    store.setRunConfig(id, config);
    store.setRunStarted(id, "cpu");
    store.setRunStatus(id, rr::RunStatus::Running);
    QVector<rr::MetricRecord> epochs;
    for (int e : {3, 4}) {
      rr::MetricRecord m;
      m.run = id;
      m.stage = run.stage;
      m.step = e;
      m.epoch = e;
      m.name = "time/epoch_seconds";
      m.value = 90;
      m.wallTime = run.wallSeconds + 100 * (e - 2);  // this session: epochs 3 and 4, 100 s each
      epochs.append(m);
    }
    store.appendMetrics(epochs);
    store.setRunProgress(id, 4, 2, run.bestValid, run.bestValid);

    r = cli({"runs", "--project", project, "--json"});
    QCOMPARE(r.code, 0);
    const QJsonObject row = QJsonDocument::fromJson(r.out.toUtf8()).array().at(0).toObject();
    QCOMPARE(row.value("stage_epochs").toInt(), 6);
    // The session started just now (per the store) and epoch 4 ended 200 s into it: 2 epochs left.
    const int eta = row.value("eta_seconds").toInt(-1);
    QVERIFY2(eta > 380 && eta <= 400, qPrintable(QString::number(eta)));
    r = cli({"runs", "--project", project});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains(QString("run %1: %2 epoch 4 / 6, the rest in about 6:").arg(id).arg(run.stage)), qPrintable(r.out));

    lock.reset();  // its process ends: the run is interrupted, and has no ETA
    r = cli({"runs", "--project", project, "--json"});
    const QJsonObject after = QJsonDocument::fromJson(r.out.toUtf8()).array().at(0).toObject();
    QCOMPARE(after.value("status").toString(), QString("interrupted"));
    QVERIFY(after.value("eta_seconds").isNull());
    r = cli({"runs", "--project", project});
    QVERIFY2(!r.out.contains("the rest in about"), qPrintable(r.out));
  }

  void benchWritesTheContractFields() {
    QTemporaryDir dir;
    const QString summary = dir.filePath("bench.json");
    const CliResult r = cli({"bench", "--data", kData, "--seconds", "0.5", "--threads", "1", "--summary", summary,
                          "--set", "model.d=16", "--set", "data.max_len=10"});
    QCOMPARE(r.code, 0);
    QFile f(summary);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonObject s = QJsonDocument::fromJson(f.readAll()).object();
    for (const char* key : {"preset", "threads", "device", "train_samples_per_second", "eval_users_per_second",
                            "latency_ms", "flops_per_sample", "parameters", "peak_rss_mb", "matmul_peak_gflops",
                            "model_flops_utilisation"})
      QVERIFY2(s.contains(QLatin1String(key)), key);
    QVERIFY(s.value("train_samples_per_second").toDouble() > 0);
    QVERIFY(s.value("latency_ms").toObject().value("batch1_p50").toDouble() > 0);
    QVERIFY(s.value("model_flops_utilisation").toDouble() > 0);
    QVERIFY(s.value("batch1_operator_calls").toInteger() > 0);
    QVERIFY2(r.out.contains(QString("; %1 LibTorch operator calls per batch-1 request").arg(s.value("batch1_operator_calls").toInteger())),
             qPrintable(r.out));
  }
};

RR_TEST_MAIN(CliTest)
#include "tst_cli.moc"
