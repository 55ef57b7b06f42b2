#pragma once
/// \file
/// \brief Charts of the analyses, drawn into a QCustomPlot. Shared by the studio panels and the
/// PDF report, so both show the same figure. Thread: GUI thread.

#include "core/analysis/analysis_results.h"
#include "core/analysis/sweep.h"

#include <QColor>
#include <QString>
#include <QStringList>
#include <QVector>

class QCustomPlot;
class QCPColorMap;

namespace rr {
class ExperimentStore;
}

namespace rr::views {

/// The n-th colour of the studio's categorical palette (colour-blind safe, cycles).
QColor seriesColor(int index);

/// Clears a plot (graphs, plottables, items, extra axis rects, legend entries).
void resetPlot(QCustomPlot* plot);
/// Hides a plot's axes and grid, for a plot with nothing to show (resetPlot() shows them again).
void hideAxes(QCustomPlot* plot);

/// Grouped bars: per run current vs oracle NDCG@k and Recall@k (PLR Figure 4).
void plotOracle(QCustomPlot* plot, const OracleResult& r);
/// Metric against drop fraction per run with ±1 std error bars (PLR Figure 3).
void plotRobustness(QCustomPlot* plot, const RobustnessResult& r, bool ndcg);
/// Metric against evaluation steps per run (LARES Figure 3); `metric` e.g. "ndcg@20".
void plotDepth(QCustomPlot* plot, const DepthResult& r, const QString& metric);
/// Latency (bars, left axis) and MFLOPs per sample (line, right axis) per run / step count.
void plotEfficiency(QCustomPlot* plot, const EfficiencyResult& r);
/// The efficiency table, one definition for the studio panel and the report: column headers
/// (latencies in ms) and one row of cells per measured run / step count.
QStringList efficiencyHeaders();
QVector<QStringList> efficiencyRows(const EfficiencyResult& r);
/// D(t) against step per run.
void plotDiversity(QCustomPlot* plot, const DiversityResult& r);
/// Gate-weight histograms per stream (first run that has a gate).
void plotGates(QCustomPlot* plot, const DiversityResult& r);
/// The reasoning inspector's heatmap for one reasoning step and stream of a traced case: rows
/// are every layer's heads then their average, columns the keys (history items, then earlier
/// reasoning tokens), colour the attention weight. Replaces the plot's colour map and scale.
/// Key labels are thinned to fit the plot's width. Returns the colour map (empty without data).
QCPColorMap* plotAttention(QCustomPlot* plot, const InspectorData& d, int step, int stream);
/// Target rank after every reasoning step, one line per stream (log scale, rank 1 on top); a
/// dashed line marks `markStep` (none when negative).
void plotTargetRanks(QCustomPlot* plot, const InspectorData& d, int markStep);
/// Test metric against one swept key (PLR Figure 2, LARES Figure 5).
void plotSweep(QCustomPlot* plot, const SweepSummary& s, const QString& key, const QString& metric);
/// Validation metric (e.g. "valid/ndcg@10") against epoch, one line per run; returns false when
/// none of the runs has the series.
bool plotTrainingCurves(QCustomPlot* plot, const ExperimentStore& store, const QVector<qint64>& runIds,
                        const QString& metricName);

}  // namespace rr::views
