#pragma once
/// \file
/// \brief The runs table panel: filter box, status filter, column chooser (header context
/// menu, remembered in QSettings), multi-select, and a toolbar the main window fills with its
/// run actions. Thread: GUI thread.

#include "views/runs_model.h"

#include <QWidget>

class QComboBox;
class QLineEdit;
class QTableView;
class QToolBar;

namespace rr::views {

class RunsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit RunsPanel(RunsModel* model, QWidget* parent = nullptr);
  QToolBar* toolBar() const { return toolbar_; }
  QTableView* view() const { return view_; }
  RunsFilterModel* proxy() const { return proxy_; }
  /// Selected run ids, in row order of the view.
  QList<qint64> selectedRuns() const;
  void selectRuns(const QList<qint64>& ids);
  void setColumnShown(int column, bool shown);
  bool isColumnShown(int column) const;
  /// Writes the visible columns of the filtered rows as CSV; empty string on success.
  QString exportCsv(const QString& path) const;

 signals:
  void selectionChanged(const QList<qint64>& runs);
  void runActivated(qint64 runId);

 private:
  void saveColumns() const;
  RunsModel* model_;
  RunsFilterModel* proxy_;
  QTableView* view_;
  QToolBar* toolbar_;
  QLineEdit* filter_;
  QComboBox* statusFilter_;
};

}  // namespace rr::views
