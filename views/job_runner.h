#pragma once
/// \file
/// \brief The bridge between core Jobs and the GUI: jobs queue and run one at a time on a
/// worker QThread; their observer calls come back to the GUI thread as queued signals. Metric
/// records and progress are buffered on the worker side and drained by a single-shot
/// coalescing timer (kDrainIntervalMs), so a chatty job never floods the event loop.
/// Thread: create and call on the GUI thread; signals are delivered there.

#include "core/jobs/job.h"
#include "core/store/records.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QTimer>
#include <QVector>
#include <deque>
#include <memory>
#include <mutex>

class QThread;

namespace rr::views {

class JobBridge;

/// \brief One job the runner knows about (queued or active).
struct JobInfo {
  qint64 handle = 0;
  QString title;
  JobStatus status = JobStatus::Queued;
  JobProgress progress;
  qint64 runId = 0;  ///< the run a TrainJob works on, else 0
};

class JobRunner : public QObject {
  Q_OBJECT
 public:
  /// Metric/progress drain period: at most ~25 deliveries per second.
  static constexpr int kDrainIntervalMs = 40;

  explicit JobRunner(QObject* parent = nullptr);
  /// Cancels every job and waits for the worker to finish.
  ~JobRunner() override;

  /// Queues a job; it starts when the jobs before it are done. Returns its handle (> 0).
  qint64 submit(std::unique_ptr<rr::Job> job);
  /// Pause / resume a running job (blocks at its next cancellation point).
  void pause(qint64 handle);
  void resume(qint64 handle);
  /// Stops a job: a queued one is dropped (finished with Cancelled), a running one stops at its
  /// next cancellation point (a TrainJob marks its run interrupted).
  void cancel(qint64 handle);
  void cancelAll();
  /// Processes events until no job is active or `timeoutMs` passed; true when idle.
  bool waitForIdle(int timeoutMs);

  QList<JobInfo> jobs() const;             ///< queued and active, in submission order
  bool contains(qint64 handle) const { return infos_.contains(handle); }
  JobInfo info(qint64 handle) const { return infos_.value(handle); }
  int activeCount() const { return static_cast<int>(infos_.size()); }
  /// Handle of the queued or active job that trains `runId` (0 when none).
  qint64 handleForRun(qint64 runId) const;

 signals:
  void jobAdded(qint64 handle, const QString& title);
  void jobStatusChanged(qint64 handle, rr::JobStatus status);
  void jobProgress(qint64 handle, const rr::JobProgress& progress);
  void jobMessage(qint64 handle, const QString& line);
  /// Records of all jobs since the last drain, in emission order.
  void metricsArrived(const QVector<rr::MetricRecord>& records);
  /// The job ended (its final status: Completed, Failed or Cancelled); message is the error
  /// text for Failed. Remaining metrics were delivered before this.
  void jobFinished(qint64 handle, rr::JobStatus status, const QString& message, const QJsonObject& result);
  /// No job is queued or running any more.
  void idle();

 private:
  friend class JobBridge;
  struct Entry {
    qint64 handle = 0;
    std::unique_ptr<rr::Job> job;
    std::unique_ptr<JobBridge> bridge;
  };
  void startNext();
  void onWorkerDone(qint64 handle);
  void scheduleDrain();  ///< thread: any
  void drain();

  QThread* thread_ = nullptr;
  QObject* worker_ = nullptr;  ///< lives in thread_
  std::deque<Entry> queue_;
  Entry current_;
  QHash<qint64, JobInfo> infos_;
  qint64 nextHandle_ = 1;
  QTimer drainTimer_;

  // Filled by bridges on the worker thread, drained on the GUI thread.
  mutable std::mutex bufferMutex_;
  QVector<rr::MetricRecord> pendingMetrics_;
  QHash<qint64, rr::JobProgress> pendingProgress_;
  bool drainScheduled_ = false;
};

}  // namespace rr::views

Q_DECLARE_METATYPE(rr::JobStatus)
Q_DECLARE_METATYPE(rr::JobProgress)
Q_DECLARE_METATYPE(rr::MetricRecord)
