#pragma once
/// \file
/// \brief What a studio panel may ask of the window that hosts it: the open project, the runs
/// the user selected, and a way to run core Jobs off the GUI thread. Thread: GUI thread only.

#include <QList>
#include <QObject>
#include <QString>
#include <memory>

namespace rr {
class Job;
}

namespace rr::views {

/// \brief Implemented by the main window (and by a small fake in widget tests).
class StudioContext : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;
  ~StudioContext() override = default;
  /// Absolute path of the open project directory (holds project.db); empty when none is open.
  virtual QString projectDir() const = 0;
  /// Run ids selected in the runs table / explorer, in selection order.
  virtual QList<qint64> selectedRuns() const = 0;
  /// Queues a core Job; it runs on a worker thread and its progress shows in the status bar.
  /// Returns a handle id usable with jobFinished().
  virtual qint64 submitJob(std::unique_ptr<rr::Job> job) = 0;

 signals:
  void projectChanged();
  void selectedRunsChanged();
  /// Runs were added, changed status or were deleted in the store.
  void runsChanged();
  /// A job submitted through submitJob() ended (completed, failed or cancelled).
  void jobFinished(qint64 handle, bool succeeded, const QString& message);
};

}  // namespace rr::views
