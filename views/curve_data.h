#pragma once
/// \file
/// \brief The chart model: metric series per run, fed from the store (finished runs) and from
/// streamed job records (running ones). A run's stages are laid end to end on one step axis
/// (an RPT stage continues where SPT ended). Thread: GUI thread.

#include "core/store/records.h"

#include <QColor>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QStringList>
#include <QVector>

namespace rr {
class ExperimentStore;
}

namespace rr::views {

/// \brief The colour of a run, the same in every chart, table and list of the studio.
QColor runColor(qint64 runId);

/// \brief One point of a series.
struct CurvePoint {
  double x = 0;      ///< global step (stage offset + step)
  double value = 0;
  qint64 step = 0;   ///< step within its stage
  int epoch = 0;
  QString stage;
};

class CurveData : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;

  /// Replaces a run's series with what the store holds.
  void loadRun(const rr::ExperimentStore& store, qint64 runId);
  /// Adds what the store gained for a run since it was loaded (loads it when not held yet), so
  /// following a run another process trains reads only its new rows. Emits seriesChanged only
  /// when there were some. A series the store truncated (a resume) needs loadRun instead.
  void loadNew(const rr::ExperimentStore& store, qint64 runId);
  /// Appends streamed records (any runs). Emits seriesChanged once for the batch.
  void append(const QVector<rr::MetricRecord>& records);
  void removeRun(qint64 runId);
  void clear();

  bool hasRun(qint64 runId) const { return runs_.contains(runId); }
  QList<qint64> runs() const { return runs_.keys(); }
  /// Metric names present in any of `runIds` (all runs when empty), sorted.
  QStringList names(const QList<qint64>& runIds = {}) const;
  const QVector<CurvePoint>& series(qint64 runId, const QString& name) const;
  /// Total points held (for tests and the status bar).
  qint64 pointCount() const;

 signals:
  /// The series of these runs changed (new points or reloaded).
  void seriesChanged(const QSet<qint64>& runIds);

 private:
  struct RunSeries {
    QHash<QString, QVector<CurvePoint>> series;
    QStringList stageOrder;
    QHash<QString, double> stageOffset;  ///< x of a stage's step 0
    double maxX = 0;
    qint64 lastRow = 0;  ///< the newest store row added (0 when none came from the store)
  };
  void add(RunSeries& rs, const rr::MetricRecord& r);
  QHash<qint64, RunSeries> runs_;
};

}  // namespace rr::views
