#pragma once
/// \file
/// \brief Long work as a Job: run() on a worker thread, cancellation and pause polled between
/// batches, progress with ETA, a status and a result (DESIGN.md, "Rules of the house").

#include "core/store/records.h"

#include <QJsonObject>
#include <QString>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace rr {

enum class JobStatus { Queued, Running, Paused, Completed, Failed, Cancelled };
QString jobStatusName(JobStatus s);

/// \brief A duration as a clock, for ETAs and wall times: "1:05", "3:01:02"; "–" when unknown
/// (negative or not finite). The studio and the command line both print durations with it.
QString formatClock(double seconds);

/// \brief Progress of a job. `fraction` covers the whole job; `phase*` the current phase
/// (an epoch, an evaluation pass, a file read).
struct JobProgress {
  double fraction = 0;        ///< 0..1 over the whole job
  QString phase;              ///< e.g. "spt epoch 3/200", "evaluating test"
  qint64 phaseDone = 0;
  qint64 phaseTotal = 0;
  double rate = 0;            ///< items per second in the current phase
  QString rateUnit;           ///< "samples/s", "users/s", "MB/s"
  double phaseEtaSeconds = -1;  ///< -1 unknown
  double etaSeconds = -1;     ///< whole job, -1 unknown
  double elapsedSeconds = 0;
};

/// \brief Receives a job's events. Thread: called on the job's worker thread; implementations
/// must be thread-safe and fast (the GUI bridge queues them to the GUI thread).
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void jobStatusChanged(JobStatus status) {}
  virtual void jobProgress(const JobProgress& progress) {}
  virtual void jobMetric(const MetricRecord& record) {}
  /// A line for a log view or the terminal (an epoch summary, a warning).
  virtual void jobMessage(const QString& line) {}
};

/// \brief Smoothed rate and ETA for a phase of known size (exponential moving average of the
/// rate, debiased, so the first estimates are not dominated by start-up).
/// Each update() with time elapsed contributes the rate of its interval, r = Δdone/Δt, to
/// m ← β·m + (1−β)·r and w ← β·w + (1−β); rate() = m / w (as Adam's bias correction: w starts
/// at 0, so the first estimate is the first interval's rate, not (1−β) of it).
class EtaEstimator {
 public:
  static constexpr double kSmoothing = 0.9;  ///< β: ~10 intervals of memory
  void start(qint64 total);
  /// Records that `done` items are finished at time `seconds` since start().
  void update(qint64 done, double seconds);
  double rate() const { return rate_; }
  double etaSeconds() const;  ///< -1 until a rate is known
  qint64 total() const { return total_; }
  qint64 done() const { return done_; }

 private:
  qint64 total_ = 0, done_ = 0, lastDone_ = 0;
  double lastSeconds_ = 0, rate_ = 0, weight_ = 0, ema_ = 0;
};

/// \brief Base class of all long work. Subclasses implement run() and call
/// checkpointCancel() between batches. execute() drives the status transitions:
/// queued -> running [-> paused -> running] -> completed | failed | cancelled.
class Job {
 public:
  Job() = default;
  virtual ~Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  /// Short human title, e.g. "Train sasrec on beauty".
  virtual QString title() const = 0;

  /// Runs the job on the calling thread; never throws. Thread: a worker thread.
  /// Outcomes: run() returns -> Completed (exit 0); CancelledError -> Cancelled (130);
  /// rr::Error -> Failed with its message and exit code; any other exception -> Failed
  /// ("internal error: ...", exit 4). Observers see every status change in order.
  void execute();

  /// Thread: any. Requests cancellation; run() stops at its next cancellation point.
  void cancel();
  /// Thread: any. The job blocks at its next cancellation point until resume() or cancel().
  void pause();
  void resume();
  bool isCancelRequested() const { return cancel_.load(); }
  bool isPauseRequested() const { return pause_.load(); }

  JobStatus status() const { return status_.load(); }
  /// The error message when status() is Failed; when Cancelled, why, if not by the user
  /// (e.g. a time limit), else empty.
  QString errorMessage() const;
  /// The rr::ExitCode value that fits the outcome (0 on success).
  int exitCode() const { return exitCode_.load(); }
  /// Job-specific result (e.g. the --summary JSON of a training run). Valid after execute().
  QJsonObject result() const;
  JobProgress lastProgress() const;

  /// Observers must outlive the job's execute(). Thread: before execute().
  void addObserver(JobObserver* observer);

 protected:
  virtual void run() = 0;
  /// Throws CancelledError when cancelled; blocks while paused (onPaused(), then status Paused;
  /// on resume onResumed(), then status Running; cancel() while paused ends the wait and
  /// throws). Cheap; call between batches.
  void checkpointCancel();
  /// Stores and forwards progress; fills elapsedSeconds from the job's clock when left 0.
  void reportProgress(const JobProgress& progress);
  void reportMetric(const MetricRecord& record);
  void reportMessage(const QString& line);
  void setResult(const QJsonObject& result);
  /// Called on the worker thread when a pause starts / ends (e.g. to mark a run paused).
  virtual void onPaused() {}
  virtual void onResumed() {}

 private:
  void setStatus(JobStatus s);
  double elapsedSeconds() const;
  std::atomic<bool> cancel_{false};
  std::atomic<bool> pause_{false};
  std::atomic<JobStatus> status_{JobStatus::Queued};
  std::atomic<int> exitCode_{0};
  mutable std::mutex mutex_;
  std::condition_variable pauseCv_;
  QString error_;
  QJsonObject result_;
  JobProgress progress_;
  std::vector<JobObserver*> observers_;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace rr
