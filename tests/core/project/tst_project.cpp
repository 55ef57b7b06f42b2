#include "core/errors.h"
#include "core/project/project.h"
#include "core/store/experiment_store.h"
#include "test_main.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QSysInfo>
#include <QTemporaryDir>

#include <unistd.h>

using namespace rr;

namespace {

template <class F>
std::optional<Error> expectError(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

void writeFile(const QString& path, const QByteArray& content) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(content);
}

/// A lock file as QLockFile writes it (pid, process name, host, machine id, boot id).
QByteArray lockFileContent(qint64 pid, const QString& processName) {
  return QByteArray::number(pid) + '\n' + processName.toUtf8() + '\n' + QSysInfo::machineHostName().toUtf8() + '\n' +
         QSysInfo::machineUniqueId() + '\n' + QSysInfo::bootUniqueId() + '\n';
}

qint64 addRun(const Project& p, RunStatus status) {
  ExperimentStore store(p.databasePath());
  RunRecord r;
  r.status = status;
  return store.createRun(r);
}

RunStatus statusOf(const Project& p, qint64 run) { return ExperimentStore(p.databasePath()).run(run).status; }

}  // namespace

class TestProject : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir tmp_;
  QString fresh() {
    static int n = 0;
    return tmp_.filePath(QStringLiteral("p%1").arg(++n));
  }

 private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void createsLayout() {
    const QString dir = fresh() + QStringLiteral("/nested/demo");
    const Project p = Project::openOrCreate(dir);
    QCOMPARE(p.dir(), QDir::cleanPath(dir));
    QVERIFY(QFileInfo(dir + QStringLiteral("/checkpoints")).isDir());
    QVERIFY(QFileInfo(dir + QStringLiteral("/locks")).isDir());
    QVERIFY(QFileInfo(p.databasePath()).isFile());
    QCOMPARE(p.databasePath(), dir + QStringLiteral("/project.db"));
    QCOMPARE(ExperimentStore(p.databasePath()).schemaVersion(), ExperimentStore::currentSchemaVersion());
    QCOMPARE(p.name(), QStringLiteral("demo"));
    QVERIFY(p.manifest().isEmpty());
    // No stray files from the writability probe.
    QCOMPARE(QDir(dir).entryList(QDir::Files | QDir::Hidden).filter(QStringLiteral("write-test")).size(), 0);
  }

  void reopenKeepsRuns() {
    const QString dir = fresh();
    const qint64 run = addRun(Project::openOrCreate(dir), RunStatus::Completed);
    const Project again = Project::openOrCreate(dir);
    QCOMPARE(statusOf(again, run), RunStatus::Completed);
  }

  void relativeDirectoryBecomesAbsolute() {
    const QString old = QDir::currentPath();
    QDir::setCurrent(tmp_.path());
    const Project p = Project::openOrCreate(QStringLiteral("relative-project"));
    QDir::setCurrent(old);
    QVERIFY(QFileInfo(p.dir()).isAbsolute());
    QCOMPARE(p.dir(), tmp_.filePath(QStringLiteral("relative-project")));
  }

  void unusableDirectory_data() {
    QTest::addColumn<QString>("blocker");  // what is created in the way, relative to the project
    QTest::addColumn<QString>("message");
    QTest::newRow("project path is a file") << "" << "project directory exists but is not a directory";
    QTest::newRow("checkpoints is a file") << "checkpoints" << "checkpoints directory exists but is not a directory";
    QTest::newRow("locks is a file") << "locks" << "locks directory exists but is not a directory";
    QTest::newRow("parent is a file") << ".." << "cannot create the project directory";
  }
  void unusableDirectory() {
    QFETCH(QString, blocker);
    QFETCH(QString, message);
    QString dir = fresh();
    if (blocker.isEmpty()) {
      writeFile(dir, "not a directory");
    } else if (blocker == QLatin1String("..")) {
      writeFile(dir, "a file where a parent directory should be");
      dir += QStringLiteral("/child");
    } else {
      QVERIFY(QDir().mkpath(dir));
      writeFile(dir + QLatin1Char('/') + blocker, "x");
    }
    const auto e = expectError([&] { Project::openOrCreate(dir); });
    QVERIFY(e);
    QCOMPARE(e->code(), ExitCode::Usage);
    QVERIFY2(e->message().contains(message), qPrintable(e->message()));
  }

  void databaseIsADirectory() {
    const QString dir = fresh();
    QVERIFY(QDir().mkpath(dir + QStringLiteral("/project.db")));
    const auto e = expectError([&] { Project::openOrCreate(dir); });
    QVERIFY(e);
    QVERIFY2(e->message().contains(QStringLiteral("project.db: exists but is not a file")), qPrintable(e->message()));
  }

  void emptyPath() { QVERIFY(expectError([] { Project::openOrCreate(QStringLiteral("  ")); })); }

  void readOnlyDirectory() {
    if (::geteuid() == 0) QSKIP("file permissions do not bind root");
    const QString dir = fresh();
    QVERIFY(QDir().mkpath(dir));
    QFile::setPermissions(dir, QFile::ReadOwner | QFile::ExeOwner);
    const auto e = expectError([&] { Project::openOrCreate(dir); });
    QFile::setPermissions(dir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    QVERIFY(e);
    QCOMPARE(e->code(), ExitCode::Usage);
  }

  void manifest_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("error");
    QTest::newRow("name and datasets")
        << QByteArray(R"({"name": "Demo", "description": "d",
                         "datasets": [{"name": "beauty", "source": "data/beauty.txt"}]})")
        << "Demo" << "";
    QTest::newRow("no name falls back to the directory") << QByteArray("{}") << "" << "";
    QTest::newRow("invalid JSON names the line") << QByteArray("{\n\"name\": \"x\"\n\"description\": 1\n}") << ""
                                                 << "project.json:3: ";
    QTest::newRow("not an object") << QByteArray("[1]") << "" << "project.json:1: expected a JSON object";
  }
  void manifest() {
    QFETCH(QByteArray, content);
    QFETCH(QString, name);
    QFETCH(QString, error);
    const QString dir = fresh();
    QVERIFY(QDir().mkpath(dir));
    writeFile(dir + QStringLiteral("/project.json"), content);
    if (!error.isEmpty()) {
      const auto e = expectError([&] { Project::openOrCreate(dir); });
      QVERIFY(e);
      QCOMPARE(e->code(), ExitCode::Usage);
      QVERIFY2(e->message().contains(error), qPrintable(e->message()));
      return;
    }
    const Project p = Project::openOrCreate(dir);
    QCOMPARE(p.name(), name.isEmpty() ? QFileInfo(dir).fileName() : name);
    if (!name.isEmpty()) {
      const QJsonArray datasets = p.manifest().value(QStringLiteral("datasets")).toArray();
      QCOMPARE(datasets.size(), 1);
      QCOMPARE(datasets[0].toObject().value(QStringLiteral("source")).toString(), QStringLiteral("data/beauty.txt"));
    }
  }

  void paths() {
    const Project p = Project::openOrCreate(fresh());
    const QString ckpt = p.checkpointDir(12);
    QVERIFY(QFileInfo(ckpt).isDir());
    QCOMPARE(ckpt, p.dir() + QStringLiteral("/checkpoints/run-12"));
    QCOMPARE(p.relativePath(ckpt + QStringLiteral("/spt-best.pt")), QStringLiteral("checkpoints/run-12/spt-best.pt"));
    QCOMPARE(p.absolutePath(QStringLiteral("checkpoints/run-12/spt-best.pt")), ckpt + QStringLiteral("/spt-best.pt"));
    QCOMPARE(p.absolutePath(QStringLiteral("/elsewhere/x.pt")), QStringLiteral("/elsewhere/x.pt"));
    QCOMPARE(p.runLockPath(3), p.dir() + QStringLiteral("/locks/run-3.lock"));
  }

  void runLockInThisProcess() {
    const Project p = Project::openOrCreate(fresh());
    QVERIFY(!p.isRunLocked(5));
    {
      Project::RunLock lock = p.lockRun(5);
      QVERIFY(lock.isHeld());
      QVERIFY(p.isRunLocked(5));
      QVERIFY(QFileInfo::exists(p.runLockPath(5)));
      // A second Project object on the same directory sees the same process-wide lock.
      const Project other = Project::openOrCreate(p.dir());
      QVERIFY(other.isRunLocked(5));
      const auto e = expectError([&] { other.lockRun(5); });
      QVERIFY(e);
      QCOMPARE(e->code(), ExitCode::Usage);
      QVERIFY2(e->message().contains(QStringLiteral("already open in this process")), qPrintable(e->message()));
      // Moving the lock keeps it held.
      Project::RunLock moved = std::move(lock);
      QVERIFY(!lock.isHeld());
      QVERIFY(moved.isHeld());
      QVERIFY(p.isRunLocked(5));
    }
    QVERIFY(!p.isRunLocked(5));
    QVERIFY(!QFileInfo::exists(p.runLockPath(5)));
    Project::RunLock again = p.lockRun(5);
    again.release();
    QVERIFY(!p.isRunLocked(5));
  }

  void openMarksOnlyOrphanedRunsInterrupted() {
    const QString dir = fresh();
    const Project p = Project::openOrCreate(dir);
    const qint64 mine = addRun(p, RunStatus::Running);
    const qint64 orphan = addRun(p, RunStatus::Running);
    const qint64 pausedOrphan = addRun(p, RunStatus::Paused);
    const qint64 finished = addRun(p, RunStatus::Completed);
    Project::RunLock lock = p.lockRun(mine);
    Project::openOrCreate(dir);
    QCOMPARE(statusOf(p, mine), RunStatus::Running);
    QCOMPARE(statusOf(p, orphan), RunStatus::Interrupted);
    QCOMPARE(statusOf(p, pausedOrphan), RunStatus::Interrupted);
    QCOMPARE(statusOf(p, finished), RunStatus::Completed);
  }

  void lockOfAnotherLiveProcess() {
    // A lock file owned by another live process (a sleeping child) is respected; once that
    // process is gone the lock is stale, the run is interrupted and can be taken over.
    const QString dir = fresh();
    const Project p = Project::openOrCreate(dir);
    const qint64 run = addRun(p, RunStatus::Running);
    QProcess sleeper;
    sleeper.start(QStringLiteral("sleep"), {QStringLiteral("30")});
    QVERIFY(sleeper.waitForStarted());
    writeFile(p.runLockPath(run), lockFileContent(sleeper.processId(), QStringLiteral("sleep")));

    QVERIFY(p.isRunLocked(run));
    const auto e = expectError([&] { p.lockRun(run); });
    QVERIFY(e);
    QVERIFY2(e->message().contains(QStringLiteral("in use by another process")), qPrintable(e->message()));
    QVERIFY2(e->message().contains(QString::number(sleeper.processId())), qPrintable(e->message()));
    Project::openOrCreate(dir);
    QCOMPARE(statusOf(p, run), RunStatus::Running);

    sleeper.kill();
    QVERIFY(sleeper.waitForFinished());
    QVERIFY(!p.isRunLocked(run));
    Project::openOrCreate(dir);
    QCOMPARE(statusOf(p, run), RunStatus::Interrupted);
    Project::RunLock lock = p.lockRun(run);
    QVERIFY(lock.isHeld());
  }

  void lockWhosePidWasReused() {
    // The PID is alive but belongs to a different program: the lock is stale.
    const Project p = Project::openOrCreate(fresh());
    QProcess sleeper;
    sleeper.start(QStringLiteral("sleep"), {QStringLiteral("30")});
    QVERIFY(sleeper.waitForStarted());
    writeFile(p.runLockPath(9), lockFileContent(sleeper.processId(), QStringLiteral("reasonrec")));
    const bool locked = p.isRunLocked(9);
    sleeper.kill();
    sleeper.waitForFinished();
    QVERIFY(!locked);
  }
};

RR_TEST_MAIN(TestProject)
#include "tst_project.moc"
