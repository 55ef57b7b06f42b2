#include "views/runs_panel.h"

#include "views/chart_export.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSettings>
#include <QStyledItemDelegate>
#include <QStyleOptionProgressBar>
#include <QApplication>
#include <QPainter>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>

namespace rr::views {

namespace {
const char* kColumnsKey = "runsTable/hiddenColumns";

/// Draws the live progress column as a progress bar with its text.
class ProgressDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    const double fraction = index.data(Qt::UserRole).toDouble();
    if (fraction < 0) {
      QStyledItemDelegate::paint(painter, option, index);
      return;
    }
    QStyleOptionProgressBar bar;
    bar.rect = option.rect.adjusted(2, 2, -2, -2);
    bar.minimum = 0;
    bar.maximum = 1000;
    bar.progress = static_cast<int>(fraction * 1000);
    bar.text = index.data(Qt::DisplayRole).toString();
    bar.textVisible = true;
    // Centred, the text is drawn over the whole bar; any other alignment makes the style keep a
    // "100%"-wide label box beside a shortened bar, which cut "spt epoch 5 / 30 · ETA ..." off.
    bar.textAlignment = Qt::AlignCenter;
    bar.state = option.state | QStyle::State_Horizontal;
    QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, painter);
  }
};
}  // namespace

RunsPanel::RunsPanel(RunsModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  setObjectName(QStringLiteral("RunsPanel"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* top = new QHBoxLayout;
  toolbar_ = new QToolBar;
  toolbar_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  toolbar_->setIconSize(QSize(16, 16));
  top->addWidget(toolbar_, 1);
  filter_ = new QLineEdit;
  filter_->setPlaceholderText(tr("Filter runs (words match any column)"));
  filter_->setClearButtonEnabled(true);
  filter_->setMaximumWidth(260);
  top->addWidget(filter_);
  statusFilter_ = new QComboBox;
  statusFilter_->addItem(tr("All statuses"), -1);
  for (RunStatus s : {RunStatus::Queued, RunStatus::Running, RunStatus::Paused, RunStatus::Completed, RunStatus::Failed,
                      RunStatus::Cancelled, RunStatus::Interrupted})
    statusFilter_->addItem(runStatusName(s), static_cast<int>(s));
  top->addWidget(statusFilter_);
  layout->addLayout(top);

  proxy_ = new RunsFilterModel(this);
  proxy_->setSourceModel(model_);
  proxy_->setSortRole(Qt::DisplayRole);
  view_ = new QTableView;
  view_->setModel(proxy_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->setSortingEnabled(true);
  view_->sortByColumn(RunsModel::Id, Qt::DescendingOrder);
  view_->setAlternatingRowColors(true);
  view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(22);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->horizontalHeader()->setContextMenuPolicy(Qt::CustomContextMenu);
  view_->setItemDelegateForColumn(RunsModel::Progress, new ProgressDelegate(view_));
  view_->setColumnWidth(RunsModel::Id, 56);
  view_->setColumnWidth(RunsModel::Name, 150);
  view_->setColumnWidth(RunsModel::Progress, 220);
  view_->setColumnWidth(RunsModel::BestValid, 130);
  view_->setColumnWidth(RunsModel::LastValid, 130);
  layout->addWidget(view_, 1);

  // Column chooser.
  const QStringList hidden = QSettings().value(QLatin1String(kColumnsKey),
                                               QStringList{QString::number(RunsModel::Device), QString::number(RunsModel::Created)})
                                 .toStringList();
  for (const QString& c : hidden) view_->setColumnHidden(c.toInt(), true);
  connect(view_->horizontalHeader(), &QHeaderView::customContextMenuRequested, this, [this](const QPoint& pos) {
    QMenu menu(this);
    menu.addSection(tr("Columns"));
    for (int c = 0; c < RunsModel::ColumnCount; ++c) {
      QAction* a = menu.addAction(model_->headerData(c, Qt::Horizontal).toString());
      a->setCheckable(true);
      a->setChecked(isColumnShown(c));
      a->setEnabled(c != RunsModel::Id);
      connect(a, &QAction::toggled, this, [this, c](bool on) { setColumnShown(c, on); });
    }
    menu.exec(view_->horizontalHeader()->mapToGlobal(pos));
  });

  connect(filter_, &QLineEdit::textChanged, proxy_, &RunsFilterModel::setText);
  connect(statusFilter_, &QComboBox::currentIndexChanged, this,
          [this](int) { proxy_->setStatusFilter(statusFilter_->currentData().toInt()); });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          [this] { emit selectionChanged(selectedRuns()); });
  connect(view_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
    if (!(index.flags() & Qt::ItemIsEditable)) emit runActivated(index.data(RunsModel::RunIdRole).toLongLong());
  });
}

QList<qint64> RunsPanel::selectedRuns() const {
  QList<qint64> ids;
  QModelIndexList rows = view_->selectionModel()->selectedRows();
  std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
  for (const QModelIndex& i : rows) ids.append(i.data(RunsModel::RunIdRole).toLongLong());
  return ids;
}

void RunsPanel::selectRuns(const QList<qint64>& ids) {
  QItemSelection sel;
  for (qint64 id : ids) {
    const int row = model_->rowOfRun(id);
    if (row < 0) continue;
    const QModelIndex i = proxy_->mapFromSource(model_->index(row, 0));
    if (i.isValid()) sel.select(i, i);
  }
  view_->selectionModel()->select(sel, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

void RunsPanel::setColumnShown(int column, bool shown) {
  view_->setColumnHidden(column, !shown);
  saveColumns();
}

bool RunsPanel::isColumnShown(int column) const { return !view_->isColumnHidden(column); }

void RunsPanel::saveColumns() const {
  QStringList hidden;
  for (int c = 0; c < RunsModel::ColumnCount; ++c)
    if (view_->isColumnHidden(c)) hidden.append(QString::number(c));
  QSettings().setValue(QLatin1String(kColumnsKey), hidden);
}

QString RunsPanel::exportCsv(const QString& path) const {
  QVector<int> cols;
  for (int c = 0; c < RunsModel::ColumnCount; ++c)
    if (isColumnShown(c) && c != RunsModel::Progress) cols.append(c);
  return writeModelCsv(path, *proxy_, cols);
}

}  // namespace rr::views
