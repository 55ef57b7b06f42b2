#pragma once
/// \file
/// \brief The studio's analysis panels (SPEC §6): reasoning inspector, oracle ceiling,
/// robustness, depth and parameter sweeps, stream diversity and gates, efficiency, and the
/// comparison table; plus presentation mode. Thread: GUI thread only.

#include "core/analysis/analysis_results.h"
#include "core/analysis/comparison.h"
#include "core/analysis/sweep.h"
#include "core/store/records.h"
#include "views/panel_registry.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QListWidget;

namespace rr::views {

class StudioContext;

/// Registers every analysis panel with registerPanel() (ids "analysis.<kind>", category
/// "Analyses"). Call once at start-up, before the main window builds its docks.
void registerAnalysisPanels();

/// \brief Presentation mode: a fresh instance of a registered panel in a full-screen window
/// with fonts scaled by `fontScale`; Esc or F11 closes it. Returns the window (deletes itself
/// on close), or nullptr for an unknown id. For the main window's View → Present action.
QWidget* openPresentation(const QString& panelId, StudioContext& context, double fontScale = 1.8);

/// \brief Common frame of a panel showing stored analyses of one kind: a "Run on selected
/// runs" button with a parameter field, a chooser of stored results (newest first), and
/// showResult() implemented by each panel.
class AnalysisPanelBase : public QWidget {
  Q_OBJECT
 public:
  AnalysisPanelBase(StudioContext& context, QString kind, QWidget* parent = nullptr);
  QString kind() const { return kind_; }
  /// Re-reads the stored analyses of this kind and shows the newest (or the one with id).
  void reload(qint64 selectId = 0);
  /// Stored result currently shown (id 0 when none).
  qint64 shownAnalysisId() const { return shownId_; }
  QComboBox* storedChooser() const { return stored_; }
  QLineEdit* parameterField() const { return params_; }
  /// Submits the analysis job for the selected runs; returns false (with the reason shown)
  /// when nothing is selected or a parameter is wrong.
  bool runAnalysis();

 protected:
  virtual void showResult(const AnalysisRecord& record) = 0;
  /// Empties what showResult() drew: called when the project has no stored result of this kind.
  virtual void clearResult() = 0;
  /// Reload when this job handle finishes.
  void track(qint64 handle) { pending_.append(handle); }
  StudioContext& context_;
  QWidget* body_ = nullptr;  ///< subclasses put their widgets in here
  QLabel* status_ = nullptr;

 private:
  QString kind_;
  QComboBox* stored_ = nullptr;
  QLineEdit* params_ = nullptr;
  QPushButton* runButton_ = nullptr;
  QList<qint64> pending_;
  qint64 shownId_ = 0;
};

class OraclePanel : public AnalysisPanelBase {
  Q_OBJECT
 public:
  explicit OraclePanel(StudioContext& context, QWidget* parent = nullptr);
  QCustomPlot* plot() const { return plot_; }
  QTableWidget* table() const { return table_; }

 protected:
  void showResult(const AnalysisRecord& record) override;
  void clearResult() override;

 private:
  QCustomPlot* plot_;
  QTableWidget* table_;
};

class RobustnessPanel : public AnalysisPanelBase {
  Q_OBJECT
 public:
  explicit RobustnessPanel(StudioContext& context, QWidget* parent = nullptr);
  QCustomPlot* ndcgPlot() const { return ndcg_; }
  QCustomPlot* recallPlot() const { return recall_; }
  QTableWidget* table() const { return table_; }

 protected:
  void showResult(const AnalysisRecord& record) override;
  void clearResult() override;

 private:
  QCustomPlot *ndcg_, *recall_;
  QTableWidget* table_;
};

/// Test-time depth sweep of stored runs plus the training-time sweep builder and its plots.
class DepthPanel : public AnalysisPanelBase {
  Q_OBJECT
 public:
  explicit DepthPanel(StudioContext& context, QWidget* parent = nullptr);
  QCustomPlot* depthPlot() const { return depthPlot_; }
  QCustomPlot* sweepPlot() const { return sweepPlot_; }
  QPlainTextEdit* gridEditor() const { return grid_; }
  /// Queues one run per grid point on the first selected run's dataset and configuration;
  /// with train = true also submits their training jobs. Returns the new run ids.
  QVector<qint64> queueGrid(bool train);
  void reloadSweeps();

 protected:
  void showResult(const AnalysisRecord& record) override;
  void clearResult() override;

