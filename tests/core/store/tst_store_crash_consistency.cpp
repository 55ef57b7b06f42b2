#include "core/project/project.h"
#include "core/store/experiment_store.h"
#include "store_test_support.h"
#include "test_main.h"

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>

using namespace rr;

/// A writer process is killed with SIGKILL at different moments of a run; afterwards the
/// database must pass its integrity check, hold only whole transactions, and the run must read
/// `interrupted` once the project is opened again (its lock's owner is gone).
class TestStoreCrashConsistency : public QObject {
  Q_OBJECT

 private slots:
  void killedWriterLeavesConsistentStore_data() {
    QTest::addColumn<int>("killAfterMs");
    QTest::newRow("right after the run starts") << 0;
    QTest::newRow("after 30 ms") << 30;
    QTest::newRow("after 120 ms") << 120;
    QTest::newRow("after 400 ms") << 400;
    QTest::newRow("after 900 ms") << 900;
  }

  void killedWriterLeavesConsistentStore() {
    QFETCH(int, killAfterMs);
    constexpr int kBatch = 250;  // records per transaction in rr_store_crash_writer
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString projectDir = dir.filePath(QStringLiteral("project"));

    QProcess writer;
    writer.setProcessChannelMode(QProcess::SeparateChannels);
    writer.start(QStringLiteral(RR_CRASH_WRITER), {projectDir});
    QVERIFY2(writer.waitForStarted(10000), qPrintable(writer.errorString()));
    QByteArray line;
    while (!line.contains('\n')) {
      QVERIFY2(writer.waitForReadyRead(20000), writer.readAllStandardError().constData());
      line += writer.readAllStandardOutput();
    }
    QVERIFY2(line.startsWith("ready "), line.constData());
    const qint64 run = line.mid(6).trimmed().toLongLong();
    QVERIFY(run > 0);

    // While the writer lives, its run lock counts as held by a live process, and opening the
    // project from here leaves its run alone.
    const Project live = Project::openOrCreate(projectDir);
    QVERIFY(live.isRunLocked(run));
    {
      ExperimentStore reader(live.databasePath());
      QCOMPARE(reader.run(run).status, RunStatus::Running);
    }

    QThread::msleep(static_cast<unsigned long>(killAfterMs));
    writer.kill();  // SIGKILL: no destructor, no unlock, no rollback
    QVERIFY(writer.waitForFinished(10000));
    QCOMPARE(writer.exitStatus(), QProcess::CrashExit);

    qint64 metricRows = 0;
    {
      ExperimentStore store(QDir(projectDir).filePath(QStringLiteral("project.db")));
      QCOMPARE(store.integrityCheck(), QStringLiteral("ok"));
      QCOMPARE(store.run(run).status, RunStatus::Running);  // nobody has looked yet
      metricRows = rr::test::countRows(rr::test::storeConnection(store.databasePath()), QStringLiteral("metrics"));
      QCOMPARE(metricRows % kBatch, 0);  // only whole batches: every transaction all or nothing
      QCOMPARE(store.metrics(run).size(), metricRows);
      for (const EvaluationRecord& e : store.evaluations(run)) QCOMPARE(e.ranks.size(), size_t(5000));
    }
    qInfo("killed after %d ms: %lld metric rows survived", killAfterMs, static_cast<long long>(metricRows));

    // Opening the project notices the dead owner.
    const Project reopened = Project::openOrCreate(projectDir);
    QVERIFY(!reopened.isRunLocked(run));
    ExperimentStore store(reopened.databasePath());
    QCOMPARE(store.run(run).status, RunStatus::Interrupted);
    QCOMPARE(store.integrityCheck(), QStringLiteral("ok"));
    // The run can be taken over (e.g. to resume it).
    Project::RunLock lock = reopened.lockRun(run);
    QVERIFY(lock.isHeld());
  }
};

RR_TEST_MAIN(TestStoreCrashConsistency)
#include "tst_store_crash_consistency.moc"
