#pragma once
/// \file
/// \brief The studio's main window: project explorer, runs table, run configuration, live
/// curves, job log and every registered panel as docks; menus and shortcuts; the job queue
/// with its progress in the status bar; layout, window state and recent projects in QSettings.
/// It provides the StudioContext the panels use. Thread: GUI thread.

#include "core/project/project.h"
#include "core/project/run_config.h"
#include "views/curve_data.h"
#include "views/job_runner.h"
#include "views/runs_model.h"
#include "views/studio_context.h"

#include <QHash>
#include <QMainWindow>
#include <QTimer>
#include <memory>
#include <optional>

class QDockWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QToolButton;

namespace rr {
class ExperimentStore;
}

namespace rr::views {

class ConfigPanel;
class CurvesPanel;
class ProjectExplorer;
class RunsPanel;
class MainWindow;

/// \brief The StudioContext the main window hands to panels (a QObject of its own, since the
/// window is already a QWidget).
class WindowContext : public StudioContext {
  Q_OBJECT
 public:
  explicit WindowContext(MainWindow* window);
  QString projectDir() const override;
  QList<qint64> selectedRuns() const override;
  qint64 submitJob(std::unique_ptr<rr::Job> job) override;

 private:
  friend class MainWindow;
  MainWindow* window_;
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  /// Opens (creating if missing) a project; false with a message box on error (or, when
  /// `quiet`, only the returned error text via lastError()).
  bool openProject(const QString& dir, bool quiet = false);
  QString projectDir() const { return project_ ? project_->dir() : QString(); }
  QString lastError() const { return lastError_; }

  StudioContext& context() { return *context_; }
  JobRunner& jobs() { return runner_; }
  CurveData& curves() { return curves_; }
  RunsModel& runsModel() { return runsModel_; }
  rr::ExperimentStore* store() const { return store_.get(); }
  ConfigPanel* configPanel() const { return configPanel_; }
  CurvesPanel* curvesPanel() const { return curvesPanel_; }
  RunsPanel* runsPanel() const { return runsPanel_; }
  ProjectExplorer* explorer() const { return explorer_; }
  QDockWidget* dock(const QString& id) const { return docks_.value(id); }
  QStringList dockIds() const { return dockOrder_; }

  QList<qint64> selectedRuns() const { return selected_; }
  void setSelectedRuns(const QList<qint64>& ids);

  /// Creates a run in the store (status queued); returns its id or 0 with lastError().
  qint64 createRun(qint64 datasetId, const rr::RunConfig& config, const QString& name);
  /// Queues the training of a run (fresh, or resumed from its checkpoint). Returns the job
  /// handle, or 0 when it cannot start (completed, already queued).
  /// With extendEpochs > 0, also a completed run: its last stage trains on to that many epochs
  /// in all (TrainJob::setExtendEpochs).
  qint64 startRun(qint64 runId, int extendEpochs = 0);
  QAction* trainFurtherAction() const { return trainFurtherAction_; }
  /// Stops the run's job; asks first unless `confirm` is false.
  bool stopRun(qint64 runId, bool confirm = true);
  /// Deletes runs and their checkpoints; asks first unless `confirm` is false.
  bool deleteRuns(const QList<qint64>& ids, bool confirm = true);
  /// Re-reads runs, datasets and analyses from the store.
  void reloadFromStore();
  /// The default arrangement of the panels (View > Reset layout).
  void resetLayout();

  /// Renders every dock's panel and the whole window to DIR/<panel id>.png. Returns the files.
  QStringList captureTo(const QString& dir);
  /// The demo run configuration of the project manifest (projects/demo), else the sasrec preset.
  rr::RunConfig demoConfig() const;
  /// The first dataset's id (0 when none).
  qint64 firstDatasetId() const;

 protected:
  void closeEvent(QCloseEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  friend class WindowContext;
  void buildActions();
  void buildDocks();
  void buildStatusBar();
  QDockWidget* addPanelDock(const QString& id, const QString& title, QWidget* widget, Qt::DockWidgetArea area,
                            const QKeySequence& shortcut = {});
  void updateRecentMenu();
  void updateActions();
  void updateStatusBar();
  void updateCurveRuns();
  void importManifestDatasets();
  void onJobFinished(qint64 handle, rr::JobStatus status, const QString& message, const QJsonObject& result);
  void onJobProgress(qint64 handle, const rr::JobProgress& p);
  void onJobStatus(qint64 handle, rr::JobStatus status);
  /// Runs trained by another process in this project (`reasonrec train` in a terminal): when
  /// the database changed, refreshes their rows and curves, and marks those whose process died
  /// as interrupted. The studio's own jobs report through their signals instead.
  void followOtherProcesses();
  void newProject();
  void openProjectDialog();
  void importDataset();
  void startSelected();
  void trainFurtherSelected();
  void togglePauseSelected();
  void stopSelected();
  void exportRunsCsv();
  /// File → Export → Report; with `withInspector` the newest inspected case is a page of it too.
  void exportReport(bool withInspector = false);
  void showPreferences();
  /// Explorer and configuration at readable widths, curves taking the rest, runs below them.
  void applyDefaultDockSizes();
  QString runLabel(qint64 runId) const;

  WindowContext* context_;
  JobRunner runner_;
  CurveData curves_;
  QTimer followTimer_;             ///< polls followOtherProcesses()
  qint64 seenDataVersion_ = -1;    ///< the store's data_version at the last poll
  RunsModel runsModel_;
  std::optional<rr::Project> project_;
  std::unique_ptr<rr::ExperimentStore> store_;
  QList<qint64> selected_;
  QHash<qint64, qint64> importJobs_;  ///< import job handle -> unused (0)
  QHash<qint64, QPair<int, QString>> importDefaults_;  ///< handle -> (max_len, split) for new runs
  QString lastError_;

  ProjectExplorer* explorer_ = nullptr;
  RunsPanel* runsPanel_ = nullptr;
  ConfigPanel* configPanel_ = nullptr;
  CurvesPanel* curvesPanel_ = nullptr;
  QPlainTextEdit* log_ = nullptr;
  QHash<QString, QDockWidget*> docks_;
  QStringList dockOrder_;
  QByteArray defaultState_;

  QMenu* viewMenu_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QAction* startAction_ = nullptr;
  QAction* trainFurtherAction_ = nullptr;
  QAction* pauseAction_ = nullptr;
  QAction* stopAction_ = nullptr;
  QAction* deleteAction_ = nullptr;

  QLabel* jobLabel_ = nullptr;
  QProgressBar* jobBar_ = nullptr;
  QToolButton* jobStop_ = nullptr;
  QLabel* projectLabel_ = nullptr;
  bool closing_ = false;
  bool stateRestored_ = false;
  bool sized_ = false;
};

/// One status line for a job's progress: phase, rate, phase ETA and whole-job ETA.
QString progressText(const rr::JobProgress& p);

}  // namespace rr::views
