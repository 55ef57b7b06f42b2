#include "views/runs_model.h"

#include "core/errors.h"
#include "core/store/experiment_store.h"
#include "views/curve_data.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QJsonArray>
#include <cmath>

namespace rr::views {

namespace {
QString statusText(RunStatus s) { return runStatusName(s); }

QColor statusColor(RunStatus s) {
  switch (s) {
    case RunStatus::Running: return QColor(0, 120, 200);
    case RunStatus::Paused: return QColor(200, 140, 0);
    case RunStatus::Completed: return QColor(0, 130, 60);
    case RunStatus::Failed: return QColor(200, 30, 30);
    case RunStatus::Interrupted: return QColor(170, 90, 0);
    default: return QColor(90, 90, 90);
  }
}

QString duration(double seconds) {
  if (seconds <= 0) return {};
  if (seconds < 59.5) return QStringLiteral("%1 s").arg(std::llround(seconds));
  return formatClock(seconds);
}
}  // namespace

QString followedRunLogLine(const RunRecord* before, const RunRecord& now) {
  const QString who = QStringLiteral("[%1, another process] ").arg(runLabel(now));
  const bool wasActive = before && isActiveStatus(before->status);
  if (isActiveStatus(now.status)) {
    const QString progress = stageProgressText(now);
    if (!wasActive) return who + QObject::tr("training: %1").arg(progress);
    if (now.stage != before->stage) return who + progress;  // e.g. spt -> rpt
    if (now.epochsRun <= before->epochsRun) return {};
    const QString metric = now.config.value(QStringLiteral("train")).toObject().value(QStringLiteral("metric")).toString(QStringLiteral("ndcg@10"));
    QString line = who + progress;
    if (now.lastValid.contains(metric))
      line += QObject::tr(": valid %1 = %2 (best %3 @ %4)")
                  .arg(metric)
                  .arg(now.lastValid.value(metric), 0, 'f', 4)
                  .arg(now.bestValid.value(metric), 0, 'f', 4)
                  .arg(now.bestEpoch);
    return line;
  }
  if (!wasActive) return {};
  switch (now.status) {
    case RunStatus::Completed: {
      QString line = who + QObject::tr("completed");
      if (now.test.contains(QStringLiteral("ndcg@10")))
        line += QObject::tr(" · test NDCG@10 %1").arg(now.test.value(QStringLiteral("ndcg@10")), 0, 'f', 4);
      return line;
    }
    case RunStatus::Interrupted:
      return who + QObject::tr("interrupted: its process stopped without finishing (Run > Start / resume, F5, continues it)");
    case RunStatus::Failed: return who + QObject::tr("failed: %1").arg(now.error);
    default: return who + runStatusName(now.status);
  }
}

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}
RunsModel::~RunsModel() = default;

void RunsModel::setDatabase(const QString& databasePath) {
  beginResetModel();
  store_.reset();
  runs_.clear();
  live_.clear();
  if (!databasePath.isEmpty()) store_ = std::make_unique<ExperimentStore>(databasePath);
  endResetModel();
  reload();
}

void RunsModel::reload() {
  beginResetModel();
  runs_.clear();
  datasetNames_.clear();
  stageEnd_.clear();
  if (store_) {
    try {
      runs_ = store_->runs();
      for (const DatasetRecord& d : store_->datasets()) datasetNames_.insert(d.id, d.name);
      for (const RunRecord& r : runs_)
        if (isActive(r) && r.status == RunStatus::Running) {
          const QDateTime end = estimatedStageEnd(r, store_->metrics(r.id, QStringLiteral("time/epoch_seconds")), stageEpochs(r));
          if (end.isValid()) stageEnd_.insert(r.id, end);
        }
    } catch (const Error& e) {
      lastError_ = e.message();
    }
  }
  endResetModel();
}

void RunsModel::setLiveProgress(qint64 runId, const QString& text, double fraction) {
  if (text.isEmpty())
    live_.remove(runId);
  else
    live_.insert(runId, {text, fraction});
  const int row = rowOfRun(runId);
  if (row >= 0) emit dataChanged(index(row, Progress), index(row, Progress));
}

