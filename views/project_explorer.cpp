#include "views/project_explorer.h"

#include "core/errors.h"
#include "core/store/experiment_store.h"
#include "views/curve_data.h"

#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QPainter>
#include <QPixmap>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace rr::views {

namespace {
enum Kind { GroupItem = 0, DatasetItem, RunItem, AnalysisItem, ConfigItem };
constexpr int KindRole = Qt::UserRole;
constexpr int IdRole = Qt::UserRole + 1;

QIcon swatch(const QColor& c) {
  QPixmap pm(12, 12);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setRenderHint(QPainter::Antialiasing);
  p.setBrush(c);
  p.setPen(c.darker(130));
  p.drawEllipse(1, 1, 10, 10);
  return QIcon(pm);
}
}  // namespace

ProjectExplorer::ProjectExplorer(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("ProjectExplorer"));
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  header_ = new QLabel;
  header_->setWordWrap(true);
  l->addWidget(header_);
  tree_ = new QTreeWidget;
  tree_->setHeaderLabels({tr("Item"), tr("Details")});
  tree_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  // Fixed, interactive column widths: content-sized columns would widen the dock (and squeeze
  // the curves) every time a run's details change.
  tree_->header()->setSectionResizeMode(0, QHeaderView::Interactive);
  tree_->header()->setStretchLastSection(true);
  tree_->setColumnWidth(0, 170);
  tree_->setUniformRowHeights(true);
  l->addWidget(tree_, 1);
  connect(tree_, &QTreeWidget::itemSelectionChanged, this, [this] {
    if (updating_) return;
    QList<qint64> ids;
    for (QTreeWidgetItem* i : tree_->selectedItems())
      if (i->data(0, KindRole).toInt() == RunItem) ids.append(i->data(0, IdRole).toLongLong());
    if (!ids.isEmpty()) emit runsSelected(ids);
  });
  connect(tree_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* i, int) {
    const qint64 id = i->data(0, IdRole).toLongLong();
    switch (i->data(0, KindRole).toInt()) {
      case DatasetItem: emit datasetActivated(id); break;
      case ConfigItem: emit savedConfigActivated(id); break;
      default: break;
    }
  });
}

void ProjectExplorer::reload(ExperimentStore* store, const QString& projectName, const QString& projectDir) {
  updating_ = true;
  tree_->clear();
  header_->setText(projectDir.isEmpty() ? tr("No project open")
                                        : QStringLiteral("<b>%1</b><br><small>%2</small>").arg(projectName.toHtmlEscaped(), projectDir.toHtmlEscaped()));
  datasets_ = new QTreeWidgetItem(tree_, {tr("Datasets")});
  runs_ = new QTreeWidgetItem(tree_, {tr("Runs")});
  analyses_ = new QTreeWidgetItem(tree_, {tr("Analyses")});
  configs_ = new QTreeWidgetItem(tree_, {tr("Saved configurations")});
  for (QTreeWidgetItem* g : {datasets_, runs_, analyses_, configs_}) {
    QFont f = g->font(0);
    f.setBold(true);
    g->setFont(0, f);
    g->setFlags(Qt::ItemIsEnabled);
  }
  if (store) {
    try {
      for (const DatasetRecord& d : store->datasets()) {
        auto* i = new QTreeWidgetItem(datasets_, {d.name, tr("%1 users · %2 items · %3 interactions")
                                                               .arg(d.stats.users)
                                                               .arg(d.stats.items)
                                                               .arg(d.stats.interactions)});
        i->setData(0, KindRole, DatasetItem);
        i->setData(0, IdRole, d.id);
        i->setToolTip(0, tr("%1 (%2)\navg length %3, sparsity %4 %")
                             .arg(d.sourcePath, d.format)
                             .arg(d.stats.avgLength, 0, 'f', 1)
                             .arg(100 * d.stats.sparsity, 0, 'f', 2));
      }
      for (const RunRecord& r : store->runs()) {
        QString details = runStatusName(r.status);
        // A run trained further (resume --epochs) keeps its earlier test figures until it is
        // evaluated again: while it trains, its epoch says more.
        const bool training = isActiveStatus(r.status);
        if (r.test.contains(QStringLiteral("ndcg@10")) && !training)
          details += tr(" · test NDCG@10 %1").arg(r.test.value(QStringLiteral("ndcg@10")), 0, 'f', 4);
        else if (r.epochsRun > 0)
          details += tr(" · epoch %1").arg(r.epochsRun);
        auto* i = new QTreeWidgetItem(runs_, {runLabel(r), details});
        i->setIcon(0, swatch(runColor(r.id)));
        i->setData(0, KindRole, RunItem);
        i->setData(0, IdRole, r.id);
        if (!r.error.isEmpty()) i->setToolTip(1, r.error);
      }
      for (const AnalysisRecord& a : store->analyses()) {
        QStringList ids;
        for (qint64 id : a.runIds) ids.append(QStringLiteral("#%1").arg(id));
        auto* i = new QTreeWidgetItem(analyses_, {a.kind, tr("runs %1 · %2").arg(ids.join(QStringLiteral(", ")),
                                                                                 a.createdAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")))});
        i->setData(0, KindRole, AnalysisItem);
        i->setData(0, IdRole, a.id);
      }
      for (const SavedConfigRecord& c : store->savedConfigs()) {
        auto* i = new QTreeWidgetItem(configs_, {c.name, c.config.value(QStringLiteral("preset")).toString()});
        i->setData(0, KindRole, ConfigItem);
        i->setData(0, IdRole, c.id);
        i->setToolTip(0, tr("Double-click to load into the run configuration"));
      }
    } catch (const Error& e) {
      header_->setText(header_->text() + QStringLiteral("<br><span style='color:#c02020'>%1</span>").arg(e.message().toHtmlEscaped()));
    }
  }
  for (QTreeWidgetItem* g : {datasets_, runs_, analyses_, configs_}) {
    g->setText(1, QString::number(g->childCount()));
    g->setExpanded(true);
  }
  updating_ = false;
}

int ProjectExplorer::count(const QString& group) const {
  QTreeWidgetItem* g = group == QLatin1String("datasets") ? datasets_
                       : group == QLatin1String("runs")   ? runs_
                       : group == QLatin1String("analyses") ? analyses_
                                                            : configs_;
  return g ? g->childCount() : 0;
}

void ProjectExplorer::selectRuns(const QList<qint64>& ids) {
  if (!runs_) return;
  updating_ = true;
  for (int i = 0; i < runs_->childCount(); ++i) {
    QTreeWidgetItem* it = runs_->child(i);
    it->setSelected(ids.contains(it->data(0, IdRole).toLongLong()));
  }
  updating_ = false;
}

}  // namespace rr::views
