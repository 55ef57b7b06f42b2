#include "core/analysis/sweep.h"

#include "core/errors.h"
#include "core/jobs/train_job.h"
#include "core/store/experiment_store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

namespace rr {

namespace {
const QString kSweepTag = QStringLiteral("sweep:");
}

SweepAxis parseSweepAxis(const QString& text) {
  const int eq = text.indexOf(QLatin1Char('='));
  if (eq <= 0) throw ConfigError(text, QStringLiteral("expected KEY=V1,V2,..."));
  SweepAxis a;
  a.key = text.left(eq).trimmed();
  const ConfigKey& key = ConfigSchema::instance().require(a.key);
  const QString rest = text.mid(eq + 1).trimmed();
  const bool list = key.type == ConfigKey::Type::IntList || key.type == ConfigKey::Type::StringList;
  for (const QString& v : rest.split(list ? QLatin1Char(';') : QLatin1Char(','), Qt::SkipEmptyParts)) {
    const QJsonValue parsed = ConfigSchema::instance().parseText(key, v.trimmed());
    const QString why = ConfigSchema::instance().check(key, parsed);
    if (!why.isEmpty()) throw ConfigError(a.key, why);
    a.values.append(v.trimmed());
  }
  if (a.values.isEmpty()) throw ConfigError(a.key, QStringLiteral("the sweep has no values"));
  return a;
}

QVector<QStringList> sweepPoints(const QVector<SweepAxis>& axes) {
  QVector<QStringList> points{QStringList()};
  for (const auto& axis : axes) {
    QVector<QStringList> next;
    for (const auto& p : points)
      for (const QString& v : axis.values) next.append(p + QStringList{axis.key + QLatin1Char('=') + v});
    points = next;
  }
  if (axes.isEmpty()) return {};
  return points;
}

QVector<qint64> queueSweep(ExperimentStore& store, qint64 datasetId, const RunConfig& base,
                           const QVector<SweepAxis>& axes, const QString& name) {
  const QString sweepName = name.trimmed().isEmpty() ? QStringLiteral("sweep") : name.trimmed();
  const auto points = sweepPoints(axes);
  if (points.isEmpty()) throw UsageError(QStringLiteral("the sweep has no axes"));
  QVector<RunConfig> configs;
  for (const auto& p : points) {
    RunConfig cfg = base;
    for (const QString& a : p) cfg.setAssignment(a);
    cfg.validate();  // e.g. heads must divide d: fails before anything is stored
    configs.append(cfg);
  }
  (void)store.dataset(datasetId);
  QVector<qint64> ids;
  for (int i = 0; i < points.size(); ++i) {
    const qint64 id = createRun(store, datasetId, configs[i], sweepName + QLatin1Char(' ') + points[i].join(QLatin1Char(' ')));
    store.setRunTags(id, {kSweepTag + sweepName});
    ids.append(id);
  }
  return ids;
}

QStringList sweepNames(const ExperimentStore& store) {
  QStringList names;
  for (const auto& r : store.runs())
    for (const QString& t : r.tags)
      if (t.startsWith(kSweepTag) && !names.contains(t.mid(kSweepTag.size()))) names.append(t.mid(kSweepTag.size()));
  return names;
}

SweepSummary sweepSummary(const ExperimentStore& store, const QString& name) {
  SweepSummary s;
  s.name = name;
  QVector<RunRecord> runs;
  for (const auto& r : store.runs())
    if (r.tags.contains(kSweepTag + name)) runs.prepend(r);  // oldest first = point order
  QMap<QString, QSet<QString>> seen;
  QVector<QVector<QPair<QString, QJsonValue>>> flat;
  for (const auto& r : runs) {
    flat.append(flattenJson(r.config));
    for (const auto& [k, v] : flat.last()) seen[k].insert(QString::fromUtf8(QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact)));
  }
  for (auto it = seen.begin(); it != seen.end(); ++it)
    if (it.value().size() > 1) s.keys.append(it.key());
  for (int i = 0; i < runs.size(); ++i) {
    SweepPoint p;
    p.runId = runs[i].id;
    p.status = runStatusName(runs[i].status);
    for (const auto& [k, v] : flat[i])
      if (s.keys.contains(k)) p.values.insert(k, v);
    p.test = runs[i].test;
    s.points.append(p);
  }
  return s;
}

}  // namespace rr
