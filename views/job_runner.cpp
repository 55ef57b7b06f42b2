#include "views/job_runner.h"

#include "core/jobs/train_job.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QThread>

namespace rr::views {

/// \brief Observer of one job: lives as long as the job; called on the worker thread.
class JobBridge : public rr::JobObserver {
 public:
  JobBridge(JobRunner* runner, qint64 handle) : runner_(runner), handle_(handle) {}

  void jobStatusChanged(JobStatus status) override {
    JobRunner* r = runner_;
    const qint64 h = handle_;
    // Deliver buffered metrics first so a status change never overtakes its data.
    QMetaObject::invokeMethod(r, [r, h, status] {
      r->drain();
      if (!r->infos_.contains(h)) return;
      r->infos_[h].status = status;
      emit r->jobStatusChanged(h, status);
    }, Qt::QueuedConnection);
  }
  void jobProgress(const JobProgress& progress) override {
    {
      std::lock_guard<std::mutex> guard(runner_->bufferMutex_);
      runner_->pendingProgress_.insert(handle_, progress);
    }
    runner_->scheduleDrain();
  }
  void jobMetric(const MetricRecord& record) override {
    {
      std::lock_guard<std::mutex> guard(runner_->bufferMutex_);
      runner_->pendingMetrics_.append(record);
    }
    runner_->scheduleDrain();
  }
  void jobMessage(const QString& line) override {
    JobRunner* r = runner_;
    const qint64 h = handle_;
    QMetaObject::invokeMethod(r, [r, h, line] { emit r->jobMessage(h, line); }, Qt::QueuedConnection);
  }

 private:
  JobRunner* runner_;
  qint64 handle_;
};

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  qRegisterMetaType<rr::JobStatus>("rr::JobStatus");
  qRegisterMetaType<rr::JobProgress>("rr::JobProgress");
  qRegisterMetaType<rr::MetricRecord>("rr::MetricRecord");
  qRegisterMetaType<QVector<rr::MetricRecord>>("QVector<rr::MetricRecord>");
  drainTimer_.setSingleShot(true);
  drainTimer_.setInterval(kDrainIntervalMs);
  connect(&drainTimer_, &QTimer::timeout, this, &JobRunner::drain);
  thread_ = new QThread(this);
  thread_->setObjectName(QStringLiteral("reasonrec-jobs"));
  worker_ = new QObject;
  worker_->moveToThread(thread_);
  connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_->start();
}

JobRunner::~JobRunner() {
  cancelAll();
  thread_->quit();
  thread_->wait();
  // Bridges may have queued calls to this object; they are discarded with it.
}

qint64 JobRunner::submit(std::unique_ptr<rr::Job> job) {
  Entry e;
  e.handle = nextHandle_++;
  JobInfo info;
  info.handle = e.handle;
  info.title = job->title();
  if (auto* train = dynamic_cast<rr::TrainJob*>(job.get())) info.runId = train->runId();
  e.bridge = std::make_unique<JobBridge>(this, e.handle);
  job->addObserver(e.bridge.get());
  e.job = std::move(job);
  infos_.insert(e.handle, info);
  const qint64 handle = e.handle;
  queue_.push_back(std::move(e));
  emit jobAdded(handle, info.title);
  emit jobStatusChanged(handle, JobStatus::Queued);
  startNext();
  return handle;
}

void JobRunner::startNext() {
  if (current_.job || queue_.empty()) return;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  rr::Job* job = current_.job.get();
  const qint64 handle = current_.handle;
  QMetaObject::invokeMethod(worker_, [this, job, handle] {
    job->execute();
    QMetaObject::invokeMethod(this, [this, handle] { onWorkerDone(handle); }, Qt::QueuedConnection);
  }, Qt::QueuedConnection);
}

void JobRunner::onWorkerDone(qint64 handle) {
  drainTimer_.stop();
  drain();
  if (current_.handle != handle) return;
  Entry done = std::move(current_);
  current_ = Entry{};
  const JobStatus status = done.job->status();
  const QString message = done.job->errorMessage();
  const QJsonObject result = done.job->result();
  infos_.remove(handle);
  startNext();
  emit jobFinished(handle, status, message, result);
  if (infos_.isEmpty()) emit idle();
}

void JobRunner::pause(qint64 handle) {
  if (current_.job && current_.handle == handle) current_.job->pause();
}

void JobRunner::resume(qint64 handle) {
  if (current_.job && current_.handle == handle) current_.job->resume();
}

void JobRunner::cancel(qint64 handle) {
  if (current_.job && current_.handle == handle) {
    current_.job->cancel();
    return;
  }
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->handle != handle) continue;
    queue_.erase(it);
    infos_.remove(handle);
    emit jobFinished(handle, JobStatus::Cancelled, QString(), QJsonObject());
    if (infos_.isEmpty()) emit idle();
    return;
  }
}

void JobRunner::cancelAll() {
  while (!queue_.empty()) cancel(queue_.back().handle);
  if (current_.job) current_.job->cancel();
}

bool JobRunner::waitForIdle(int timeoutMs) {
  QDeadlineTimer deadline(timeoutMs);
  while (!infos_.isEmpty() && !deadline.hasExpired())
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return infos_.isEmpty();
}

QList<JobInfo> JobRunner::jobs() const {
  QList<JobInfo> out;
  if (current_.job) out.append(infos_.value(current_.handle));
  for (const Entry& e : queue_) out.append(infos_.value(e.handle));
  return out;
}

qint64 JobRunner::handleForRun(qint64 runId) const {
  if (runId <= 0) return 0;
  for (const JobInfo& i : infos_)
    if (i.runId == runId) return i.handle;
  return 0;
}

void JobRunner::scheduleDrain() {
  {
    std::lock_guard<std::mutex> guard(bufferMutex_);
    if (drainScheduled_) return;
    drainScheduled_ = true;
  }
  QMetaObject::invokeMethod(this, [this] {
    if (!drainTimer_.isActive()) drainTimer_.start();
  }, Qt::QueuedConnection);
}

void JobRunner::drain() {
  QVector<MetricRecord> metrics;
  QHash<qint64, JobProgress> progress;
  {
    std::lock_guard<std::mutex> guard(bufferMutex_);
    metrics.swap(pendingMetrics_);
    progress.swap(pendingProgress_);
    drainScheduled_ = false;
  }
  for (auto it = progress.begin(); it != progress.end(); ++it) {
    if (!infos_.contains(it.key())) continue;
    infos_[it.key()].progress = it.value();
    emit jobProgress(it.key(), it.value());
  }
  if (!metrics.isEmpty()) emit metricsArrived(metrics);
}

}  // namespace rr::views
