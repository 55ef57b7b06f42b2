#include "core/store/records.h"

#include <algorithm>
#include <cmath>

namespace rr {

namespace {
struct StatusName {
  RunStatus status;
  const char* name;
};
// Stored in the database: never rename an entry, only add.
constexpr StatusName kStatusNames[] = {
    {RunStatus::Queued, "queued"},       {RunStatus::Running, "running"},
    {RunStatus::Paused, "paused"},       {RunStatus::Completed, "completed"},
    {RunStatus::Failed, "failed"},       {RunStatus::Cancelled, "cancelled"},
    {RunStatus::Interrupted, "interrupted"},
};
}  // namespace

QString runStatusName(RunStatus s) {
  for (const StatusName& n : kStatusNames)
    if (n.status == s) return QString::fromLatin1(n.name);
  return QStringLiteral("failed");
}

RunStatus parseRunStatus(const QString& s) {
  for (const StatusName& n : kStatusNames)
    if (s == QLatin1String(n.name)) return n.status;
  return RunStatus::Failed;
}

QString runLabel(const RunRecord& r) { return QStringLiteral("#%1 %2").arg(r.id).arg(r.name.isEmpty() ? r.preset : r.name); }

bool isActiveStatus(RunStatus s) { return s == RunStatus::Running || s == RunStatus::Paused; }

QString stageProgressText(const RunRecord& r) {
  const int total = stageEpochs(r);
  return total > 0 ? QStringLiteral("%1 epoch %2 / %3").arg(r.stage).arg(r.epochsRun).arg(total)
                   : QStringLiteral("%1 epoch %2").arg(r.stage).arg(r.epochsRun);
}

int stageEpochs(const RunRecord& r) {
  const bool rpt = r.stage == QLatin1String("rpt");
  return r.config.value(rpt ? QStringLiteral("rpt") : QStringLiteral("train")).toObject().value(QStringLiteral("epochs")).toInt(0);
}

QDateTime estimatedStageEnd(const RunRecord& run, const QVector<MetricRecord>& epochRecords, int stageEpochs) {
  if (!run.startedAt.isValid() || stageEpochs <= 0) return {};
  // A record's wall time counts from the run's first session; this session started at
  // startedAt with run.wallSeconds (the earlier sessions' time) already on the clock.
  const double prior = run.wallSeconds;
  QVector<const MetricRecord*> stage;
  for (const MetricRecord& m : epochRecords)
    if (m.stage == run.stage && m.epoch > 0) stage.append(&m);
  if (stage.isEmpty()) return {};
  std::sort(stage.begin(), stage.end(), [](auto* a, auto* b) { return a->epoch < b->epoch; });
  const int n = static_cast<int>(stage.size());
  const MetricRecord& last = *stage.last();
  const int left = stageEpochs - last.epoch;
  if (left <= 0 || last.wallTime <= prior) return {};  // nothing left, or no epoch yet this session
  // This session's epochs: the trailing records after its start whose wall times rise.
  int begin = n - 1;
  while (begin > 0 && stage[begin - 1]->wallTime > prior && stage[begin - 1]->wallTime < stage[begin]->wallTime) --begin;
  constexpr int kPaceEpochs = 4;
  const int first = std::max(begin, n - 1 - kPaceEpochs);
  double pace = 0;
  if (first < n - 1) {
    pace = (last.wallTime - stage[first]->wallTime) / (last.epoch - stage[first]->epoch);
  } else {  // one epoch so far: the session's time up to it (which also holds the data loading)
    const int startEpoch = begin > 0 ? stage[begin - 1]->epoch : 0;
    if (last.epoch > startEpoch) pace = (last.wallTime - prior) / (last.epoch - startEpoch);
  }
  if (!(pace > 0) || !std::isfinite(pace)) return {};
  const QDateTime lastEnd = run.startedAt.addMSecs(static_cast<qint64>(1000 * (last.wallTime - prior)));
  return lastEnd.addMSecs(static_cast<qint64>(1000 * pace * left));
}

}  // namespace rr
