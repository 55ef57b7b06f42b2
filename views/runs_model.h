#pragma once
/// \file
/// \brief The runs table: a QAbstractTableModel over the store's runs (reloaded from the store,
/// so it shows the same after a restart), live progress of running ones, editable name, tags
/// and notes written back to the store; and the filter proxy (text over all columns + status).
/// Thread: GUI thread.

#include "core/jobs/job.h"
#include "core/store/records.h"

#include <QAbstractTableModel>
#include <QDateTime>
#include <QHash>
#include <QSortFilterProxyModel>
#include <memory>

namespace rr {
class ExperimentStore;
}

namespace rr::views {

/// The job log's line for a run another process trains, when its stored row moved from
/// `before` (nullptr: the run is new to the studio) to `now`: it started, finished an epoch
/// (with its validation figure), or ended. Empty when there is nothing to say.
QString followedRunLogLine(const RunRecord* before, const RunRecord& now);

class RunsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column {
    Id, Name, Status, Progress, Preset, Dataset, Stage, Epochs, BestValid, LastValid, TestNdcg, TestRecall,
    Tags, Notes, Device, Wall, Created, ColumnCount
  };
  /// Role giving the run id of a row (qint64).
  static constexpr int RunIdRole = Qt::UserRole + 1;
  /// Role giving the RunStatus (int) of a row.
  static constexpr int StatusRole = Qt::UserRole + 2;

  explicit RunsModel(QObject* parent = nullptr);
  ~RunsModel() override;

  /// Opens the project's store on this thread (empty path closes it) and reloads.
  void setDatabase(const QString& databasePath);
  /// Re-reads every run from the store, keeping live progress of running ones.
  void reload();
  /// Live progress text of a running run (from the job bridge); empty clears it.
  void setLiveProgress(qint64 runId, const QString& text, double fraction);
  /// Repaints the progress cells that count down an ETA (runs trained by other processes).
  void refreshEtas();

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  /// Name, tags (comma-separated) and notes are written to the store.
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

  const QVector<rr::RunRecord>& runs() const { return runs_; }
  int rowOfRun(qint64 runId) const;
  const rr::RunRecord* run(qint64 runId) const;
  rr::ExperimentStore* store() const { return store_.get(); }
  /// The message of the last failed store write (empty when none).
  QString lastError() const { return lastError_; }

 private:
  QString metricText(const rr::RunRecord& r, const QMap<QString, double>& m) const;
  /// Running or paused without live progress from this studio: trained by another process.
  bool isActive(const rr::RunRecord& r) const;
  std::unique_ptr<rr::ExperimentStore> store_;
  QVector<rr::RunRecord> runs_;
  QHash<qint64, QString> datasetNames_;
  QHash<qint64, QPair<QString, double>> live_;
  QHash<qint64, QDateTime> stageEnd_;  ///< estimatedStageEnd() of runs other processes train
  QString lastError_;
};

/// \brief Filters rows by text (any column) and by status; sorts numerically where it matters.
class RunsFilterModel : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  using QSortFilterProxyModel::QSortFilterProxyModel;
  /// -1 = every status, else a RunStatus value.
  void setStatusFilter(int status);
  void setText(const QString& text);

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
  bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

 private:
  int status_ = -1;
  QString text_;
};

}  // namespace rr::views