void RunsModel::refreshEtas() {
  for (auto it = stageEnd_.cbegin(); it != stageEnd_.cend(); ++it) {
    const int row = rowOfRun(it.key());
    if (row >= 0) emit dataChanged(index(row, Progress), index(row, Progress));
  }
}

int RunsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : runs_.size(); }
int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

int RunsModel::rowOfRun(qint64 runId) const {
  for (int i = 0; i < runs_.size(); ++i)
    if (runs_[i].id == runId) return i;
  return -1;
}

const RunRecord* RunsModel::run(qint64 runId) const {
  const int row = rowOfRun(runId);
  return row < 0 ? nullptr : &runs_[row];
}

QString RunsModel::metricText(const RunRecord& r, const QMap<QString, double>& m) const {
  const QString metric = r.config.value(QStringLiteral("train")).toObject().value(QStringLiteral("metric")).toString(QStringLiteral("ndcg@10"));
  if (!m.contains(metric)) return {};
  return QStringLiteral("%1 %2").arg(metric).arg(m.value(metric), 0, 'f', 4);
}

bool RunsModel::isActive(const RunRecord& r) const {
  return !live_.contains(r.id) && isActiveStatus(r.status);
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= runs_.size()) return {};
  const RunRecord& r = runs_[index.row()];
  if (role == RunIdRole) return r.id;
  if (role == StatusRole) return static_cast<int>(r.status);
  const int col = index.column();
  if (role == Qt::DecorationRole && col == Id) return runColor(r.id);
  if (role == Qt::ForegroundRole && col == Status) return QBrush(statusColor(r.status));
  // A run trained further (resume --epochs, Train further) keeps the test figures of its
  // earlier end until it is evaluated again: grey while it trains.
  const bool staleTest = (col == TestNdcg || col == TestRecall) && !r.test.isEmpty() && isActiveStatus(r.status);
  if (role == Qt::ForegroundRole && staleTest) return QBrush(QColor(140, 140, 140));
  if (role == Qt::ToolTipRole && staleTest)
    return tr("From the model of its earlier end; evaluated again when this training ends.");
  if (role == Qt::TextAlignmentRole &&
      (col == Id || col == Epochs || col == TestNdcg || col == TestRecall || col == Wall))
    return int(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    if (col == Status && !r.error.isEmpty()) return r.error;
    if (col == Notes) return r.notes;
    if (col == Progress)
      return live_.contains(r.id) ? live_.value(r.id).first
             : isActive(r)        ? tr("Trained by another process (e.g. reasonrec train); the studio follows "
                                       "its epochs and curves but cannot pause or stop it. The ETA is for all "
                                       "of the stage's epochs at the pace of its last ones; early stopping or "
                                       "a time limit may end it sooner.")
                                  : QString();
  }
  if (role == Qt::UserRole && col == Progress) {
    if (live_.contains(r.id)) return live_.value(r.id).second;
    const int total = stageEpochs(r);
    return isActive(r) && total > 0 ? std::min(1.0, r.epochsRun / static_cast<double>(total)) : -1.0;
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  switch (col) {
    case Id: return r.id;
    case Name: return r.name;
    case Status: return statusText(r.status);
    case Progress:
      if (live_.contains(r.id)) return live_.value(r.id).first;
      if (r.status == RunStatus::Completed) return tr("done");
      if (isActive(r)) {  // trained elsewhere: what the store says
        QString text = stageProgressText(r);
        const QDateTime end = stageEnd_.value(r.id);
        const qint64 left = end.isValid() ? QDateTime::currentDateTimeUtc().secsTo(end) : -1;
        if (left > 0) text += tr(" · ETA %1").arg(formatClock(static_cast<double>(left)));
        return text;
      }
      return {};
    case Preset: return r.preset;
    case Dataset: return datasetNames_.value(r.datasetId, QStringLiteral("#%1").arg(r.datasetId));
    case Stage: return r.stage;
    case Epochs: return r.epochsRun > 0 ? QStringLiteral("%1 (best %2)").arg(r.epochsRun).arg(r.bestEpoch) : QString();
    case BestValid: return metricText(r, r.bestValid);
    case LastValid: return metricText(r, r.lastValid);
    case TestNdcg:
      return r.test.contains(QStringLiteral("ndcg@10")) ? QString::number(r.test.value(QStringLiteral("ndcg@10")), 'f', 4) : QString();
    case TestRecall:
      return r.test.contains(QStringLiteral("recall@10")) ? QString::number(r.test.value(QStringLiteral("recall@10")), 'f', 4) : QString();
    case Tags: return r.tags.join(QStringLiteral(", "));
    case Notes: return role == Qt::EditRole ? r.notes : r.notes.section(QLatin1Char('\n'), 0, 0);
    case Device: return r.device;
    case Wall: return duration(r.wallSeconds);
    case Created: return r.createdAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    default: return {};
  }
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case BestValid: return tr("Validation early-stopping metric at the best epoch");
      case LastValid: return tr("Validation early-stopping metric of the last epoch");
      case TestNdcg: return tr("Test NDCG@10 of the final model (full ranking)");
      case TestRecall: return tr("Test Recall@10 of the final model (full ranking)");
      case Tags: return tr("Comma-separated; double-click to edit");
      case Notes: return tr("Free text; double-click to edit");
      default: return {};
    }
  }
  if (role != Qt::DisplayRole) return {};
  static const char* names[] = {"ID", "Name", "Status", "Progress", "Preset", "Dataset", "Stage", "Epochs",
                                "Best valid", "Last valid", "Test NDCG@10", "Test Recall@10", "Tags", "Notes",
                                "Device", "Wall time", "Created"};
  return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