 private:
  void showSweep();
  QCustomPlot* depthPlot_;
  QComboBox* depthMetric_;
  QPlainTextEdit* grid_;
  QLineEdit* sweepName_;
  QComboBox *sweeps_, *sweepKey_, *sweepMetric_;
  QCustomPlot* sweepPlot_;
  QLabel* sweepStatus_;
  AnalysisRecord depthRecord_;
};

class EfficiencyPanel : public AnalysisPanelBase {
  Q_OBJECT
 public:
  explicit EfficiencyPanel(StudioContext& context, QWidget* parent = nullptr);
  QCustomPlot* plot() const { return plot_; }
  QTableWidget* table() const { return table_; }

 protected:
  void showResult(const AnalysisRecord& record) override;
  void clearResult() override;

 private:
  QCustomPlot* plot_;
  QTableWidget* table_;
};

class DiversityPanel : public AnalysisPanelBase {
  Q_OBJECT
 public:
  explicit DiversityPanel(StudioContext& context, QWidget* parent = nullptr);
  QCustomPlot* diversityPlot() const { return diversity_; }
  QCustomPlot* gatePlot() const { return gates_; }

 protected:
  void showResult(const AnalysisRecord& record) override;
  void clearResult() override;

 private:
  QCustomPlot *diversity_, *gates_;
  QTableWidget* table_;
};

/// \brief The reasoning inspector: one case of one run, step by step and stream by stream.
/// Left/Right change the step, Up/Down the stream, PageUp/PageDown the layer.
class InspectorPanel : public AnalysisPanelBase, public CaptureViews {
  Q_OBJECT
 public:
  explicit InspectorPanel(StudioContext& context, QWidget* parent = nullptr);
  int currentStep() const { return step_; }
  int currentStream() const { return stream_; }
  void setPosition(int step, int stream);
  const InspectorData& data() const { return data_; }
  QCPColorMap* colorMap() const { return map_; }
  QCustomPlot* heatmapPlot() const { return heat_; }
  QCustomPlot* rankPlot() const { return ranks_; }
  QTableWidget* topTable() const { return top_; }
  QListWidget* historyList() const { return history_; }
  QLabel* positionLabel() const { return position_; }
  /// Shows data directly (tests, and results passed from elsewhere).
  void showData(const InspectorData& data);
  /// Submits an attention job for the chosen run and user id / case index.
  bool inspect(qint64 runId, const QString& userId, int caseIndex);
  /// Captures: every reasoning step ≥ 1 of every stream ("step1-stream0", ...).
  int captureViewCount() const override;
  QString showCaptureView(int i) override;
  void endCaptureViews() override { setPosition(0, 0); }

 protected:
  void showResult(const AnalysisRecord& record) override;
  void clearResult() override;
  void keyPressEvent(QKeyEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void refresh();
  InspectorData data_;
  int step_ = 0, stream_ = 0;
  QLineEdit* user_;
  QSpinBox* case_;
  QCustomPlot* heat_;
  QCPColorMap* map_ = nullptr;
  QCustomPlot* ranks_;
  QCustomPlot* gate_;
  QTableWidget* top_;
  QListWidget* history_;
  QLabel* position_;
};

/// \brief Comparison table of runs with copy as CSV / Markdown / LaTeX.
class ComparisonPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ComparisonPanel(StudioContext& context, QWidget* parent = nullptr);
  void reload();
  /// The table over all cases, or the first group's when the cases are grouped.
  const ComparisonTable& table() const { return tables_.front(); }
  /// One table per group of cases (one in all when they are not grouped).
  const QVector<ComparisonTable>& tables() const { return tables_; }
  QTableWidget* view() const { return view_; }
  QComboBox* baselineChooser() const { return baseline_; }
  /// "test" or "valid".
  QComboBox* splitChooser() const { return split_; }
  /// "All cases", or groups by history length (data: the number of groups; 0 = all).
  QComboBox* casesChooser() const { return cases_; }
  /// When checked (default), each run's stored re-evaluations (`reasonrec evaluate --set ...`)
  /// are rows of their own under the run, tested against the baseline like the runs.
  QCheckBox* reEvaluationsToggle() const { return reEvaluations_; }
  /// "csv" | "markdown" | "latex": puts the table on the clipboard and returns the text.
  QString copyAs(const QString& format);

 private:
  StudioContext& context_;
  QVector<ComparisonTable> tables_{ComparisonTable()};
  QString groupsKey_;          ///< "run/split/count" that groups_ was made for
  QVector<CaseGroup> groups_;  ///< the cases by history length, while the panel groups them
  QComboBox *baseline_, *split_, *cases_;
  QCheckBox* reEvaluations_;
  QTableWidget* view_;
  QLabel* note_;
};

}  // namespace rr::views
