#pragma once
/// \file
/// \brief A project directory: project.db (the store), checkpoints/, locks/, project.json.

#include <QJsonObject>
#include <QString>
#include <memory>

class QLockFile;

namespace rr {

/// \brief Paths and lifetime helpers of a project directory. Cheap to copy; holds no
/// database connection (open an ExperimentStore on databasePath() per thread).
/// Run locks: locks/run-<id>.lock (QLockFile, never stale by age; a lock whose process is gone
/// is stale). Locks held by this process are tracked process-wide and count as alive.
class Project {
 public:
  /// Creates the directory layout when missing, migrates the database, and marks runs whose
  /// owning process is gone as interrupted. Throws Error when the directory is unusable.
  static Project openOrCreate(const QString& dir);

  QString dir() const { return dir_; }
  QString name() const;                 ///< project.json "name", else the directory name
  QString databasePath() const;
  QString checkpointDir(qint64 runId) const;  ///< created on demand
  QString absolutePath(const QString& relative) const;
  QString relativePath(const QString& absolute) const;
  /// project.json (optional): name, description, datasets to import on first open
  /// ("datasets": [{"name": ..., "source": ...}]); read by openOrCreate(), which throws
  /// Error(Usage) "<file>:<line>: ..." when it is not valid JSON. Empty when absent.
  QJsonObject manifest() const { return manifest_; }

  /// \brief Holds the per-run lock while a process works on the run; other processes see the
  /// run as alive. Throws Error(Usage) when another live process holds it.
  class RunLock {
   public:
    ~RunLock();
    RunLock(RunLock&&) noexcept;
    RunLock& operator=(RunLock&&) noexcept;
    /// Releases the lock now (the destructor does it otherwise).
    void release();
    bool isHeld() const { return lock_ != nullptr; }
   private:
    friend class Project;
    RunLock() = default;
    std::unique_ptr<QLockFile> lock_;
    QString path_;
  };
  RunLock lockRun(qint64 runId) const;
  /// Whether some live process (this one included) holds the run's lock. Checking another
  /// process's lock briefly takes it when it turns out to be free or stale.
  bool isRunLocked(qint64 runId) const;
  QString runLockPath(qint64 runId) const;

 private:
  explicit Project(QString dir) : dir_(std::move(dir)) {}
  QString dir_;
  QJsonObject manifest_;
};

}  // namespace rr
