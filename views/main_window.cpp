#include "views/main_window.h"

#include "views/analysis/analysis_panels.h"
#include "views/report/report_writer.h"

#include "core/errors.h"
#include "core/jobs/import_job.h"
#include "core/jobs/train_job.h"
#include "core/store/experiment_store.h"
#include "views/config_form.h"
#include "views/config_panel.h"
#include "views/curves_panel.h"
#include "views/import_wizard.h"
#include "views/panel_registry.h"
#include "views/project_explorer.h"
#include "views/runs_panel.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QInputDialog>
#include <QJsonArray>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>

#include <algorithm>
#include <cmath>

// The icons are compiled into the static views library; register them once per process.
static void initStudioResources() { Q_INIT_RESOURCE(studio); }

namespace rr::views {

namespace {
constexpr int kStateVersion = 1;
constexpr int kMaxRecent = 8;
constexpr int kStopWaitMs = 120000;  ///< how long closing waits for a stopping job
constexpr int kFollowIntervalMs = 2000;  ///< polls for runs trained by other processes
const char* kRecentKey = "recentProjects";
}  // namespace

QString progressText(const JobProgress& p) {
  QStringList parts;
  if (!p.phase.isEmpty()) parts.append(p.phase);
  if (p.rate > 0) parts.append(QStringLiteral("%1 %2").arg(p.rate, 0, 'f', p.rate < 10 ? 1 : 0).arg(p.rateUnit));
  if (p.phaseEtaSeconds >= 0) parts.append(QObject::tr("epoch ETA %1").arg(formatClock(p.phaseEtaSeconds)));
  if (p.etaSeconds >= 0) parts.append(QObject::tr("run ETA %1").arg(formatClock(p.etaSeconds)));
  return parts.join(QStringLiteral(" · "));
}

// ---------------------------------------------------------------------------------------------

WindowContext::WindowContext(MainWindow* window) : StudioContext(window), window_(window) {}
QString WindowContext::projectDir() const { return window_->projectDir(); }
QList<qint64> WindowContext::selectedRuns() const { return window_->selectedRuns(); }
qint64 WindowContext::submitJob(std::unique_ptr<rr::Job> job) { return window_->runner_.submit(std::move(job)); }

// ---------------------------------------------------------------------------------------------

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), context_(new WindowContext(this)) {
  initStudioResources();
  setObjectName(QStringLiteral("MainWindow"));
  setWindowTitle(tr("ReasonRec Studio"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/reasonrec-studio.svg")));
  setDockNestingEnabled(true);
  setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks);
  setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
  setCorner(Qt::TopLeftCorner, Qt::LeftDockWidgetArea);
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  setCorner(Qt::TopRightCorner, Qt::RightDockWidgetArea);
  auto* central = new QWidget;
  central->setMaximumSize(0, 0);
  setCentralWidget(central);
  central->hide();

  buildDocks();
  buildActions();
  buildStatusBar();

  connect(&runner_, &JobRunner::metricsArrived, &curves_, &CurveData::append);
  connect(&runner_, &JobRunner::jobProgress, this, &MainWindow::onJobProgress);
  connect(&runner_, &JobRunner::jobStatusChanged, this, &MainWindow::onJobStatus);
  connect(&runner_, &JobRunner::jobFinished, this, &MainWindow::onJobFinished);
  connect(&runner_, &JobRunner::jobMessage, this, [this](qint64 handle, const QString& line) {
    log_->appendPlainText(QStringLiteral("[%1] %2").arg(runner_.info(handle).title, line));
  });
  connect(&runner_, &JobRunner::jobAdded, this, [this](qint64, const QString& title) {
    log_->appendPlainText(tr("queued: %1").arg(title));
    updateStatusBar();
    updateActions();
  });

  followTimer_.setInterval(kFollowIntervalMs);
  connect(&followTimer_, &QTimer::timeout, this, &MainWindow::followOtherProcesses);
  followTimer_.start();

  resize(1500, 950);
  defaultState_ = saveState(kStateVersion);
  QSettings settings;
  restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
  stateRestored_ = restoreState(settings.value(QStringLiteral("window/state")).toByteArray(), kStateVersion);
  curvesPanel_->setSmoothing(settings.value(QStringLiteral("preferences/smoothing"), 0.6).toDouble());
  updateRecentMenu();
  updateActions();
}

MainWindow::~MainWindow() {
  runner_.cancelAll();
  runner_.waitForIdle(kStopWaitMs);
}

QDockWidget* MainWindow::addPanelDock(const QString& id, const QString& title, QWidget* widget, Qt::DockWidgetArea area,
                                      const QKeySequence& shortcut) {
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(id);  // saveState() keys on it
  dock->setWidget(widget);
  dock->setAllowedAreas(Qt::AllDockWidgetAreas);
  addDockWidget(area, dock);
  docks_.insert(id, dock);
  dockOrder_.append(id);
  if (!shortcut.isEmpty()) dock->toggleViewAction()->setShortcut(shortcut);
  return dock;
}

void MainWindow::buildDocks() {
  explorer_ = new ProjectExplorer;
  runsPanel_ = new RunsPanel(&runsModel_);
  configPanel_ = new ConfigPanel;
  curvesPanel_ = new CurvesPanel(curves_);
  log_ = new QPlainTextEdit;
  log_->setObjectName(QStringLiteral("JobLog"));
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(5000);
  log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));

  addPanelDock(QStringLiteral("studio.explorer"), tr("Project"), explorer_, Qt::LeftDockWidgetArea,
                                       QKeySequence(Qt::ALT | Qt::Key_1));
  QDockWidget* curves = addPanelDock(QStringLiteral("studio.curves"), tr("Curves"), curvesPanel_, Qt::TopDockWidgetArea,
                                     QKeySequence(Qt::ALT | Qt::Key_2));
  QDockWidget* runs = addPanelDock(QStringLiteral("studio.runs"), tr("Runs"), runsPanel_, Qt::BottomDockWidgetArea,
                                   QKeySequence(Qt::ALT | Qt::Key_3));
  addPanelDock(QStringLiteral("studio.config"), tr("Run configuration"), configPanel_,
                                     Qt::RightDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_4));
  QDockWidget* log = addPanelDock(QStringLiteral("studio.log"), tr("Job log"), log_, Qt::BottomDockWidgetArea,
                                  QKeySequence(Qt::ALT | Qt::Key_5));
  tabifyDockWidget(runs, log);
  runs->raise();
  // Panels other parts of the studio registered (analyses, inspector, ...), tabbed with the curves.
  for (const PanelInfo& info : registeredPanels()) {
    QWidget* w = info.create ? info.create(*context_, nullptr) : nullptr;
    if (!w) continue;
    QDockWidget* d = addPanelDock(info.id, info.title, w, Qt::TopDockWidgetArea, info.shortcut);
    d->setProperty("category", info.category);
    tabifyDockWidget(curves, d);
  }
  curves->raise();

  connect(runsPanel_, &RunsPanel::selectionChanged, this, [this](const QList<qint64>& ids) { setSelectedRuns(ids); });
  connect(runsPanel_, &RunsPanel::runActivated, this, [this](qint64 id) {
    setSelectedRuns({id});
    docks_.value(QStringLiteral("studio.curves"))->raise();
  });
  connect(explorer_, &ProjectExplorer::runsSelected, this, [this](const QList<qint64>& ids) {
    setSelectedRuns(ids);
    runsPanel_->selectRuns(ids);
  });
  connect(explorer_, &ProjectExplorer::savedConfigActivated, this, [this](qint64 id) {
    configPanel_->loadSavedConfiguration(id);
    docks_.value(QStringLiteral("studio.config"))->raise();
  });
  connect(explorer_, &ProjectExplorer::datasetActivated, this, [this](qint64 id) {
    configPanel_->selectDataset(id);
    docks_.value(QStringLiteral("studio.config"))->raise();
  });
  connect(configPanel_, &ConfigPanel::importRequested, this, &MainWindow::importDataset);
  connect(configPanel_, &ConfigPanel::runRequested, this,
          [this](qint64 datasetId, const RunConfig& cfg, const QString& name, bool startNow) {
            const qint64 id = createRun(datasetId, cfg, name);
            if (id <= 0) {
              QMessageBox::warning(this, tr("New run"), lastError_);
              return;
            }
            if (startNow) startRun(id);
            setSelectedRuns({id});
            runsPanel_->selectRuns({id});
          });
}

