#include "views/latency_probe.h"

#include <algorithm>
#include <cmath>

namespace rr::views {

LatencyProbe::LatencyProbe(int intervalMs, QObject* parent) : QObject(parent), intervalMs_(intervalMs) {
  timer_.setSingleShot(true);
  timer_.setTimerType(Qt::PreciseTimer);
  connect(&timer_, &QTimer::timeout, this, [this] {
    const qint64 now = clock_.nsecsElapsed();
    samplesMs_.push_back(std::max<qint64>(0, now - dueNs_) / 1e6);
    if (running_) arm();
  });
}

void LatencyProbe::start() {
  running_ = true;
  clock_.start();
  arm();
}

void LatencyProbe::stop() {
  running_ = false;
  timer_.stop();
}

void LatencyProbe::arm() {
  dueNs_ = clock_.nsecsElapsed() + static_cast<qint64>(intervalMs_) * 1000000;
  timer_.start(intervalMs_);
}

double LatencyProbe::quantileMs(double q) const {
  if (samplesMs_.empty()) return 0;
  std::vector<double> s = samplesMs_;
  std::sort(s.begin(), s.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * s.size()));
  return s[std::min(s.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double LatencyProbe::maxMs() const {
  return samplesMs_.empty() ? 0 : *std::max_element(samplesMs_.begin(), samplesMs_.end());
}

}  // namespace rr::views