Qt::ItemFlags RunsModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (index.column() == Name || index.column() == Tags || index.column() == Notes) f |= Qt::ItemIsEditable;
  return f;
}

bool RunsModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || role != Qt::EditRole || !store_) return false;
  RunRecord& r = runs_[index.row()];
  try {
    switch (index.column()) {
      case Name:
        store_->setRunName(r.id, value.toString().trimmed());
        r.name = value.toString().trimmed();
        break;
      case Tags: {
        QStringList tags;
        for (const QString& t : value.toString().split(QLatin1Char(','), Qt::SkipEmptyParts))
          if (!t.trimmed().isEmpty() && !tags.contains(t.trimmed())) tags.append(t.trimmed());
        store_->setRunTags(r.id, tags);
        r.tags = tags;
        break;
      }
      case Notes:
        store_->setRunNotes(r.id, value.toString());
        r.notes = value.toString();
        break;
      default: return false;
    }
  } catch (const Error& e) {
    lastError_ = e.message();
    return false;
  }
  emit dataChanged(index, index);
  return true;
}

// ---------------------------------------------------------------------------------------------

void RunsFilterModel::setStatusFilter(int status) {
  status_ = status;
  invalidateFilter();
}

void RunsFilterModel::setText(const QString& text) {
  text_ = text.trimmed();
  invalidateFilter();
}

bool RunsFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
  const QAbstractItemModel* m = sourceModel();
  if (status_ >= 0 && m->index(sourceRow, 0, sourceParent).data(RunsModel::StatusRole).toInt() != status_) return false;
  if (text_.isEmpty()) return true;
  // Every word must occur in some column ("lares done" finds completed LARES runs).
  for (const QString& word : text_.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
    bool found = false;
    for (int c = 0; c < m->columnCount() && !found; ++c)
      found = m->index(sourceRow, c, sourceParent).data(Qt::DisplayRole).toString().contains(word, Qt::CaseInsensitive);
    if (!found) return false;
  }
  return true;
}

bool RunsFilterModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
  const QVariant a = left.data(Qt::DisplayRole), b = right.data(Qt::DisplayRole);
  bool okA = false, okB = false;
  const double x = a.toString().section(QLatin1Char(' '), -1).toDouble(&okA);
  const double y = b.toString().section(QLatin1Char(' '), -1).toDouble(&okB);
  if (left.column() == RunsModel::Id) return a.toLongLong() < b.toLongLong();
  if (okA && okB) return x < y;
  return QString::localeAwareCompare(a.toString(), b.toString()) < 0;
}

}  // namespace rr::views