void MainWindow::buildActions() {
  auto icon = [](const char* name) { return QIcon(QStringLiteral(":/icons/%1.svg").arg(QLatin1String(name))); };
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(icon("new-project"), tr("&New project…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N), this, &MainWindow::newProject);
  file->addAction(icon("open"), tr("&Open project…"), QKeySequence::Open, this, &MainWindow::openProjectDialog);
  recentMenu_ = file->addMenu(tr("Open &recent"));
  file->addSeparator();
  QAction* importAction = file->addAction(icon("import"), tr("&Import dataset…"), QKeySequence(Qt::CTRL | Qt::Key_I), this,
                                          &MainWindow::importDataset);
  QMenu* exportMenu = file->addMenu(icon("export"), tr("&Export"));
  exportMenu->addAction(tr("Current &chart (PNG, SVG, PDF, CSV)…"), QKeySequence(Qt::CTRL | Qt::Key_E), curvesPanel_,
                        &CurvesPanel::exportCurrentChart);
  exportMenu->addAction(tr("&Runs table as CSV…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), this, &MainWindow::exportRunsCsv);
  exportMenu->addAction(tr("&Report (PDF)…"), QKeySequence(Qt::CTRL | Qt::Key_R), this, [this] { exportReport(false); });
  exportMenu->addAction(tr("Report with the &inspected case (PDF)…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this,
                        [this] { exportReport(true); });
  file->addSeparator();
  file->addAction(tr("&Preferences…"), QKeySequence::Preferences, this, &MainWindow::showPreferences);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  QAction* newRun = run->addAction(icon("new-run"), tr("&New run…"), QKeySequence::New, this, [this] {
    docks_.value(QStringLiteral("studio.config"))->show();
    docks_.value(QStringLiteral("studio.config"))->raise();
    configPanel_->form()->setFocus();
  });
  startAction_ = run->addAction(icon("start"), tr("&Start / resume"), QKeySequence(Qt::Key_F5), this, &MainWindow::startSelected);
  startAction_->setToolTip(tr("Start the selected queued runs, or resume interrupted ones from their last checkpoint (F5)"));
  trainFurtherAction_ = run->addAction(icon("start"), tr("Train &further…"), QKeySequence(Qt::CTRL | Qt::Key_F5), this,
                                       &MainWindow::trainFurtherSelected);
  trainFurtherAction_->setToolTip(tr("Train the selected run's last stage for more epochs, also when it has completed: "
                                     "it continues from its last checkpoint, early stopping starts counting again, and "
                                     "its best checkpoint is evaluated afresh (Ctrl+F5)"));
  pauseAction_ = run->addAction(icon("pause"), tr("&Pause / continue"), QKeySequence(Qt::Key_F6), this, &MainWindow::togglePauseSelected);
  stopAction_ = run->addAction(icon("stop"), tr("S&top"), QKeySequence(Qt::SHIFT | Qt::Key_F5), this, &MainWindow::stopSelected);
  stopAction_->setToolTip(tr("Stop the selected running runs (they become interrupted and can be resumed)"));
  run->addSeparator();
  deleteAction_ = run->addAction(icon("delete"), tr("&Delete runs…"), QKeySequence::Delete, this,
                                 [this] { deleteRuns(selected_); });
  deleteAction_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  runsPanel_->view()->addAction(deleteAction_);

  QToolBar* tb = runsPanel_->toolBar();
  tb->addAction(newRun);
  tb->addAction(startAction_);
  tb->addAction(pauseAction_);
  tb->addAction(stopAction_);
  tb->addAction(deleteAction_);
  tb->addSeparator();
  tb->addAction(importAction);

  viewMenu_ = menuBar()->addMenu(tr("&View"));
  QHash<QString, QMenu*> categories;
  for (const QString& id : dockOrder_) {
    QDockWidget* d = docks_.value(id);
    const QString category = d->property("category").toString();
    QMenu* target = viewMenu_;
    if (!category.isEmpty()) {
      if (!categories.contains(category)) categories.insert(category, viewMenu_->addMenu(category));
      target = categories.value(category);
    }
    target->addAction(d->toggleViewAction());
  }
  viewMenu_->addSeparator();
  // Presentation mode: a registered panel full-screen with large fonts (Esc or F11 closes it).
  QMenu* present = viewMenu_->addMenu(tr("&Present"));
  for (const PanelInfo& info : registeredPanels())
    present->addAction(info.title, this, [this, id = info.id] { openPresentation(id, *context_); });
  QAction* presentFocused = viewMenu_->addAction(tr("Present &focused panel"), QKeySequence(Qt::Key_F11), this, [this] {
    for (QWidget* w = QApplication::focusWidget(); w; w = w->parentWidget()) {
      if (auto* dock = qobject_cast<QDockWidget*>(w)) {
        const QString id = docks_.key(dock);
        for (const PanelInfo& info : registeredPanels())
          if (info.id == id) {
            openPresentation(id, *context_);
            return;
          }
      }
    }
    statusBar()->showMessage(tr("Click into an analysis panel first, or pick one in View → Present"), 5000);
  });
  presentFocused->setEnabled(!registeredPanels().isEmpty());
  present->setEnabled(!registeredPanels().isEmpty());
  viewMenu_->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About ReasonRec Studio"), this, [this] {
    QMessageBox::about(this, tr("About ReasonRec Studio"),
                       tr("<b>ReasonRec Studio</b><br>Set up, run, watch and compare latent-reasoning sequential "
                          "recommenders (LARES, PLR, ReaRec) against their baselines.<br>GPL-3.0-or-later."));
  });
}

void MainWindow::buildStatusBar() {
  projectLabel_ = new QLabel;
  statusBar()->addWidget(projectLabel_, 1);
  jobLabel_ = new QLabel(tr("No jobs"));
  statusBar()->addPermanentWidget(jobLabel_);
  jobBar_ = new QProgressBar;
  jobBar_->setRange(0, 1000);
  jobBar_->setMaximumWidth(200);
  jobBar_->setTextVisible(true);
  jobBar_->hide();
  statusBar()->addPermanentWidget(jobBar_);
  jobStop_ = new QToolButton;
  jobStop_->setIcon(QIcon(QStringLiteral(":/icons/stop.svg")));
  jobStop_->setToolTip(tr("Stop the running job"));
  jobStop_->hide();
  statusBar()->addPermanentWidget(jobStop_);
  connect(jobStop_, &QToolButton::clicked, this, [this] {
    const QList<JobInfo> jobs = runner_.jobs();
    if (jobs.isEmpty()) return;
    if (jobs.first().runId > 0) {
      stopRun(jobs.first().runId);
    } else if (QMessageBox::question(this, tr("Stop job"), tr("Stop '%1'?").arg(jobs.first().title)) == QMessageBox::Yes) {
      runner_.cancel(jobs.first().handle);
    }
  });
}

void MainWindow::updateStatusBar() {
  const QList<JobInfo> jobs = runner_.jobs();
  if (jobs.isEmpty()) {
    jobLabel_->setText(tr("No jobs"));
    jobBar_->hide();
    jobStop_->hide();
    return;
  }
  const JobInfo& j = jobs.first();
  QString text = QStringLiteral("%1 — %2").arg(j.title, j.status == JobStatus::Paused ? tr("paused") : progressText(j.progress));
  if (jobs.size() > 1) text += tr(" · %n more queued", nullptr, static_cast<int>(jobs.size() - 1));
  jobLabel_->setText(text);
  jobBar_->setValue(static_cast<int>(std::clamp(j.progress.fraction, 0.0, 1.0) * 1000));
  jobBar_->setFormat(QStringLiteral("%1 %").arg(100 * j.progress.fraction, 0, 'f', 1));
  jobBar_->show();
  jobStop_->show();
}

// ---------------------------------------------------------------------------------------------
// Project

bool MainWindow::openProject(const QString& dir, bool quiet) {
  if (runner_.activeCount() > 0) {
    lastError_ = tr("jobs are running in the current project; stop them first");
    if (!quiet) QMessageBox::warning(this, tr("Open project"), lastError_);
    return false;
  }
  try {
    Project p = Project::openOrCreate(dir);
    auto store = std::make_unique<ExperimentStore>(p.databasePath());
    project_ = p;
    store_ = std::move(store);
  } catch (const Error& e) {
    lastError_ = e.message();
    if (!quiet) QMessageBox::warning(this, tr("Open project"), lastError_);
    return false;
  }
  curves_.clear();
  selected_.clear();
  seenDataVersion_ = -1;
  runsModel_.setDatabase(project_->databasePath());
  configPanel_->setStore(store_.get());
  setWindowTitle(tr("%1 — ReasonRec Studio").arg(project_->name()));
  projectLabel_->setText(project_->dir());
  QSettings settings;
  QStringList recent = settings.value(QLatin1String(kRecentKey)).toStringList();
  recent.removeAll(project_->dir());
  recent.prepend(project_->dir());
  while (recent.size() > kMaxRecent) recent.removeLast();
  settings.setValue(QLatin1String(kRecentKey), recent);
  updateRecentMenu();
  reloadFromStore();
  for (const RunRecord& r : runsModel_.runs()) {  // runs another process is training now
    const QString line = followedRunLogLine(nullptr, r);
    if (!line.isEmpty()) log_->appendPlainText(line);
  }
  importManifestDatasets();
  emit context_->projectChanged();
  return true;
}

void MainWindow::importManifestDatasets() {
  if (!project_ || !store_) return;
  QStringList have;  // names and sources already imported (e.g. by `reasonrec demo`)
  for (const DatasetRecord& d : store_->datasets()) have << d.name << d.sourcePath;
  for (const QJsonValue& v : project_->manifest().value(QStringLiteral("datasets")).toArray()) {
    const QJsonObject o = v.toObject();
    const QString name = o.value(QStringLiteral("name")).toString();
    const QString source = o.value(QStringLiteral("source")).toString();
    if (source.isEmpty() || have.contains(name) || have.contains(source)) continue;
    ImportRequest req;
    req.projectDir = project_->dir();
    req.source = source.startsWith(QLatin1String("synthetic:")) || QFileInfo(source).isAbsolute()
                     ? source
                     : QDir(project_->dir()).absoluteFilePath(source);
    req.name = name;
    runner_.submit(std::make_unique<ImportJob>(req));
  }
}

void MainWindow::reloadFromStore() {
  runsModel_.reload();
  explorer_->reload(store_.get(), project_ ? project_->name() : QString(), projectDir());
  configPanel_->reloadLists();
  // Keep only selected runs that still exist.
  QList<qint64> keep;
  for (qint64 id : selected_)
    if (runsModel_.run(id)) keep.append(id);
  if (keep != selected_) setSelectedRuns(keep);
  runsPanel_->selectRuns(selected_);
  explorer_->selectRuns(selected_);
  updateCurveRuns();
  updateActions();
  emit context_->runsChanged();
}

void MainWindow::followOtherProcesses() {
  if (!store_ || !project_) return;
  runsModel_.refreshEtas();
  // A process that dies writes nothing, so its runs are checked whether or not the data changed.
  bool orphans = false;
  for (const RunRecord& r : runsModel_.runs())
    if (isActiveStatus(r.status) && !runner_.handleForRun(r.id))
      orphans = orphans || !project_->isRunLocked(r.id);
  QVector<RunRecord> runs;
  try {
    const qint64 version = store_->dataVersion();
    if (version == seenDataVersion_ && !orphans) return;  // nobody else wrote: one cheap query
    seenDataVersion_ = version;
    // A run left "running" by a process that died (its lock is free) is interrupted, as when
    // the project is opened.
    store_->markOrphanedRunsInterrupted(
        [this](qint64 id) { return runner_.handleForRun(id) != 0 || project_->isRunLocked(id); });
    runs = store_->runs();
  } catch (const Error&) {
    return;  // busy or gone for now; the next poll tries again
  }
  bool changed = runs.size() != runsModel_.runs().size();
  for (const RunRecord& r : runs) {
    if (runner_.handleForRun(r.id)) continue;
    const RunRecord* known = runsModel_.run(r.id);
    const bool rowChanged = !known || known->status != r.status || known->stage != r.stage ||
                            known->epochsRun != r.epochsRun || known->wallSeconds != r.wallSeconds;
    changed = changed || rowChanged;
    if (rowChanged) {  // its epochs and its end in the job log, as a terminal would show them
      const QString line = followedRunLogLine(known, r);
      if (!line.isEmpty()) log_->appendPlainText(line);
    }
    // Its curves: reloaded when its row changed (it ended, or resumed and truncated its
    // series), else only the points it wrote since the last poll while it trains.
    if (!curves_.hasRun(r.id) || !(rowChanged || r.status == RunStatus::Running)) continue;
    try {
      if (rowChanged) {
        curves_.removeRun(r.id);
        curves_.loadRun(*store_, r.id);
      } else {
        curves_.loadNew(*store_, r.id);
      }
    } catch (const Error&) {
    }
  }
  if (changed) reloadFromStore();
}

void MainWindow::setSelectedRuns(const QList<qint64>& ids) {
  if (ids == selected_) return;
  selected_ = ids;
  explorer_->selectRuns(ids);
  updateCurveRuns();
  updateActions();
  emit context_->selectedRunsChanged();
}

QString MainWindow::runLabel(qint64 runId) const {
  const RunRecord* r = runsModel_.run(runId);
  if (!r) return QStringLiteral("run %1").arg(runId);
  return rr::runLabel(*r);
}

void MainWindow::updateCurveRuns() {
  QList<qint64> shown = selected_;
  if (shown.isEmpty())
    for (const JobInfo& j : runner_.jobs())
      if (j.runId > 0 && j.status != JobStatus::Queued) shown.append(j.runId);
  QHash<qint64, QString> labels;
  for (qint64 id : shown) {
    labels.insert(id, runLabel(id));
    if (!curves_.hasRun(id) && store_) {
      try {
        curves_.loadRun(*store_, id);
      } catch (const Error&) {
      }
    }
  }
  curvesPanel_->setRuns(shown, labels);
}

qint64 MainWindow::firstDatasetId() const {
  if (!store_) return 0;
  const auto ds = store_->datasets();
  return ds.isEmpty() ? 0 : ds.first().id;
}

RunConfig MainWindow::demoConfig() const {
  RunConfig cfg = RunConfig::fromPreset(QStringLiteral("sasrec"));
  if (!project_) return cfg;
  const QJsonObject demo = project_->manifest().value(QStringLiteral("demo")).toObject();
  if (demo.isEmpty()) return cfg;
  try {
    RunConfig d = RunConfig::fromPreset(demo.value(QStringLiteral("preset")).toString(QStringLiteral("sasrec")));
    d.merge(demo.value(QStringLiteral("config")).toObject());
    return d;
  } catch (const Error&) {
    return cfg;
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

qint64 MainWindow::createRun(qint64 datasetId, const RunConfig& config, const QString& name) {
  if (!store_) {
    lastError_ = tr("no project is open");
    return 0;
  }
  try {
    const qint64 id = rr::createRun(*store_, datasetId, config, name);
    reloadFromStore();
    return id;
  } catch (const Error& e) {
    lastError_ = e.message();
    return 0;
  }
}

qint64 MainWindow::startRun(qint64 runId, int extendEpochs) {
  if (!project_ || !store_) return 0;
  if (runner_.handleForRun(runId)) return 0;
  const auto r = store_->findRun(runId);
  if (!r || (r->status == RunStatus::Completed && extendEpochs <= 0)) return 0;
  curves_.removeRun(runId);
  try {
    curves_.loadRun(*store_, runId);  // earlier epochs of a resumed run
  } catch (const Error&) {
  }
  auto job = std::make_unique<TrainJob>(project_->dir(), runId);
  if (extendEpochs > 0) job->setExtendEpochs(extendEpochs);
  const qint64 handle = runner_.submit(std::move(job));
  runsModel_.setLiveProgress(runId, tr("queued"), 0);
  updateCurveRuns();
  updateActions();
  return handle;
}

bool MainWindow::stopRun(qint64 runId, bool confirm) {
  const qint64 handle = runner_.handleForRun(runId);
  if (!handle) return false;
  if (confirm && QMessageBox::question(this, tr("Stop run"),
                                       tr("Stop %1? It will be marked interrupted and can be resumed from its last "
                                          "checkpoint (the epoch in progress is lost).")
                                           .arg(runLabel(runId))) != QMessageBox::Yes)
    return false;
  runner_.cancel(handle);
  return true;
}

bool MainWindow::deleteRuns(const QList<qint64>& ids, bool confirm) {
  if (ids.isEmpty() || !store_ || !project_) return false;
  for (qint64 id : ids)
    if (runner_.handleForRun(id)) {
      if (confirm) QMessageBox::information(this, tr("Delete runs"), tr("%1 is running; stop it first.").arg(runLabel(id)));
      lastError_ = tr("run %1 is running").arg(id);
      return false;
    }
  if (confirm) {
    QStringList names;
    for (qint64 id : ids) names.append(runLabel(id));
    if (QMessageBox::warning(this, tr("Delete runs"),
                             tr("Delete %n run(s) with their metrics, evaluations and checkpoint files?\n\n%1", nullptr,
                                static_cast<int>(ids.size()))
                                 .arg(names.join(QLatin1Char('\n'))),
                             QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel) != QMessageBox::Yes)
      return false;
  }
  for (qint64 id : ids) {
    try {
      const QStringList files = store_->deleteRun(id);
      for (const QString& f : files) QFile::remove(project_->absolutePath(f));
      QDir(QDir(project_->dir()).filePath(QStringLiteral("checkpoints/run-%1").arg(id))).removeRecursively();
      curves_.removeRun(id);
      selected_.removeAll(id);
    } catch (const Error& e) {
      lastError_ = e.message();
      if (confirm) QMessageBox::warning(this, tr("Delete runs"), e.message());
    }
  }
  reloadFromStore();
  return true;
}

void MainWindow::startSelected() {
  if (selected_.isEmpty()) {
    docks_.value(QStringLiteral("studio.config"))->raise();
    if (configPanel_->startButton()->isEnabled()) configPanel_->startButton()->click();
    return;
  }
  for (qint64 id : selected_) startRun(id);
  updateActions();
}

void MainWindow::trainFurtherSelected() {
  if (selected_.size() != 1 || !store_) return;
  const qint64 id = selected_.first();
  const RunRecord* r = runsModel_.run(id);
  if (!r || runner_.handleForRun(id)) return;
  int configured = 0, minimum = 1;
  QString stage;
  try {
    const RunConfig cfg = RunConfig::fromJson(r->config);
    const QStringList stages = cfg.getStringList(QStringLiteral("stages"));
    stage = stages.value(stages.size() - 1);
    configured = cfg.getInt(lastStageEpochsKey(cfg));
    if (stages.size() == 1) minimum = std::max(1, r->epochsRun);
  } catch (const Error& e) {
    QMessageBox::warning(this, tr("Train further"), e.message());
    return;
  }
  bool ok = false;
  const int epochs = QInputDialog::getInt(
      this, tr("Train further"),
      tr("Train %1's %2 stage to this many epochs in all.\nIt is configured for %3 and has run %4; early-stopping "
         "patience starts over.")
          .arg(runLabel(id), stage)
          .arg(configured)
          .arg(r->epochsRun),
      std::max(minimum, configured) + 10, minimum, 100000, 1, &ok);
  if (!ok) return;
  startRun(id, epochs);
  updateActions();
}

void MainWindow::togglePauseSelected() {
  QList<qint64> targets;
  for (qint64 id : selected_)
    if (runner_.handleForRun(id)) targets.append(runner_.handleForRun(id));
  if (targets.isEmpty() && !runner_.jobs().isEmpty()) targets.append(runner_.jobs().first().handle);
  for (qint64 h : targets) {
    if (runner_.info(h).status == JobStatus::Paused)
      runner_.resume(h);
    else if (runner_.info(h).status == JobStatus::Running)
      runner_.pause(h);
  }
}

void MainWindow::stopSelected() {
  QList<qint64> running;
  for (qint64 id : selected_)
    if (runner_.handleForRun(id)) running.append(id);
  if (running.isEmpty())
    for (const JobInfo& j : runner_.jobs())
      if (j.runId > 0 && j.status != JobStatus::Queued) running.append(j.runId);
  for (qint64 id : running) stopRun(id);
}

void MainWindow::updateActions() {
  bool canStart = selected_.isEmpty(), canStop = false, canPause = false;
  for (qint64 id : selected_) {
    const RunRecord* r = runsModel_.run(id);
    const bool active = runner_.handleForRun(id) != 0;
    if (r && !active && r->status != RunStatus::Completed) canStart = true;
    if (active) canStop = canPause = true;
  }
  if (selected_.isEmpty() && runner_.activeCount() > 0) canStop = canPause = true;
  startAction_->setEnabled(canStart && project_.has_value());
  const RunRecord* one = selected_.size() == 1 ? runsModel_.run(selected_.first()) : nullptr;
  trainFurtherAction_->setEnabled(project_.has_value() && one && !runner_.handleForRun(one->id) &&
                                  one->status != RunStatus::Queued && one->status != RunStatus::Running &&
                                  one->status != RunStatus::Paused);
  stopAction_->setEnabled(canStop);
  pauseAction_->setEnabled(canPause);
  deleteAction_->setEnabled(!selected_.isEmpty());
  // "Resume" when every selected run is resumable.
  bool allInterrupted = !selected_.isEmpty();
  for (qint64 id : selected_) {
    const RunRecord* r = runsModel_.run(id);
    allInterrupted = allInterrupted && r && (r->status == RunStatus::Interrupted || r->status == RunStatus::Failed);
  }
  startAction_->setText(allInterrupted ? tr("&Resume") : tr("&Start"));
}

// ---------------------------------------------------------------------------------------------
// Jobs

void MainWindow::onJobStatus(qint64 handle, JobStatus status) {
  const JobInfo info = runner_.info(handle);
  if (info.runId > 0) {
    if (status == JobStatus::Running || status == JobStatus::Paused) {
      runsModel_.reload();
      explorer_->reload(store_.get(), project_ ? project_->name() : QString(), projectDir());
      explorer_->selectRuns(selected_);
      runsPanel_->selectRuns(selected_);
      runsModel_.setLiveProgress(info.runId, status == JobStatus::Paused ? tr("paused") : progressText(info.progress),
                                 info.progress.fraction);
      updateCurveRuns();
    }
  }
  if (status == JobStatus::Running) log_->appendPlainText(tr("started: %1").arg(info.title));
  if (status == JobStatus::Paused) log_->appendPlainText(tr("paused: %1").arg(info.title));
  updateStatusBar();
  updateActions();
}

void MainWindow::onJobProgress(qint64 handle, const JobProgress& p) {
  const JobInfo info = runner_.info(handle);
  if (info.runId > 0) {
    // The job marks its run running in the store once its session is open, after the job's
    // own Running status: pick that up with the first progress report.
    const RunRecord* r = runsModel_.run(info.runId);
    if (r && r->status != RunStatus::Running && r->status != RunStatus::Paused) {
      runsModel_.reload();
      explorer_->reload(store_.get(), project_ ? project_->name() : QString(), projectDir());
      explorer_->selectRuns(selected_);
      runsPanel_->selectRuns(selected_);
    }
    // The table cell is narrow: the phase and the whole run's ETA (the status bar has the rest).
    QString cell = p.phase;
    if (p.etaSeconds >= 0) cell += tr(" · ETA %1").arg(formatClock(p.etaSeconds));
    runsModel_.setLiveProgress(info.runId, cell, p.fraction);
  }
  updateStatusBar();
}

void MainWindow::onJobFinished(qint64 handle, JobStatus status, const QString& message, const QJsonObject& result) {
  // The handle is gone from the runner; find what it was from the result or the log.
  const qint64 runId = result.value(QStringLiteral("run_id")).toVariant().toLongLong();
  log_->appendPlainText(tr("finished (%1)%2").arg(jobStatusName(status), message.isEmpty() ? QString() : QStringLiteral(": ") + message));
  for (const RunRecord& r : runsModel_.runs())
    if (!runner_.handleForRun(r.id)) runsModel_.setLiveProgress(r.id, QString(), -1);
  if (runId > 0 && store_) {
    try {
      curves_.loadRun(*store_, runId);
    } catch (const Error&) {
    }
  }
  if (importDefaults_.contains(handle)) {
    const auto d = importDefaults_.take(handle);
    const qint64 ds = result.value(QStringLiteral("dataset_id")).toVariant().toLongLong();
    if (status == JobStatus::Completed) {
      configPanel_->reloadLists();
      configPanel_->selectDataset(ds);
      configPanel_->form()->setValueText(QStringLiteral("data.max_len"), QString::number(d.first));
      configPanel_->form()->setValueText(QStringLiteral("data.split"), d.second);
    }
  }
  if (status == JobStatus::Failed && !closing_)
    statusBar()->showMessage(tr("Job failed: %1").arg(message), 15000);
  reloadFromStore();
  updateStatusBar();
  emit context_->jobFinished(handle, status == JobStatus::Completed, message);
}

// ---------------------------------------------------------------------------------------------
// Dialogs

void MainWindow::newProject() {
  const QString dir = QFileDialog::getSaveFileName(this, tr("New project (a new folder)"), QDir::homePath() + QStringLiteral("/reasonrec-project"),
                                                   QString(), nullptr, QFileDialog::ShowDirsOnly);
  if (!dir.isEmpty()) openProject(dir);
}

void MainWindow::openProjectDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open project"), projectDir());
  if (!dir.isEmpty()) openProject(dir);
}

void MainWindow::updateRecentMenu() {
  recentMenu_->clear();
  const QStringList recent = QSettings().value(QLatin1String(kRecentKey)).toStringList();
  for (const QString& dir : recent) recentMenu_->addAction(dir, this, [this, dir] { openProject(dir); });
  recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::importDataset() {
  if (!project_) return;
  ImportWizard wizard(project_->dir(), this);
  if (wizard.exec() != QDialog::Accepted) return;
  const qint64 handle = runner_.submit(std::make_unique<ImportJob>(wizard.request()));
  importDefaults_.insert(handle, {wizard.maxLength(), wizard.split()});
}

void MainWindow::exportReport(bool withInspector) {
  if (projectDir().isEmpty()) return;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export report"), QStringLiteral("report.pdf"), tr("PDF (*.pdf)"));
  if (path.isEmpty()) return;
  ReportOptions options;
  options.projectDir = projectDir();
  for (qint64 id : selected_) options.runIds.append(id);  // none selected: every completed run
  options.withInspector = withInspector;
  QApplication::setOverrideCursor(Qt::WaitCursor);
  try {
    const int pages = writeReport(options, path);
    QApplication::restoreOverrideCursor();
    statusBar()->showMessage(tr("Report written: %1 (%2 pages)").arg(path).arg(pages), 8000);
  } catch (const rr::Error& e) {
    QApplication::restoreOverrideCursor();
    QMessageBox::warning(this, tr("Export report"), e.message());
  }
}

void MainWindow::exportRunsCsv() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export runs table"), QStringLiteral("runs.csv"), tr("CSV (*.csv)"));
  if (path.isEmpty()) return;
  const QString err = runsPanel_->exportCsv(path);
  if (!err.isEmpty()) QMessageBox::warning(this, tr("Export runs table"), err);
}

void MainWindow::showPreferences() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Preferences"));
  auto* form = new QFormLayout(&dialog);
  auto* smoothing = new QDoubleSpinBox;
  smoothing->setRange(0, 0.99);
  smoothing->setSingleStep(0.05);
  smoothing->setValue(curvesPanel_->smoothing());
  form->addRow(tr("Default curve smoothing:"), smoothing);
  auto* threads = new QSpinBox;
  threads->setRange(0, 1024);
  threads->setSpecialValueText(tr("all cores"));
  threads->setValue(QSettings().value(QStringLiteral("preferences/threads"), 0).toInt());
  form->addRow(tr("CPU threads of new runs:"), threads);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return;
  QSettings s;
  s.setValue(QStringLiteral("preferences/smoothing"), smoothing->value());
  s.setValue(QStringLiteral("preferences/threads"), threads->value());
  curvesPanel_->setSmoothing(smoothing->value());
  configPanel_->form()->setValueText(QStringLiteral("threads"), QString::number(threads->value()));
}

void MainWindow::resetLayout() {
  restoreState(defaultState_, kStateVersion);
  for (QDockWidget* d : docks_) d->show();
  docks_.value(QStringLiteral("studio.curves"))->raise();
  docks_.value(QStringLiteral("studio.runs"))->raise();
  QTimer::singleShot(0, this, &MainWindow::applyDefaultDockSizes);
}

void MainWindow::applyDefaultDockSizes() {
  const int w = std::max(width(), 1000), h = std::max(height(), 700);
  resizeDocks({docks_.value(QStringLiteral("studio.explorer")), docks_.value(QStringLiteral("studio.config"))},
              {std::max(240, w / 6), std::max(420, w * 3 / 10)}, Qt::Horizontal);
  resizeDocks({docks_.value(QStringLiteral("studio.curves")), docks_.value(QStringLiteral("studio.runs"))},
              {h * 62 / 100, h * 38 / 100}, Qt::Vertical);
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  if (!stateRestored_ && !sized_) {
    sized_ = true;
    QTimer::singleShot(0, this, &MainWindow::applyDefaultDockSizes);
  }
}

// ---------------------------------------------------------------------------------------------

QStringList MainWindow::captureTo(const QString& dir) {
  QStringList files;
  QDir().mkpath(dir);
  curvesPanel_->flushRedraw();
  QApplication::processEvents();
  for (CurveChart* c : curvesPanel_->charts()) c->replot(QCustomPlot::rpImmediateRefresh);
  const QString windowFile = QDir(dir).filePath(QStringLiteral("window.png"));
  if (grab().save(windowFile)) files.append(windowFile);
  for (const QString& id : dockOrder_) {
    QDockWidget* d = docks_.value(id);
    if (!d->isVisible()) continue;
    d->raise();
    QApplication::processEvents();
    if (id == QLatin1String("studio.curves"))
      for (CurveChart* c : curvesPanel_->charts()) c->replot(QCustomPlot::rpImmediateRefresh);
    const QString file = QDir(dir).filePath(id.section(QLatin1Char('.'), -1) + QStringLiteral(".png"));
    if (d->widget()->grab().save(file)) files.append(file);
    if (auto* views = dynamic_cast<CaptureViews*>(d->widget())) {
      for (int i = 0; i < views->captureViewCount(); ++i) {
        const QString suffix = views->showCaptureView(i);
        QApplication::processEvents();
        const QString viewFile =
            QDir(dir).filePath(QStringLiteral("%1-%2.png").arg(id.section(QLatin1Char('.'), -1), suffix));
        if (d->widget()->grab().save(viewFile)) files.append(viewFile);
      }
      views->endCaptureViews();
    }
    if (id == QLatin1String("studio.config")) {
      // Every page of the configuration form, for the documentation.
      QTabWidget* tabs = configPanel_->form()->tabs();
      const int current = tabs->currentIndex();
      for (int i = 0; i < tabs->count(); ++i) {
        tabs->setCurrentIndex(i);
        QApplication::processEvents();
        const QString slug = tabs->tabText(i).section(QLatin1Char(' '), 0, 0).toLower();
        const QString page = QDir(dir).filePath(QStringLiteral("config-%1.png").arg(slug));
        if (d->widget()->grab().save(page)) files.append(page);
      }
      tabs->setCurrentIndex(current);
    }
  }
  docks_.value(QStringLiteral("studio.curves"))->raise();
  docks_.value(QStringLiteral("studio.runs"))->raise();
  return files;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (runner_.activeCount() > 0 && !closing_) {
    const auto answer = QMessageBox::question(
        this, tr("Quit"),
        tr("%n job(s) are queued or running. Stop them and quit? A stopped training run is marked interrupted "
           "and can be resumed later.",
           nullptr, runner_.activeCount()),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer != QMessageBox::Yes) {
      event->ignore();
      return;
    }
    closing_ = true;
    statusBar()->showMessage(tr("Stopping jobs…"));
    runner_.cancelAll();
    runner_.waitForIdle(kStopWaitMs);
  }
  QSettings settings;
  settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("window/state"), saveState(kStateVersion));
  event->accept();
}

}  // namespace rr::views
