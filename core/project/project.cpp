#include "core/project/project.h"

#include "core/errors.h"
#include "core/store/experiment_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLockFile>
#include <QSet>
#include <QTemporaryFile>

#include <mutex>

namespace rr {

namespace {

const QString kDatabaseFile = QStringLiteral("project.db");
const QString kManifestFile = QStringLiteral("project.json");
const QString kCheckpointsDir = QStringLiteral("checkpoints");
const QString kLocksDir = QStringLiteral("locks");

/// Lock files this process holds. QLockFile already refuses a second lock on a file this
/// process holds, but asking the set first makes "held here" cheap and independent of how the
/// platform reports our own process.
struct HeldLocks {
  std::mutex mutex;
  QSet<QString> paths;
};
HeldLocks& heldLocks() {
  static HeldLocks held;
  return held;
}

void ensureDirectory(const QString& path, const QString& what) {
  const QFileInfo info(path);
  if (info.exists() && !info.isDir())
    throw Error(ExitCode::Usage, QStringLiteral("%1: %2 exists but is not a directory").arg(path, what));
  if (!info.exists() && !QDir().mkpath(path))
    throw Error(ExitCode::Usage, QStringLiteral("%1: cannot create the %2 (check the permissions of its parent)")
                                     .arg(path, what));
}

/// Fails early, with a clear message, when the directory exists but we cannot create files in
/// it (the database would otherwise fail later with a less obvious SQLite message).
void ensureWritable(const QString& dir) {
  QTemporaryFile probe(QDir(dir).filePath(QStringLiteral(".write-test-XXXXXX")));
  if (!probe.open())
    throw Error(ExitCode::Usage, QStringLiteral("%1: cannot write in the project directory (%2)")
                                     .arg(dir, probe.errorString()));
}

QJsonObject readManifest(const QString& path) {
  QFile f(path);
  if (!f.exists()) return {};
  if (!f.open(QIODevice::ReadOnly))
    throw Error(ExitCode::Usage, QStringLiteral("%1: cannot read: %2").arg(path, f.errorString()));
  const QByteArray data = f.readAll();
  QJsonParseError err;
  const QJsonDocument doc = QJsonDocument::fromJson(data, &err);
  if (err.error != QJsonParseError::NoError) {
    const qsizetype line = data.left(err.offset).count('\n') + 1;
    throw Error(ExitCode::Usage, QStringLiteral("%1:%2: %3").arg(path).arg(line).arg(err.errorString()));
  }
  if (!doc.isObject())
    throw Error(ExitCode::Usage, QStringLiteral("%1:1: expected a JSON object").arg(path));
  return doc.object();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Project Project::openOrCreate(const QString& dir) {
  if (dir.trimmed().isEmpty()) throw Error(ExitCode::Usage, QStringLiteral("the project directory is empty"));
  Project p(QDir::cleanPath(QDir(dir).absolutePath()));
  ensureDirectory(p.dir_, QStringLiteral("project directory"));
  ensureDirectory(QDir(p.dir_).filePath(kCheckpointsDir), QStringLiteral("checkpoints directory"));
  ensureDirectory(QDir(p.dir_).filePath(kLocksDir), QStringLiteral("locks directory"));
  ensureWritable(p.dir_);
  const QFileInfo db(p.databasePath());
  if (db.exists() && !db.isFile())
    throw Error(ExitCode::Usage, QStringLiteral("%1: exists but is not a file").arg(db.filePath()));
  p.manifest_ = readManifest(QDir(p.dir_).filePath(kManifestFile));

  // Open once: creates or migrates the schema, then settles runs whose owner died.
  ExperimentStore store(p.databasePath());
  store.markOrphanedRunsInterrupted([&p](qint64 runId) { return p.isRunLocked(runId); });
  return p;
}

QString Project::name() const {
  const QString n = manifest_.value(QStringLiteral("name")).toString().trimmed();
  return n.isEmpty() ? QDir(dir_).dirName() : n;
}

QString Project::databasePath() const { return QDir(dir_).filePath(kDatabaseFile); }

QString Project::checkpointDir(qint64 runId) const {
  const QString path = QDir(dir_).filePath(QStringLiteral("%1/run-%2").arg(kCheckpointsDir).arg(runId));
  ensureDirectory(path, QStringLiteral("checkpoint directory of run %1").arg(runId));
  return path;
}

QString Project::absolutePath(const QString& relative) const {
  return QDir::cleanPath(QDir(dir_).absoluteFilePath(relative));
}

QString Project::relativePath(const QString& absolute) const { return QDir(dir_).relativeFilePath(absolute); }

QString Project::runLockPath(qint64 runId) const {
  return QDir(dir_).filePath(QStringLiteral("%1/run-%2.lock").arg(kLocksDir).arg(runId));
}

// ---------------------------------------------------------------------------------------------
// Run locks

Project::RunLock Project::lockRun(qint64 runId) const {
  const QString path = runLockPath(runId);
  {
    std::lock_guard<std::mutex> guard(heldLocks().mutex);
    if (heldLocks().paths.contains(path))
      throw Error(ExitCode::Usage, QStringLiteral("run %1 is already open in this process").arg(runId));
    auto lock = std::make_unique<QLockFile>(path);
    lock->setStaleLockTime(0);  // only a dead owner makes a lock stale, never its age
    if (!lock->tryLock(0)) {
      if (lock->error() == QLockFile::LockFailedError) {
        qint64 pid = 0;
        QString host, app;
        const QString owner = lock->getLockInfo(&pid, &host, &app)
                                  ? QStringLiteral(" (%1, process %2 on %3)").arg(app).arg(pid).arg(host)
                                  : QString();
        throw Error(ExitCode::Usage, QStringLiteral("run %1 is in use by another process%2").arg(runId).arg(owner));
      }
      throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot create the run lock (%2)")
                                           .arg(path, lock->error() == QLockFile::PermissionError
                                                          ? QStringLiteral("permission denied")
                                                          : QStringLiteral("unknown error")));
    }
    heldLocks().paths.insert(path);
    RunLock held;
    held.lock_ = std::move(lock);
    held.path_ = path;
    return held;
  }
}

bool Project::isRunLocked(qint64 runId) const {
  const QString path = runLockPath(runId);
  // Under the same mutex as lockRun(), so that our probe never makes a thread of this process
  // believe another process holds the run.
  std::lock_guard<std::mutex> guard(heldLocks().mutex);
  if (heldLocks().paths.contains(path)) return true;
  if (!QFileInfo::exists(path)) return false;
  QLockFile probe(path);
  probe.setStaleLockTime(0);
  if (probe.tryLock(0)) {  // free, or stale and now removed
    probe.unlock();
    return false;
  }
  // LockFailedError: a live process holds it. Permission or unknown errors: we cannot tell,
  // so assume alive rather than declare someone's run interrupted.
  return true;
}

Project::RunLock::~RunLock() { release(); }

Project::RunLock::RunLock(RunLock&& o) noexcept : lock_(std::move(o.lock_)), path_(std::move(o.path_)) {}

Project::RunLock& Project::RunLock::operator=(RunLock&& o) noexcept {
  if (this != &o) {
    release();
    lock_ = std::move(o.lock_);
    path_ = std::move(o.path_);
  }
  return *this;
}

void Project::RunLock::release() {
  if (!lock_) return;
  {
    std::lock_guard<std::mutex> guard(heldLocks().mutex);
    lock_->unlock();
    heldLocks().paths.remove(path_);
  }
  lock_.reset();
}

}  // namespace rr
