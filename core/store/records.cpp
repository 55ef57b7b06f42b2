#include "core/store/records.h"

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

}  // namespace rr
