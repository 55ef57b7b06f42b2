#pragma once
/// \file
/// \brief Job observer for terminals: a progress bar with rate and ETA on a TTY, one line per
/// message otherwise.

#include "core/jobs/job.h"

#include <QElapsedTimer>
#include <QTextStream>
#include <mutex>

namespace rr::cli {

class TerminalProgress : public JobObserver {
 public:
  /// interactive: draw a bar (stderr is a terminal). quiet: messages only.
  TerminalProgress(QTextStream& err, bool interactive);
  ~TerminalProgress() override;
  void jobProgress(const JobProgress& p) override;
  void jobMessage(const QString& line) override;
  void jobStatusChanged(JobStatus s) override;
  /// Removes the bar (before printing results).
  void clear();

 private:
  QTextStream& err_;
  bool interactive_;
  bool barShown_ = false;
  QElapsedTimer throttle_;
  std::mutex mutex_;
};

}  // namespace rr::cli
