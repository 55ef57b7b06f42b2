#pragma once
/// \file
/// \brief Measures how late the GUI event loop serves a timer: a single-shot timer is armed
/// for `intervalMs` again and again; each sample is (time it fired) − (time it was due).
/// Thread: the thread whose event loop is measured (the GUI thread).

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <vector>

namespace rr::views {

class LatencyProbe : public QObject {
  Q_OBJECT
 public:
  explicit LatencyProbe(int intervalMs = 10, QObject* parent = nullptr);
  void start();
  void stop();
  void clear() { samplesMs_.clear(); }
  const std::vector<double>& samplesMs() const { return samplesMs_; }
  /// q-quantile (0..1) of the lateness in milliseconds (nearest rank); 0 without samples.
  double quantileMs(double q) const;
  double maxMs() const;

 private:
  void arm();
  int intervalMs_;
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 dueNs_ = 0;
  std::vector<double> samplesMs_;
  bool running_ = false;
};

}  // namespace rr::views
