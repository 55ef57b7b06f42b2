#include "core/jobs/job.h"

#include "core/errors.h"
#include "core/runtime.h"

#include <cmath>
#include <exception>

namespace rr {

QString formatClock(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return QStringLiteral("–");
  const qint64 s = std::llround(seconds);
  const auto two = [](qint64 v) { return QStringLiteral("%1").arg(v, 2, 10, QLatin1Char('0')); };
  if (s < 3600) return QStringLiteral("%1:%2").arg(s / 60).arg(two(s % 60));
  return QStringLiteral("%1:%2:%3").arg(s / 3600).arg(two((s / 60) % 60)).arg(two(s % 60));
}

QString jobStatusName(JobStatus s) {
  switch (s) {
    case JobStatus::Queued: return QStringLiteral("queued");
    case JobStatus::Running: return QStringLiteral("running");
    case JobStatus::Paused: return QStringLiteral("paused");
    case JobStatus::Completed: return QStringLiteral("completed");
    case JobStatus::Failed: return QStringLiteral("failed");
    case JobStatus::Cancelled: return QStringLiteral("cancelled");
  }
  return QStringLiteral("unknown");
}

// ---------------------------------------------------------------------------------------------
// EtaEstimator

namespace {
/// Intervals shorter than this are folded into the next one: their rate is mostly timer noise.
constexpr double kMinIntervalSeconds = 1e-3;
}  // namespace

void EtaEstimator::start(qint64 total) {
  total_ = total;
  done_ = lastDone_ = 0;
  lastSeconds_ = rate_ = weight_ = ema_ = 0;
}

void EtaEstimator::update(qint64 done, double seconds) {
  done_ = done;
  const double dt = seconds - lastSeconds_;
  if (dt < kMinIntervalSeconds) return;
  const qint64 delta = done - lastDone_;
  lastDone_ = done;
  lastSeconds_ = seconds;
  if (delta < 0) return;  // the counter went back (a restarted phase): not a rate
  const double sample = static_cast<double>(delta) / dt;
  ema_ = kSmoothing * ema_ + (1.0 - kSmoothing) * sample;
  weight_ = kSmoothing * weight_ + (1.0 - kSmoothing);
  rate_ = ema_ / weight_;
}

double EtaEstimator::etaSeconds() const {
  if (total_ > 0 && done_ >= total_) return 0;
  if (rate_ <= 0 || total_ <= 0) return -1;
  return static_cast<double>(total_ - done_) / rate_;
}

// ---------------------------------------------------------------------------------------------
// Job

void Job::execute() {
  started_ = std::chrono::steady_clock::now();
  setStatus(JobStatus::Running);
  JobStatus outcome = JobStatus::Completed;
  int code = static_cast<int>(ExitCode::Success);
  QString error;
  try {
    checkpointCancel();  // cancelled (or paused) before it started
    run();
  } catch (const CancelledError&) {
    outcome = JobStatus::Cancelled;
    code = static_cast<int>(ExitCode::Cancelled);
  } catch (const Error& e) {
    outcome = e.code() == ExitCode::Cancelled ? JobStatus::Cancelled : JobStatus::Failed;
    code = static_cast<int>(e.code());
    error = e.message();  // a failure, or why it stopped (TimeLimitError)
  } catch (const std::exception& e) {
    outcome = JobStatus::Failed;
    code = static_cast<int>(ExitCode::RunFailed);
    error = QStringLiteral("internal error: ") + QString::fromLocal8Bit(e.what());
  } catch (...) {
    outcome = JobStatus::Failed;
    code = static_cast<int>(ExitCode::RunFailed);
    error = QStringLiteral("internal error: unknown exception");
  }
  // The job's tensors are gone: an idle process should not hold the peak of a finished run.
  runtime::releaseCachedMemory();
  {
    std::lock_guard<std::mutex> guard(mutex_);
    error_ = error;
  }
  exitCode_.store(code);
  // Outcome and exit code are in place before observers hear of the final status.
  setStatus(outcome);
}

void Job::cancel() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    cancel_.store(true);
  }
  pauseCv_.notify_all();
}

void Job::pause() {
  std::lock_guard<std::mutex> guard(mutex_);
  pause_.store(true);
}

void Job::resume() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    pause_.store(false);
  }
  pauseCv_.notify_all();
}

QString Job::errorMessage() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return error_;
}

QJsonObject Job::result() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return result_;
}

JobProgress Job::lastProgress() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return progress_;
}

void Job::addObserver(JobObserver* observer) {
  if (observer) observers_.push_back(observer);
}

void Job::checkpointCancel() {
  if (cancel_.load()) throw CancelledError();
  if (!pause_.load()) return;

  // The pause's own work (a train job flushes its metrics and marks the run paused) is done
  // before anyone is told the job is paused, as onResumed() runs before status Running.
  onPaused();
  setStatus(JobStatus::Paused);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    pauseCv_.wait(lock, [this] { return !pause_.load() || cancel_.load(); });
  }
  if (cancel_.load()) throw CancelledError();  // stopped while paused: status goes to Cancelled
  onResumed();
  setStatus(JobStatus::Running);
}

void Job::reportProgress(const JobProgress& progress) {
  JobProgress p = progress;
  if (p.elapsedSeconds <= 0) p.elapsedSeconds = elapsedSeconds();
  {
    std::lock_guard<std::mutex> guard(mutex_);
    progress_ = p;
  }
  for (JobObserver* o : observers_) o->jobProgress(p);
}

void Job::reportMetric(const MetricRecord& record) {
  for (JobObserver* o : observers_) o->jobMetric(record);
}

void Job::reportMessage(const QString& line) {
  for (JobObserver* o : observers_) o->jobMessage(line);
}

void Job::setResult(const QJsonObject& result) {
  std::lock_guard<std::mutex> guard(mutex_);
  result_ = result;
}

void Job::setStatus(JobStatus s) {
  status_.store(s);
  for (JobObserver* o : observers_) o->jobStatusChanged(s);
}

double Job::elapsedSeconds() const {
  if (started_ == std::chrono::steady_clock::time_point{}) return 0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

}  // namespace rr
