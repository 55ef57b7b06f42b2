#include "app/cli/terminal_progress.h"

#include <algorithm>
#include <cmath>

namespace rr::cli {
namespace {
constexpr int kBarWidth = 24;
constexpr qint64 kRedrawMs = 100;  // at most 10 redraws per second
}  // namespace

TerminalProgress::TerminalProgress(QTextStream& err, bool interactive) : err_(err), interactive_(interactive) {}

TerminalProgress::~TerminalProgress() { clear(); }

void TerminalProgress::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (barShown_) {
    err_ << "\r\033[K";
    err_.flush();
    barShown_ = false;
  }
}

void TerminalProgress::jobProgress(const JobProgress& p) {
  if (!interactive_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (throttle_.isValid() && throttle_.elapsed() < kRedrawMs) return;
  throttle_.start();
  const double phaseFrac = p.phaseTotal > 0 ? static_cast<double>(p.phaseDone) / p.phaseTotal : p.fraction;
  const int filled = static_cast<int>(std::round(std::clamp(phaseFrac, 0.0, 1.0) * kBarWidth));
  QString bar = QString(filled, QLatin1Char('#')) + QString(kBarWidth - filled, QLatin1Char('-'));
  QString line = QStringLiteral("[%1] %2 %3%").arg(bar, p.phase).arg(static_cast<int>(phaseFrac * 100));
  if (p.rate > 0) line += QStringLiteral("  %1 %2").arg(p.rate, 0, 'f', 0).arg(p.rateUnit);
  if (p.phaseEtaSeconds >= 0) line += QStringLiteral("  ETA %1").arg(formatClock(p.phaseEtaSeconds));
  if (p.etaSeconds >= 0) line += QStringLiteral("  (run <= %1)").arg(formatClock(p.etaSeconds));
  err_ << "\r\033[K" << line;
  err_.flush();
  barShown_ = true;
}

void TerminalProgress::jobMessage(const QString& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (barShown_) err_ << "\r\033[K";
  barShown_ = false;
  err_ << line << "\n";
  err_.flush();
}

void TerminalProgress::jobStatusChanged(JobStatus) {}

}  // namespace rr::cli
