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
  /// project.json (optional): name, description, datasets to import on first open.
  QJsonObject manifest() const;

  /// \brief Holds the per-run lock while a process works on the run; other processes see the
  /// run as alive. Throws Error(Usage) when another live process holds it.
  class RunLock {
   public:
    ~RunLock();
    RunLock(RunLock&&) noexcept;
    RunLock& operator=(RunLock&&) noexcept;
   private:
    friend class Project;
    RunLock() = default;
    std::unique_ptr<QLockFile> lock_;
  };
  RunLock lockRun(qint64 runId) const;
  /// Whether some live process holds the run's lock.
  bool isRunLocked(qint64 runId) const;

 private:
  explicit Project(QString dir) : dir_(std::move(dir)) {}
  QString dir_;
};

}  // namespace rr
