#pragma once
/// \file
/// \brief Live training curves (QCustomPlot): one chart per metric, every shown run overlaid in
/// its own colour; raw values faded behind a debiased-EMA smoothed line; mean ± std bands for
/// `*_mean` metrics that have a `*_std` sibling; log scale; outlier-robust y scaling (spikes run
/// off the chart, its title counts them); hover tooltips; zoom and pan while streaming;
/// follow-latest; redraws coalesced to at most kMaxRedrawsPerSecond.
/// Thread: GUI thread.

#include "views/curve_data.h"

#include <QElapsedTimer>
#include <QHash>
#include <QPointer>
#include <QTimer>
#include <QWidget>
#include <qcustomplot.h>

class QCheckBox;
class QGridLayout;
class QLabel;
class QListWidget;
class QScrollArea;
class QSlider;

namespace rr::views {

/// \brief One metric's chart.
class CurveChart : public QCustomPlot {
  Q_OBJECT
 public:
  CurveChart(const CurveData& data, QString metric, QWidget* parent = nullptr);
  const QString& metric() const { return metric_; }
  void setRuns(const QList<qint64>& runs, const QHash<qint64, QString>& labels);
  void setSmoothing(double beta);
  void setLogScale(bool on);
  void setFollowLatest(bool on);
  bool followLatest() const { return follow_; }
  /// Scale the y axis to the points within Tukey's far-out fences (rr::robustCurveRange)
  /// instead of all points; linear scale only.
  void setIgnoreOutliers(bool on);
  /// Points outside the y range at the last refresh because outliers were ignored.
  int pointsOffScale() const { return offScale_; }
  /// Rebuilds the graphs' data from the model; call replot afterwards.
  void refresh();
  /// The chart's data (run, stage, step, epoch, x, value, smoothed) as CSV rows.
  QVector<QStringList> csvRows() const;
  /// PNG/SVG/PDF by suffix, or CSV data. Empty string on success.
  QString exportTo(const QString& path, int width = 0, int height = 0);
  /// Text of the tooltip for a pixel position (empty when no point is near); for tests.
  QString tooltipAt(const QPoint& pos) const;
  int graphsPerRun() const { return 2; }
  /// Whether the legend shows on screen (the curves panel shows one legend for all its charts
  /// instead). Exported images always carry the chart's own legend.
  void setScreenLegend(bool on);

 signals:
  /// The user zoomed or dragged: follow-latest was switched off.
  void userNavigated();
  void activated(CurveChart* chart);

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void contextMenuEvent(QContextMenuEvent* event) override;

 private:
  struct RunGraphs {
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    QCPGraph* bandLow = nullptr;
    QCPGraph* bandHigh = nullptr;
  };
  void rebuildGraphs();
  const CurveData& data_;
  QString metric_;
  QString stdMetric_;  ///< sibling std series for the ± band, when any
  QList<qint64> runs_;
  QHash<qint64, QString> labels_;
  QHash<qint64, RunGraphs> graphs_;
  double beta_ = 0.6;
  bool follow_ = true;
  bool log_ = false;
  bool ignoreOutliers_ = true;
  int offScale_ = 0;
  bool screenLegend_ = true;
  QCPTextElement* title_ = nullptr;
};

class CurvesPanel : public QWidget {
  Q_OBJECT
 public:
  static constexpr int kMaxRedrawsPerSecond = 25;

  explicit CurvesPanel(CurveData& data, QWidget* parent = nullptr);
  /// Runs to overlay, with their legend labels.
  void setRuns(const QList<qint64>& runs, const QHash<qint64, QString>& labels);
  QList<qint64> runs() const { return runs_; }
  /// Metrics shown as charts (others stay available in the list).
  void setShownMetrics(const QStringList& metrics);
  QStringList shownMetrics() const;
  QList<CurveChart*> charts() const { return charts_; }
  CurveChart* chart(const QString& metric) const;
  /// The chart last clicked (else the first); used by File > Export chart.
  CurveChart* currentChart() const;
  void setSmoothing(double beta);
  double smoothing() const { return beta_; }
  void setLogScale(bool on);
  void setIgnoreOutliers(bool on);
  void setFollowLatest(bool on);
  /// Redraws performed so far (tests check the coalescing).
  int redrawCount() const { return redraws_; }
  /// Forces pending redraws now (capture, tests).
  void flushRedraw();
  /// The legend above the charts: one entry per run with curves, in the run's colour.
  QString legendText() const;
  /// Columns of the chart grid: up to 3 by the number of charts, and no more than fit side by
  /// side at kMinChartWidth, so a narrow panel stacks its charts (scrolling down) instead of
  /// cutting them off at the right.
  int chartColumns() const { return columns_; }
  static constexpr int kMinChartWidth = 300;

 public slots:
  void exportCurrentChart();

 private:
  void onSeriesChanged(const QSet<qint64>& runs);
  void scheduleRedraw();
  void redraw();
  void rebuildCharts();
  int columnsFor(int charts) const;
  void placeCharts();
  bool eventFilter(QObject* watched, QEvent* event) override;
  void refreshMetricList();
  void refreshLegend();
  static bool shownByDefault(const QString& metric);

  CurveData& data_;
  QList<qint64> runs_;
  QHash<qint64, QString> labels_;
  QList<CurveChart*> charts_;
  QPointer<CurveChart> current_;
  QListWidget* metricList_ = nullptr;
  QGridLayout* grid_ = nullptr;
  QScrollArea* scroll_ = nullptr;
  int columns_ = 1;
  QWidget* gridHost_ = nullptr;
  QSlider* smoothingSlider_ = nullptr;
  QLabel* smoothingLabel_ = nullptr;
  QCheckBox* logBox_ = nullptr;
  QCheckBox* outlierBox_ = nullptr;
  QCheckBox* followBox_ = nullptr;
  QLabel* emptyLabel_ = nullptr;
  QLabel* legend_ = nullptr;  ///< shared legend of all charts (rich text)
  QSet<QString> hidden_;    ///< metrics the user unticked
  QSet<QString> explicit_;  ///< metrics the user ticked
  double beta_ = 0.6;
  bool dirty_ = false;
  bool structureDirty_ = true;
  QTimer redrawTimer_;
  QElapsedTimer sinceRedraw_;
  int redraws_ = 0;
};

}  // namespace rr::views
