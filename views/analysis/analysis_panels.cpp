#include "views/analysis/analysis_panels.h"

#include "core/analysis/analysis_job.h"
#include "core/errors.h"
#include "core/jobs/train_job.h"
#include "core/project/project.h"
#include "core/project/stored_config.h"
#include "core/store/experiment_store.h"
#include "views/analysis/analysis_charts.h"
#include "views/panel_registry.h"
#include "views/studio_context.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QCheckBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace rr::views {

namespace {

std::unique_ptr<ExperimentStore> openStore(const StudioContext& ctx) {
  if (ctx.projectDir().isEmpty()) return nullptr;
  return std::make_unique<ExperimentStore>(Project::openOrCreate(ctx.projectDir()).databasePath());
}

QCustomPlot* newPlot(QWidget* parent, int minHeight = 220) {
  auto* p = new QCustomPlot(parent);
  p->setMinimumHeight(minHeight);
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  return p;
}

QTableWidget* newTable(QWidget* parent) {
  auto* t = new QTableWidget(parent);
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->verticalHeader()->setVisible(false);
  // Columns take their contents' width; stretching the last one set a number apart from its header.
  t->horizontalHeader()->setStretchLastSection(false);
  return t;
}

void fillTable(QTableWidget* t, const QStringList& headers, const QVector<QStringList>& rows) {
  t->clear();
  t->setColumnCount(headers.size());
  // Two-line headers ("b1 × first" over two lines): the columns then take the width of their
  // values, so wide tables (efficiency: 12 columns) fit a panel beside the runs list.
  QStringList wrapped;
  for (const QString& h : headers) {
    const int space = h.indexOf(QLatin1Char(' '));
    wrapped.append(space > 0 ? h.left(space) + QLatin1Char('\n') + h.mid(space + 1) : h);
  }
  t->setHorizontalHeaderLabels(wrapped);
  t->setRowCount(rows.size());
  for (int r = 0; r < rows.size(); ++r)
    for (int c = 0; c < rows[r].size() && c < headers.size(); ++c) {
      auto* item = new QTableWidgetItem(rows[r][c]);
      if (c > 0) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      t->setItem(r, c, item);
    }
  t->resizeColumnsToContents();
}

QString n4(double v) { return QString::number(v, 'f', 4); }

/// Empties plots and tables, so that a project without results of a kind never goes on
/// showing the previous project's (or a deleted result's) figures. The plots lose their axes
/// too: an empty 0–5 grid looked like a chart of nothing (the status line says what to do).
void blank(std::initializer_list<QCustomPlot*> plots, std::initializer_list<QTableWidget*> tables) {
  for (auto* p : plots) {
    resetPlot(p);
    hideAxes(p);
    p->replot();
  }
  for (auto* t : tables) {
    t->clear();
    t->setRowCount(0);
    t->setColumnCount(0);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AnalysisPanelBase

AnalysisPanelBase::AnalysisPanelBase(StudioContext& context, QString kind, QWidget* parent)
    : QWidget(parent), context_(context), kind_(std::move(kind)) {
  auto* layout = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  runButton_ = new QPushButton(tr("Run on selected runs"), this);
  runButton_->setToolTip(tr("Computes the %1 analysis for the runs selected in the runs table; the result is stored in the project.")
                             .arg(analysisKindTitle(kind_)));
  params_ = new QLineEdit(this);
  params_->setPlaceholderText(tr("parameters, e.g. %1").arg(analysisParamNames(kind_).mid(0, 3).join(QStringLiteral("=…; "))) + QStringLiteral("=…"));
  params_->setToolTip(tr("KEY=VALUE pairs separated by ';'. Parameters: %1").arg(analysisParamNames(kind_).join(QStringLiteral(", "))));
  stored_ = new QComboBox(this);
  stored_->setMinimumContentsLength(28);
  stored_->setToolTip(tr("Stored results of this analysis, newest first"));
  bar->addWidget(runButton_);
  bar->addWidget(params_, 1);
  bar->addWidget(new QLabel(tr("Result:"), this));
  bar->addWidget(stored_, 1);
  layout->addLayout(bar);
  body_ = new QWidget(this);
  layout->addWidget(body_, 1);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  layout->addWidget(status_);

  connect(runButton_, &QPushButton::clicked, this, [this] { runAnalysis(); });
  connect(stored_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
    if (index < 0) return;
    const qint64 id = stored_->itemData(index).toLongLong();
    if (id == shownId_) return;
    try {
      auto store = openStore(context_);
      if (!store) return;
      const AnalysisRecord rec = store->analysis(id);
      shownId_ = id;
      showResult(rec);
    } catch (const Error& e) {
      status_->setText(e.message());
    }
  });
  connect(&context_, &StudioContext::projectChanged, this, [this] { reload(); });
  connect(&context_, &StudioContext::jobFinished, this, [this](qint64 handle, bool ok, const QString& message) {
    if (!pending_.removeOne(handle)) return;
    status_->setText(ok ? tr("%1 finished.").arg(analysisKindTitle(kind_)) : tr("%1 failed: %2").arg(analysisKindTitle(kind_), message));
    if (ok) reload();
  });
  // Subclasses call reload() once their widgets exist (showResult is theirs).
}

void AnalysisPanelBase::reload(qint64 selectId) {
  QSignalBlocker block(stored_);
  stored_->clear();
  shownId_ = 0;
  std::unique_ptr<ExperimentStore> store;
  try {
    store = openStore(context_);
  } catch (const Error& e) {
    status_->setText(e.message());
  }
  if (!store) {
    clearResult();
    return;
  }
  const auto records = store->analyses(kind_);
  int select = 0;
  for (int i = 0; i < records.size(); ++i) {
    QStringList ids;
    for (qint64 id : records[i].runIds) ids.append(QString::number(id));
    stored_->addItem(tr("#%1 — runs %2 — %3").arg(records[i].id).arg(ids.join(QStringLiteral(", ")), records[i].createdAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd hh:mm"))),
                     records[i].id);
    if (records[i].id == selectId) select = i;
  }
  if (records.isEmpty()) {
    clearResult();
    status_->setText(tr("No stored %1 results yet: select runs and press \"Run on selected runs\".").arg(analysisKindTitle(kind_).toLower()));
    return;
  }
  stored_->setCurrentIndex(select);
  shownId_ = records[select].id;
  showResult(records[select]);
}

bool AnalysisPanelBase::runAnalysis() {
  const QList<qint64> runs = context_.selectedRuns();
  if (context_.projectDir().isEmpty() || runs.isEmpty()) {
    status_->setText(tr("Select one or more trained runs first."));
    return false;
  }
  AnalysisRequest req;
  req.projectDir = context_.projectDir();
  req.kind = kind_;
  for (qint64 id : runs) req.runIds.append(id);
  try {
    req.params = parseAnalysisParams(kind_, params_->text().split(QLatin1Char(';'), Qt::SkipEmptyParts));
  } catch (const Error& e) {
    status_->setText(e.message());
    return false;
  }
  status_->setText(tr("Running %1…").arg(analysisKindTitle(kind_).toLower()));
  pending_.append(context_.submitJob(std::make_unique<AnalysisJob>(req)));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Oracle

OraclePanel::OraclePanel(StudioContext& context, QWidget* parent) : AnalysisPanelBase(context, QStringLiteral("oracle"), parent) {
  auto* l = new QVBoxLayout(body_);
  l->setContentsMargins(0, 0, 0, 0);
  plot_ = newPlot(body_, 260);
  table_ = newTable(body_);
  l->addWidget(plot_, 3);
  l->addWidget(table_, 2);
  reload();
}

void OraclePanel::showResult(const AnalysisRecord& record) {
  const OracleResult r = OracleResult::fromJson(record.result);
  plotOracle(plot_, r);
  QVector<QStringList> rows;
  for (const auto& x : r.runs) {
    const OracleRun::Candidate* best = nullptr;
    for (const auto& c : x.candidates)
      if (!c.final && (!best || c.ndcg > best->ndcg)) best = &c;
    rows.append({x.label, QStringLiteral("%1 × %2").arg(x.steps).arg(x.streams), n4(x.currentNdcg), n4(x.oracleNdcg),
                 n4(x.oracleNdcg - x.currentNdcg), n4(x.currentRecall), n4(x.oracleRecall), n4(x.oracleRecall - x.currentRecall),
                 best ? QStringLiteral("step %1 stream %2 (%3)").arg(best->step).arg(best->stream).arg(n4(best->ndcg)) : QStringLiteral("–")});
  }
  fillTable(table_, {tr("Run"), tr("Steps × streams"), tr("NDCG@%1").arg(r.k), tr("oracle"), tr("gap"), tr("Recall@%1").arg(r.k), tr("oracle"),
                     tr("gap"), tr("best single state (NDCG)")},
            rows);
  status_->setText(tr("Oracle: per %1 case the best rank over every step and stream output (and the final ranking).").arg(r.split));
}

void OraclePanel::clearResult() { blank({plot_}, {table_}); }

// ---------------------------------------------------------------------------------------------
// Robustness

RobustnessPanel::RobustnessPanel(StudioContext& context, QWidget* parent)
    : AnalysisPanelBase(context, QStringLiteral("robustness"), parent) {
  auto* l = new QVBoxLayout(body_);
  l->setContentsMargins(0, 0, 0, 0);
  auto* plots = new QHBoxLayout;
  ndcg_ = newPlot(body_);
  recall_ = newPlot(body_);
  plots->addWidget(ndcg_);
  plots->addWidget(recall_);
  l->addLayout(plots, 3);
  table_ = newTable(body_);
  l->addWidget(table_, 2);
  reload();
}

void RobustnessPanel::showResult(const AnalysisRecord& record) {
  const RobustnessResult r = RobustnessResult::fromJson(record.result);
  plotRobustness(ndcg_, r, true);
  plotRobustness(recall_, r, false);
  QVector<QStringList> rows;
  for (const auto& x : r.runs)
    for (int i = 0; i < x.drops.size(); ++i)
      rows.append({x.label, QStringLiteral("%1%").arg(100 * x.drops[i], 0, 'f', 0),
                   QStringLiteral("%1 ± %2").arg(n4(x.ndcgMean[i]), n4(x.ndcgStd.value(i))),
                   QStringLiteral("%1 ± %2").arg(n4(x.recallMean[i]), n4(x.recallStd.value(i))),
                   x.ndcgMean.first() > 0 ? QStringLiteral("%1%").arg(100 * (x.ndcgMean[i] / x.ndcgMean.first() - 1), 0, 'f', 1) : QStringLiteral("–")});
  fillTable(table_, {tr("Run"), tr("dropped"), tr("NDCG@%1").arg(r.k), tr("Recall@%1").arg(r.k), tr("NDCG change")}, rows);
  status_->setText(tr("%1 seeded repetitions per drop level (seed %2); error bars are ±1 standard deviation.").arg(r.repetitions).arg(r.seed));
}

void RobustnessPanel::clearResult() { blank({ndcg_, recall_}, {table_}); }

// ---------------------------------------------------------------------------------------------
// Depth and sweeps

DepthPanel::DepthPanel(StudioContext& context, QWidget* parent) : AnalysisPanelBase(context, QStringLiteral("depth"), parent) {
  auto* l = new QHBoxLayout(body_);
  l->setContentsMargins(0, 0, 0, 0);
  auto* left = new QGroupBox(tr("Test-time depth"), body_);
  auto* ll = new QVBoxLayout(left);
  depthMetric_ = new QComboBox(left);
  depthMetric_->addItems({QStringLiteral("ndcg@20"), QStringLiteral("recall@20"), QStringLiteral("ndcg@10"), QStringLiteral("recall@10")});
  ll->addWidget(depthMetric_);
  depthPlot_ = newPlot(left);
  ll->addWidget(depthPlot_, 1);
  l->addWidget(left, 1);

  auto* right = new QGroupBox(tr("Training-time sweep"), body_);
  auto* rl = new QVBoxLayout(right);
  grid_ = new QPlainTextEdit(right);
  grid_->setPlaceholderText(tr("One axis per line, KEY=V1,V2,...\nmodel.reasoner.streams=1,2,4\ntrain.div_weight=0,0.1,0.3"));
  grid_->setMaximumHeight(90);
  sweepName_ = new QLineEdit(right);
  sweepName_->setPlaceholderText(tr("sweep name"));
  auto* queue = new QPushButton(tr("Queue runs"), right);
  auto* queueTrain = new QPushButton(tr("Queue and train"), right);
  auto* qrow = new QHBoxLayout;
  qrow->addWidget(sweepName_, 1);
  qrow->addWidget(queue);
  qrow->addWidget(queueTrain);
  rl->addWidget(new QLabel(tr("Grid over configuration keys, starting from the first selected run:"), right));
  rl->addWidget(grid_);
  rl->addLayout(qrow);
  auto* srow = new QHBoxLayout;
  sweeps_ = new QComboBox(right);
  sweepKey_ = new QComboBox(right);
  sweepMetric_ = new QComboBox(right);
  sweepMetric_->addItems({QStringLiteral("ndcg@10"), QStringLiteral("ndcg@20"), QStringLiteral("recall@10"), QStringLiteral("recall@20")});
  srow->addWidget(sweeps_, 1);
  srow->addWidget(sweepKey_, 1);
  srow->addWidget(sweepMetric_);
  rl->addLayout(srow);
  sweepPlot_ = newPlot(right, 180);
  rl->addWidget(sweepPlot_, 1);
  sweepStatus_ = new QLabel(right);
  sweepStatus_->setWordWrap(true);
  rl->addWidget(sweepStatus_);
  l->addWidget(right, 1);

  connect(depthMetric_, &QComboBox::currentTextChanged, this, [this] {
    if (depthRecord_.id) showResult(depthRecord_);
  });
  connect(queue, &QPushButton::clicked, this, [this] { queueGrid(false); });
  connect(queueTrain, &QPushButton::clicked, this, [this] { queueGrid(true); });
  connect(sweeps_, &QComboBox::currentTextChanged, this, [this] { showSweep(); });
  connect(sweepKey_, &QComboBox::currentTextChanged, this, [this] {
    if (!sweepKey_->signalsBlocked()) showSweep();
  });
  connect(sweepMetric_, &QComboBox::currentTextChanged, this, [this] { showSweep(); });
  connect(&context_, &StudioContext::runsChanged, this, [this] { reloadSweeps(); });
  reload();
  reloadSweeps();
}

void DepthPanel::showResult(const AnalysisRecord& record) {
  depthRecord_ = record;
  const DepthResult r = DepthResult::fromJson(record.result);
  plotDepth(depthPlot_, r, depthMetric_->currentText());
  QStringList notes;
  for (const auto& x : r.runs)
    if (!x.supported) notes.append(tr("%1 has no reasoning depth to vary (shown as a flat line).").arg(x.label));
  status_->setText(notes.join(QLatin1Char(' ')));
}

void DepthPanel::clearResult() {
  depthRecord_ = AnalysisRecord();
  blank({depthPlot_}, {});
}

QVector<qint64> DepthPanel::queueGrid(bool train) {
  const QList<qint64> runs = context_.selectedRuns();
  if (runs.isEmpty()) {
    sweepStatus_->setText(tr("Select the run the sweep starts from."));
    return {};
  }
  try {
    QVector<SweepAxis> axes;
    for (const QString& line : grid_->toPlainText().split(QLatin1Char('\n'), Qt::SkipEmptyParts))
      if (!line.trimmed().isEmpty()) axes.append(parseSweepAxis(line.trimmed()));
    if (axes.isEmpty()) throw UsageError(tr("write at least one axis, e.g. model.reasoner.steps=1,2,3"));
    auto store = openStore(context_);
    const RunRecord base = store->run(runs.first());
    const QString name = sweepName_->text().trimmed().isEmpty() ? QStringLiteral("sweep-run%1").arg(base.id) : sweepName_->text().trimmed();
    const QVector<qint64> ids = queueSweep(*store, base.datasetId, storedRunConfig(base.config), axes, name);
    if (train)
      for (qint64 id : ids) context_.submitJob(std::make_unique<TrainJob>(context_.projectDir(), id));
    sweepStatus_->setText(tr("Queued %1 runs in sweep '%2'%3.").arg(ids.size()).arg(name, train ? tr(" and started their training") : QString()));
    reloadSweeps();
    sweeps_->setCurrentText(name);
    emit context_.runsChanged();
    return ids;
  } catch (const Error& e) {
    sweepStatus_->setText(e.message());
    return {};
  }
}

void DepthPanel::reloadSweeps() {
  const QString current = sweeps_->currentText();
  QSignalBlocker b(sweeps_);
  sweeps_->clear();
  try {
    if (auto store = openStore(context_)) sweeps_->addItems(sweepNames(*store));
  } catch (const Error& e) {
    sweepStatus_->setText(e.message());
  }
  if (!current.isEmpty()) sweeps_->setCurrentText(current);
  showSweep();
}

void DepthPanel::showSweep() {
  if (sweeps_->currentText().isEmpty()) {
    resetPlot(sweepPlot_);
    sweepPlot_->replot();
    return;
  }
  try {
    auto store = openStore(context_);
    if (!store) return;
    const SweepSummary s = sweepSummary(*store, sweeps_->currentText());
    const QString key = sweepKey_->currentText();
    {
      QSignalBlocker b(sweepKey_);
      sweepKey_->clear();
      sweepKey_->addItems(s.keys);
      if (s.keys.contains(key)) sweepKey_->setCurrentText(key);
    }
    int done = 0;
    for (const auto& p : s.points) done += p.test.isEmpty() ? 0 : 1;
    plotSweep(sweepPlot_, s, sweepKey_->currentText(), sweepMetric_->currentText());
    sweepStatus_->setText(tr("%1 of %2 points finished.").arg(done).arg(s.points.size()));
  } catch (const Error& e) {
    sweepStatus_->setText(e.message());
  }
}

// ---------------------------------------------------------------------------------------------
// Efficiency

EfficiencyPanel::EfficiencyPanel(StudioContext& context, QWidget* parent)
    : AnalysisPanelBase(context, QStringLiteral("efficiency"), parent) {
  auto* l = new QVBoxLayout(body_);
  l->setContentsMargins(0, 0, 0, 0);
  table_ = newTable(body_);
  plot_ = newPlot(body_);
  l->addWidget(table_, 2);
  l->addWidget(plot_, 3);
  reload();
}

void EfficiencyPanel::showResult(const AnalysisRecord& record) {
  const EfficiencyResult r = EfficiencyResult::fromJson(record.result);
  fillTable(table_, efficiencyHeaders(), efficiencyRows(r));
  plotEfficiency(plot_, r);
  status_->setText(tr("Measured on %1 with %2 threads; latencies in ms. The runs' requests were interleaved; "
                      "\"× first\" is the median per-request ratio to the first row. \"b1 ops\" counts the "
                      "LibTorch operator calls of a batch-1 request: on a GPU each costs about one kernel launch, "
                      "so batch-1 latency there follows it. Peak MB is the measuring process's peak RSS.")
                       .arg(r.device)
                       .arg(r.threads));
}

void EfficiencyPanel::clearResult() { blank({plot_}, {table_}); }

// ---------------------------------------------------------------------------------------------
// Diversity

DiversityPanel::DiversityPanel(StudioContext& context, QWidget* parent)
    : AnalysisPanelBase(context, QStringLiteral("diversity"), parent) {
  auto* l = new QVBoxLayout(body_);
  l->setContentsMargins(0, 0, 0, 0);
  auto* plots = new QHBoxLayout;
  diversity_ = newPlot(body_);
  gates_ = newPlot(body_);
  plots->addWidget(diversity_);
  plots->addWidget(gates_);
  l->addLayout(plots, 3);
  table_ = newTable(body_);
  l->addWidget(table_, 1);
  reload();
}

void DiversityPanel::showResult(const AnalysisRecord& record) {
  const DiversityResult r = DiversityResult::fromJson(record.result);
  plotDiversity(diversity_, r);
  plotGates(gates_, r);
  QVector<QStringList> rows;
  for (const auto& x : r.runs) {
    QStringList d, g;
    for (int t = 0; t < x.diversityMean.size(); ++t) d.append(QStringLiteral("D(%1)=%2").arg(t).arg(n4(x.diversityMean[t])));
    for (int m = 0; m < x.gateMean.size(); ++m) g.append(QStringLiteral("g%1=%2±%3").arg(m).arg(x.gateMean[m], 0, 'f', 3).arg(x.gateStd.value(m), 0, 'f', 3));
    rows.append({x.label, QStringLiteral("%1 × %2").arg(x.steps).arg(x.streams), d.join(QStringLiteral("  ")), x.hasGate ? g.join(QStringLiteral("  ")) : tr("no gate")});
  }
  fillTable(table_, {tr("Run"), tr("steps × streams"), tr("diversity"), tr("gate weights")}, rows);
}

void DiversityPanel::clearResult() { blank({diversity_, gates_}, {table_}); }

// ---------------------------------------------------------------------------------------------
// Inspector

InspectorPanel::InspectorPanel(StudioContext& context, QWidget* parent)
    : AnalysisPanelBase(context, QStringLiteral("attention"), parent) {
  setFocusPolicy(Qt::StrongFocus);
  auto* l = new QVBoxLayout(body_);
  l->setContentsMargins(0, 0, 0, 0);
  auto* pick = new QHBoxLayout;
  user_ = new QLineEdit(body_);
  user_->setPlaceholderText(tr("user id (original)"));
  case_ = new QSpinBox(body_);
  case_->setRange(0, 100000000);
  case_->setPrefix(tr("test case "));
  auto* go = new QPushButton(tr("Inspect"), body_);
  go->setToolTip(tr("Runs the first selected run on this user (or test case) and shows its reasoning"));
  position_ = new QLabel(body_);
  user_->setMinimumWidth(140);  // room for a user id next to the case spin box
  pick->addWidget(user_);
  pick->addWidget(case_);
  pick->addWidget(go);
  pick->addWidget(position_, 1);
  l->addLayout(pick);

  auto* split = new QSplitter(Qt::Horizontal, body_);
  history_ = new QListWidget(split);
  history_->setMinimumWidth(160);
  history_->setWordWrap(true);  // long titles and the target line wrap instead of being cut
  auto* mid = new QWidget(split);
  auto* ml = new QVBoxLayout(mid);
  ml->setContentsMargins(0, 0, 0, 0);
  heat_ = newPlot(mid, 240);
  heat_->setInteractions({});
  heat_->installEventFilter(this);  // re-thin the key labels when the heatmap is resized
  ml->addWidget(heat_, 3);
  auto* lower = new QHBoxLayout;
  ranks_ = newPlot(mid, 150);
  gate_ = newPlot(mid, 150);
  lower->addWidget(ranks_, 2);
  lower->addWidget(gate_, 1);
  ml->addLayout(lower, 2);
  top_ = newTable(split);
  top_->setMinimumWidth(200);
  split->addWidget(history_);
  split->addWidget(mid);
  split->addWidget(top_);
  split->setStretchFactor(1, 3);
  split->setSizes({170, 620, 230});  // the heatmaps get the room; lists keep a readable width
  l->addWidget(split, 1);

  connect(go, &QPushButton::clicked, this, [this] {
    const QList<qint64> runs = context_.selectedRuns();
    if (runs.isEmpty()) {
      status_->setText(tr("Select a trained run first."));
      return;
    }
    inspect(runs.first(), user_->text().trimmed(), case_->value());
  });
  reload();
}

bool InspectorPanel::inspect(qint64 runId, const QString& userId, int caseIndex) {
  if (context_.projectDir().isEmpty()) return false;
  AnalysisRequest req;
  req.projectDir = context_.projectDir();
  req.kind = QStringLiteral("attention");
  req.runIds = {runId};
  if (!userId.isEmpty()) req.params.insert(QStringLiteral("user"), userId);
  else req.params.insert(QStringLiteral("case"), caseIndex);
  status_->setText(tr("Tracing run %1…").arg(runId));
  // The base class reloads when the job ends; the newest attention result is this one.
  track(context_.submitJob(std::make_unique<AnalysisJob>(req)));
  return true;
}

void InspectorPanel::clearResult() {
  data_ = InspectorData();
  step_ = stream_ = 0;
  history_->clear();
  blank({gate_}, {top_});
  refresh();  // an empty heatmap and rank chart, and no position line
}

void InspectorPanel::showResult(const AnalysisRecord& record) { showData(InspectorData::fromJson(record.result)); }

void InspectorPanel::showData(const InspectorData& data) {
  data_ = data;
  step_ = 0;
  stream_ = 0;
  case_->setValue(data_.caseIndex);
  case_->setPrefix(tr("%1 case ").arg(data_.split));
  history_->clear();
  for (int i = 0; i < data_.history.size(); ++i)
  {
    auto* item = new QListWidgetItem(QStringLiteral("%1. %2").arg(i + 1).arg(data_.historyLabels.value(i, QString::number(data_.history[i]))));
    item->setToolTip(item->text());
    history_->addItem(item);
  }
  auto* target = new QListWidgetItem(tr("→ target: %1 (final rank %2)").arg(data_.targetLabel).arg(data_.finalRank + 1));
  QFont f = target->font();
  f.setBold(true);
  target->setFont(f);
  target->setToolTip(target->text());
  history_->addItem(target);

  // The gate chart only exists for models with a stream gate (PLR, hybrid).
  resetPlot(gate_);
  gate_->setVisible(!data_.gate.isEmpty());
  if (!data_.gate.isEmpty()) {
    gate_->yAxis->setLabel(tr("gate weight"));
    auto* bars = new QCPBars(gate_->xAxis, gate_->yAxis);
    bars->setWidth(0.6);
    bars->setBrush(seriesColor(2));
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    for (int m = 0; m < data_.gate.size(); ++m) {
      bars->addData(m, data_.gate[m]);
      t->addTick(m, tr("s%1").arg(m));
    }
    gate_->xAxis->setTicker(t);
    gate_->xAxis->setLabel(tr("stream"));
    gate_->xAxis->setRange(-0.6, data_.gate.size() - 0.4);
    gate_->yAxis->setRange(0, 1);
  }
  gate_->replot();
  refresh();
}

int InspectorPanel::captureViewCount() const {
  return data_.maps.isEmpty() ? 0 : std::max(0, data_.steps - 1) * std::max(1, data_.streams);
}

QString InspectorPanel::showCaptureView(int i) {
  const int streams = std::max(1, data_.streams);
  setPosition(1 + i / streams, i % streams);
  return QStringLiteral("step%1-stream%2").arg(step_).arg(stream_);
}

void InspectorPanel::setPosition(int step, int stream) {
  step_ = std::clamp(step, 0, std::max(0, data_.steps - 1));
  stream_ = std::clamp(stream, 0, std::max(0, data_.streams - 1));
  refresh();
}

bool InspectorPanel::eventFilter(QObject* watched, QEvent* event) {
  if (watched == heat_ && event->type() == QEvent::Resize && !data_.maps.isEmpty()) refresh();
  return AnalysisPanelBase::eventFilter(watched, event);
}

void InspectorPanel::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Right: setPosition(step_ + 1, stream_); break;
    case Qt::Key_Left: setPosition(step_ - 1, stream_); break;
    case Qt::Key_Down: setPosition(step_, stream_ + 1); break;
    case Qt::Key_Up: setPosition(step_, stream_ - 1); break;
    default: AnalysisPanelBase::keyPressEvent(event); return;
  }
  event->accept();
}

void InspectorPanel::refresh() {
  map_ = plotAttention(heat_, data_, step_, stream_);
  plotTargetRanks(ranks_, data_, data_.maps.isEmpty() ? -1 : step_);

  QVector<QStringList> rows2;
  for (const auto& t : data_.top)
    if (t.step == step_ && t.stream == stream_)
      for (int i = 0; i < t.items.size(); ++i)
        rows2.append({QString::number(i + 1), t.labels.value(i) + (t.items[i] == data_.target ? tr("  ← target") : QString()),
                      QString::number(t.scores.value(i), 'f', 3)});
  fillTable(top_, {tr("#"), tr("item"), tr("score")}, rows2);
  const int rank = data_.ranks.value(step_).value(stream_, -1);
  if (data_.maps.isEmpty()) {  // nothing traced yet
    position_->clear();
    return;
  }
  position_->setText(tr("%1 · user %2 · step %3/%4 · stream %5/%6 · target rank %7%8  (←/→ step, ↑/↓ stream)")
                         .arg(data_.label, data_.userId)
                         .arg(step_).arg(std::max(0, data_.steps - 1)).arg(stream_).arg(std::max(0, data_.streams - 1))
                         .arg(rank + 1)
                         .arg(data_.gate.isEmpty() ? QString() : tr(" · gate %1").arg(data_.gate.value(stream_), 0, 'f', 3)));
}

// ---------------------------------------------------------------------------------------------
// Comparison

ComparisonPanel::ComparisonPanel(StudioContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* l = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  baseline_ = new QComboBox(this);
  split_ = new QComboBox(this);
  split_->addItems({QStringLiteral("test"), QStringLiteral("valid")});
  bar->addWidget(new QLabel(tr("Baseline:"), this));
  bar->addWidget(baseline_, 1);
  bar->addWidget(new QLabel(tr("Split:"), this));
  bar->addWidget(split_);
  cases_ = new QComboBox(this);
  cases_->addItem(tr("All cases"), 0);
  for (int n : {2, 3, 4, 5}) cases_->addItem(tr("By history length, %1 groups").arg(n), n);
  cases_->setToolTip(tr("One table per group of cases by history length (items before the target), groups of about "
                        "equal size: where a model wins, on short or on long histories. Metrics and paired tests "
                        "over each group's cases (reasonrec compare --by-length N)."));
  bar->addWidget(cases_);
  reEvaluations_ = new QCheckBox(tr("Re-evaluations"), this);
  reEvaluations_->setChecked(true);
  reEvaluations_->setToolTip(tr("Also show each run's stored re-evaluations with overrides (reasonrec evaluate --set ..., "
                                "e.g. a depth or an inference mode), each tested against the baseline's final evaluation."));
  bar->addWidget(reEvaluations_);
  for (const auto& [label, format] : {std::pair{tr("Copy CSV"), QStringLiteral("csv")}, std::pair{tr("Copy Markdown"), QStringLiteral("markdown")},
                                      std::pair{tr("Copy LaTeX"), QStringLiteral("latex")}}) {
    auto* b = new QPushButton(label, this);
    const QString fmt = format;
    connect(b, &QPushButton::clicked, this, [this, fmt] { copyAs(fmt); });
    bar->addWidget(b);
  }
  l->addLayout(bar);
  view_ = newTable(this);
  l->addWidget(view_, 1);
  note_ = new QLabel(this);
  note_->setWordWrap(true);
  l->addWidget(note_);
  connect(baseline_, qOverload<int>(&QComboBox::activated), this, [this] { reload(); });
  connect(split_, qOverload<int>(&QComboBox::activated), this, [this] { reload(); });
  connect(cases_, qOverload<int>(&QComboBox::activated), this, [this] { reload(); });
  connect(reEvaluations_, &QCheckBox::toggled, this, [this] { reload(); });
  connect(&context_, &StudioContext::projectChanged, this, [this] {
    groupsKey_.clear();  // another project's run ids
    reload();
  });
  connect(&context_, &StudioContext::runsChanged, this, [this] { reload(); });
  connect(&context_, &StudioContext::selectedRunsChanged, this, [this] { reload(); });
  reload();
}

void ComparisonPanel::reload() {
  try {
    auto store = openStore(context_);
    if (!store) return;
    QVector<qint64> ids;
    for (qint64 id : context_.selectedRuns()) ids.append(id);
    if (ids.size() < 2) {  // nothing (or one run) selected: every completed run
      ids.clear();
      const auto runs = store->runs();
      for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (it->status == RunStatus::Completed) ids.append(it->id);
    }
    const qint64 chosen = baseline_->currentData().toLongLong();
    {
      QSignalBlocker b(baseline_);
      baseline_->clear();
      baseline_->addItem(tr("(none)"), 0);
      for (qint64 id : ids) baseline_->addItem(runLabel(store->run(id)), id);
      const int idx = baseline_->findData(chosen);
      baseline_->setCurrentIndex(idx >= 0 ? idx : 0);
    }
    QVector<ComparisonEntry> entries;
    for (qint64 id : ids) {
      entries.append({id, QStringLiteral("final")});
      if (!reEvaluations_->isChecked()) continue;
      QStringList labels;
      for (const EvaluationRecord& e : store->evaluations(id))
        if (e.split == split_->currentText() && e.label != QLatin1String("final") && !labels.contains(e.label)) labels.append(e.label);
      for (const QString& label : labels) entries.append({id, label});
    }
    const qint64 baseline = baseline_->currentData().toLongLong();
    const QString split = split_->currentText();
    QVector<ComparisonTable> tables;
    if (const int groups = cases_->currentData().toInt(); groups > 0 && !entries.isEmpty()) {
      // The groups come from the first run's dataset and split, which never change for a run:
      // made once per (run, split, count) rather than on every reload (epoch ends, status changes).
      const QString key = QStringLiteral("%1/%2/%3").arg(entries.first().runId).arg(split).arg(groups);
      if (key != groupsKey_) {
        groups_ = historyLengthGroups(*store, entries.first().runId, split, groups);
        groupsKey_ = key;
      }
      tables = buildComparisons(*store, entries, baseline, split, {}, groups_);
    }
    if (tables.isEmpty()) tables.append(buildComparison(*store, entries, baseline, split));
    tables_ = std::move(tables);
  } catch (const Error& e) {
    note_->setText(e.message());
    return;
  }
  const ComparisonTable& first = tables_.front();
  QStringList headers{tr("Run")};
  headers.append(first.metrics);
  view_->clear();
  view_->clearSpans();
  view_->setColumnCount(headers.size());
  view_->setHorizontalHeaderLabels(headers);
  int rows = 0;
  for (const ComparisonTable& t : tables_) rows += t.rows.size() + (t.group.isEmpty() ? 0 : 1);
  view_->setRowCount(rows);
  int at = 0;
  for (const ComparisonTable& t : tables_) {
    if (!t.group.isEmpty()) {  // a heading row across the table for each group
      auto* heading = new QTableWidgetItem(t.group);
      QFont f = heading->font();
      f.setBold(true);
      heading->setFont(f);
      heading->setFlags(Qt::ItemIsEnabled);
      heading->setBackground(palette().alternateBase());
      view_->setItem(at, 0, heading);
      view_->setSpan(at, 0, 1, headers.size());
      ++at;
    }
    for (int r = 0; r < t.rows.size(); ++r, ++at) {
      const auto& row = t.rows[r];
      view_->setItem(at, 0, new QTableWidgetItem(row.label + (row.baseline ? tr(" (baseline)") : QString())));
      for (int c = 0; c < t.metrics.size(); ++c) {
        const QString& m = t.metrics[c];
        QString text = row.values.contains(m) ? QString::number(row.values.value(m), 'f', 4) : QStringLiteral("–");
        if (t.significant(r, m)) text += QLatin1Char('*');
        if (row.improvement.contains(m)) text += QStringLiteral(" (%1%2%)").arg(row.improvement.value(m) >= 0 ? QStringLiteral("+") : QString()).arg(100 * row.improvement.value(m), 0, 'f', 1);
        auto* item = new QTableWidgetItem(text);
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        if (t.bestRow(m) == r) {
          QFont f = item->font();
          f.setBold(true);
          item->setFont(f);
        }
        if (row.pValue.contains(m)) item->setToolTip(tr("paired t-test vs baseline: p = %1").arg(row.pValue.value(m), 0, 'g', 3));
        view_->setItem(at, c + 1, item);
      }
    }
  }
  view_->resizeColumnsToContents();
  note_->setText(first.baselineRunId ? tr("Bold: best per column. * p < %1 (paired t-test against the baseline over the same %2 cases); "
                                          "(±x%) relative to the baseline. %3").arg(first.alpha).arg(first.split).arg(first.missingRanksNote())
                                     : tr("Bold: best per column. Choose a baseline for relative improvements and significance."));
}

QString ComparisonPanel::copyAs(const QString& format) {
  const QString text = formatComparisons(tables_, format);
  if (QClipboard* cb = QApplication::clipboard()) cb->setText(text);
  note_->setText(tr("Copied as %1.").arg(format));
  return text;
}

// ---------------------------------------------------------------------------------------------
// Registration and presentation mode

void registerAnalysisPanels() {
  auto add = [](const char* id, QString title, QKeySequence key, std::function<QWidget*(StudioContext&, QWidget*)> create) {
    PanelInfo info;
    info.id = QLatin1String(id);
    info.title = std::move(title);
    info.category = QObject::tr("Analyses");
    info.shortcut = key;
    info.create = std::move(create);
    registerPanel(std::move(info));
  };
  add("analysis.inspector", QObject::tr("Reasoning inspector"), QKeySequence(QStringLiteral("Ctrl+Shift+I")),
      [](StudioContext& c, QWidget* p) { return new InspectorPanel(c, p); });
  add("analysis.oracle", QObject::tr("Oracle ceiling"), {}, [](StudioContext& c, QWidget* p) { return new OraclePanel(c, p); });
  add("analysis.robustness", QObject::tr("Robustness"), {}, [](StudioContext& c, QWidget* p) { return new RobustnessPanel(c, p); });
  add("analysis.depth", QObject::tr("Depth and sweeps"), {}, [](StudioContext& c, QWidget* p) { return new DepthPanel(c, p); });
  add("analysis.diversity", QObject::tr("Stream diversity and gates"), {}, [](StudioContext& c, QWidget* p) { return new DiversityPanel(c, p); });
  add("analysis.efficiency", QObject::tr("Efficiency"), {}, [](StudioContext& c, QWidget* p) { return new EfficiencyPanel(c, p); });
  add("analysis.comparison", QObject::tr("Comparison table"), QKeySequence(QStringLiteral("Ctrl+Shift+T")),
      [](StudioContext& c, QWidget* p) { return new ComparisonPanel(c, p); });
}

namespace {
/// A top-level window that closes on Esc or F11 (keys its children leave unhandled).
class PresentationWindow : public QWidget {
 public:
  PresentationWindow() : QWidget(nullptr, Qt::Window) {}

 protected:
  void keyPressEvent(QKeyEvent* event) override {
    if (event->key() == Qt::Key_Escape || event->key() == Qt::Key_F11) {
      close();
      return;
    }
    QWidget::keyPressEvent(event);
  }
};
}  // namespace

QWidget* openPresentation(const QString& panelId, StudioContext& context, double fontScale) {
  for (const auto& info : registeredPanels()) {
    if (info.id != panelId) continue;
    auto* window = new PresentationWindow;
    window->setAttribute(Qt::WA_DeleteOnClose);
    window->setWindowTitle(info.title);
    QFont f = window->font();
    f.setPointSizeF(f.pointSizeF() * fontScale);
    window->setFont(f);
    auto* l = new QVBoxLayout(window);
    auto* title = new QLabel(info.title, window);
    QFont tf = f;
    tf.setPointSizeF(f.pointSizeF() * 1.5);
    tf.setBold(true);
    title->setFont(tf);
    l->addWidget(title);
    QWidget* panel = info.create(context, window);
    l->addWidget(panel, 1);
    // Plots take the font of their widget for axes and legends.
    for (QCustomPlot* plot : panel->findChildren<QCustomPlot*>()) {
      plot->setFont(f);
      for (QCPAxis* axis : plot->axisRect()->axes()) {
        axis->setTickLabelFont(f);
        axis->setLabelFont(f);
      }
      plot->legend->setFont(f);
      plot->replot();
    }
    window->showFullScreen();
    return window;
  }
  return nullptr;
}

}  // namespace rr::views
