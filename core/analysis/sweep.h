#pragma once
/// \file
/// \brief Training-time parameter sweeps (PLR Figure 2, LARES Figure 5): a grid over any
/// configuration keys becomes one queued run per point, and the finished runs give the metric
/// against each key. Plain C++/Qt: usable by views.

#include "core/project/run_config.h"

#include <QJsonValue>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

namespace rr {

class ExperimentStore;

/// \brief One axis of a grid: a configuration key and the values (as --set text) it takes.
struct SweepAxis {
  QString key;
  QStringList values;
};

/// Parses "key=v1,v2,v3" (list-valued keys: "key=[5,10];[10,20]"). Throws ConfigError naming
/// the key when it is unknown or a value is invalid for it.
SweepAxis parseSweepAxis(const QString& text);

/// The cartesian product, first axis slowest: each point is a list of "key=value" assignments.
QVector<QStringList> sweepPoints(const QVector<SweepAxis>& axes);

/// \brief Validates every point against the schema first (all or nothing), then stores one
/// queued run per point on `datasetId`, named "<name> key=value ...", tagged "sweep:<name>".
/// Returns the new run ids in point order.
QVector<qint64> queueSweep(ExperimentStore& store, qint64 datasetId, const RunConfig& base,
                           const QVector<SweepAxis>& axes, const QString& name);

/// \brief A finished (or unfinished) point of a sweep, read back from the store.
struct SweepPoint {
  qint64 runId = 0;
  QString status;
  QMap<QString, QJsonValue> values;  ///< axis key -> value in the run's configuration
  QMap<QString, double> test;        ///< test metrics (empty until it finished)
};
struct SweepSummary {
  QString name;
  QStringList keys;  ///< the keys that vary between the points
  QVector<SweepPoint> points;
};

/// Sweep names found in the store's run tags ("sweep:<name>"), newest first.
QStringList sweepNames(const ExperimentStore& store);
/// The points of one sweep; keys are the configuration keys whose values differ between runs.
SweepSummary sweepSummary(const ExperimentStore& store, const QString& name);

}  // namespace rr
