#include "views/curve_data.h"

#include "core/store/experiment_store.h"

#include <algorithm>

namespace rr::views {

QColor runColor(qint64 runId) {
  // Okabe-Ito-like palette, readable on white and distinguishable with colour-vision deficits,
  // extended with a few darker tones; run ids map to it round-robin.
  static const QVector<QColor> palette = {
      QColor(0, 114, 178),  QColor(213, 94, 0),   QColor(0, 158, 115), QColor(204, 121, 167),
      QColor(230, 159, 0),  QColor(86, 180, 233), QColor(120, 94, 240), QColor(170, 68, 51),
      QColor(68, 119, 51),  QColor(40, 40, 40)};
  if (runId <= 0) return QColor(128, 128, 128);
  return palette[static_cast<int>((runId - 1) % palette.size())];
}

void CurveData::add(RunSeries& rs, const MetricRecord& r) {
  if (!rs.stageOffset.contains(r.stage)) {
    rs.stageOrder.append(r.stage);
    rs.stageOffset.insert(r.stage, rs.stageOrder.size() == 1 ? 0.0 : rs.maxX);
  }
  CurvePoint p;
  p.x = rs.stageOffset.value(r.stage) + static_cast<double>(r.step);
  p.value = r.value;
  p.step = r.step;
  p.epoch = r.epoch;
  p.stage = r.stage;
  rs.maxX = std::max(rs.maxX, p.x);
  rs.lastRow = std::max(rs.lastRow, r.row);
  auto& s = rs.series[r.name];
  // A resumed run re-sends steps after its checkpoint: keep the series ordered and unique.
  while (!s.isEmpty() && s.last().x >= p.x && s.last().stage == p.stage) s.removeLast();
  s.append(p);
}

void CurveData::loadRun(const ExperimentStore& store, qint64 runId) {
  RunSeries rs;
  for (const MetricRecord& r : store.metrics(runId)) add(rs, r);
  runs_.insert(runId, std::move(rs));
  emit seriesChanged({runId});
}

void CurveData::loadNew(const ExperimentStore& store, qint64 runId) {
  auto it = runs_.find(runId);
  if (it == runs_.end()) {
    loadRun(store, runId);
    return;
  }
  const QVector<MetricRecord> fresh = store.metricsAfter(runId, it->lastRow);
  if (fresh.isEmpty()) return;
  for (const MetricRecord& r : fresh) add(*it, r);
  emit seriesChanged({runId});
}

void CurveData::append(const QVector<MetricRecord>& records) {
  QSet<qint64> touched;
  for (const MetricRecord& r : records) {
    add(runs_[r.run], r);
    touched.insert(r.run);
  }
  if (!touched.isEmpty()) emit seriesChanged(touched);
}

void CurveData::removeRun(qint64 runId) {
  if (runs_.remove(runId)) emit seriesChanged({runId});
}

void CurveData::clear() {
  QSet<qint64> all;
  for (auto it = runs_.begin(); it != runs_.end(); ++it) all.insert(it.key());
  runs_.clear();
  emit seriesChanged(all);
}

QStringList CurveData::names(const QList<qint64>& runIds) const {
  QSet<QString> set;
  for (auto it = runs_.begin(); it != runs_.end(); ++it) {
    if (!runIds.isEmpty() && !runIds.contains(it.key())) continue;
    for (auto s = it->series.begin(); s != it->series.end(); ++s) set.insert(s.key());
  }
  QStringList out(set.begin(), set.end());
  std::sort(out.begin(), out.end());
  return out;
}

const QVector<CurvePoint>& CurveData::series(qint64 runId, const QString& name) const {
  static const QVector<CurvePoint> empty;
  auto it = runs_.find(runId);
  if (it == runs_.end()) return empty;
  auto s = it->series.find(name);
  return s == it->series.end() ? empty : *s;
}

qint64 CurveData::pointCount() const {
  qint64 n = 0;
  for (const RunSeries& rs : runs_)
    for (const auto& s : rs.series) n += s.size();
  return n;
}

}  // namespace rr::views
