#pragma once
/// \file
/// \brief The project explorer: datasets, runs (in their run colours, with status), analyses
/// and saved configurations of the open project, read from its store. Thread: GUI thread.

#include <QWidget>

class QTreeWidget;
class QTreeWidgetItem;
class QLabel;

namespace rr {
class ExperimentStore;
}

namespace rr::views {

class ProjectExplorer : public QWidget {
  Q_OBJECT
 public:
  explicit ProjectExplorer(QWidget* parent = nullptr);
  /// Re-reads the lists from `store` (null: empty tree).
  void reload(rr::ExperimentStore* store, const QString& projectName, const QString& projectDir);
  QTreeWidget* tree() const { return tree_; }
  /// Number of children under a top-level group ("datasets", "runs", "analyses", "configs").
  int count(const QString& group) const;
  void selectRuns(const QList<qint64>& ids);

 signals:
  void runsSelected(const QList<qint64>& ids);
  void datasetActivated(qint64 id);
  void savedConfigActivated(qint64 id);

 private:
  QTreeWidget* tree_;
  QLabel* header_;
  QTreeWidgetItem* datasets_ = nullptr;
  QTreeWidgetItem* runs_ = nullptr;
  QTreeWidgetItem* analyses_ = nullptr;
  QTreeWidgetItem* configs_ = nullptr;
  bool updating_ = false;
};

}  // namespace rr::views
