#pragma once
// A StudioContext for widget tests: a fixed project and selection; jobs run at once on the
// calling thread and report jobFinished through the event loop, as the real window does.
#include "core/jobs/job.h"
#include "views/studio_context.h"

#include <QMetaObject>

class FakeStudioContext : public rr::views::StudioContext {
  Q_OBJECT
 public:
  QString dir;
  QList<qint64> selection;
  int submitted = 0;
  QString projectDir() const override { return dir; }
  QList<qint64> selectedRuns() const override { return selection; }
  qint64 submitJob(std::unique_ptr<rr::Job> job) override {
    const qint64 handle = ++submitted;
    job->execute();
    const bool ok = job->status() == rr::JobStatus::Completed;
    const QString message = job->errorMessage();
    QMetaObject::invokeMethod(this, [this, handle, ok, message] { emit jobFinished(handle, ok, message); }, Qt::QueuedConnection);
    return handle;
  }
};
