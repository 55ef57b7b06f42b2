#include "views/analysis/analysis_charts.h"

#include "core/store/experiment_store.h"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace rr::views {

namespace {

void setupAxes(QCustomPlot* plot, const QString& x, const QString& y) {
  plot->xAxis->setLabel(x);
  plot->yAxis->setLabel(y);
  plot->legend->setVisible(true);
  plot->legend->setBrush(QColor(255, 255, 255, 220));
  // The legend sits in its own row under the axes (two entries a line): run names are long,
  // and inside the axes it hid the data.
  if (plot->legend->layout() == plot->axisRect()->insetLayout()) {
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(1, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(1, 0.001);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setWrap(plot->width() >= 420 ? 2 : 1);  // half-width report charts: one entry a line
    plot->legend->setBorderPen(Qt::NoPen);
  }
}

/// Category labels (run names) cut to 24 characters a line so neighbours never overlap.
QSharedPointer<QCPAxisTickerText> textTicker(const QStringList& labels, double start = 1) {
  QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
  for (int i = 0; i < labels.size(); ++i) {
    QStringList lines = labels[i].split(QLatin1Char('\n'));
    for (QString& l : lines)
      if (l.size() > 24) l = l.left(23) + QStringLiteral("…");
    t->addTick(start + i, lines.join(QLatin1Char('\n')));
  }
  return t;
}

/// Y range from 0 to a little above the largest value (bar charts).
void zeroBasedY(QCustomPlot* plot, double maxValue) {
  plot->yAxis->setRange(0, maxValue > 0 ? maxValue * 1.25 : 1.0);
}

/// Legend entries cut to 22 characters: two columns of them fit under a panel-width chart.
QString legendName(const QString& name) { return name.size() > 22 ? name.left(21) + QStringLiteral("…") : name; }

QCPGraph* lineGraph(QCustomPlot* plot, const QString& name, int colorIndex) {
  QCPGraph* g = plot->addGraph();
  g->setName(legendName(name));
  QPen pen(seriesColor(colorIndex), 2);
  g->setPen(pen);
  g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, seriesColor(colorIndex), Qt::white, 7));
  return g;
}

}  // namespace

QColor seriesColor(int index) {
  // Okabe-Ito palette.
  static const QColor colors[] = {QColor(0, 114, 178), QColor(230, 159, 0), QColor(0, 158, 115), QColor(213, 94, 0),
                                  QColor(204, 121, 167), QColor(86, 180, 233), QColor(240, 228, 66), QColor(0, 0, 0)};
  return colors[((index % 8) + 8) % 8];
}

void resetPlot(QCustomPlot* plot) {
  plot->clearPlottables();
  plot->clearItems();
  plot->clearGraphs();
  plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  plot->xAxis->setScaleType(QCPAxis::stLinear);
  plot->yAxis->setScaleType(QCPAxis::stLinear);
  plot->yAxis2->setVisible(false);
  plot->xAxis->setTickLabelRotation(0);
  plot->legend->setVisible(false);
  for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {  // shown again after hideAxes()
    axis->setVisible(true);
    axis->grid()->setVisible(true);
  }
}

void hideAxes(QCustomPlot* plot) {
  for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
    axis->setVisible(false);
    axis->grid()->setVisible(false);
  }
}

void plotOracle(QCustomPlot* plot, const OracleResult& r) {
  resetPlot(plot);
  setupAxes(plot, QString(), QStringLiteral("metric @%1").arg(r.k));
  QCPBarsGroup* group = new QCPBarsGroup(plot);
  const QStringList names{QStringLiteral("NDCG current"), QStringLiteral("NDCG oracle"), QStringLiteral("Recall current"),
                          QStringLiteral("Recall oracle")};
  QStringList labels;
  double maxV = 0;
  QVector<QCPBars*> bars;
  for (int b = 0; b < 4; ++b) {
    auto* bar = new QCPBars(plot->xAxis, plot->yAxis);
    bar->setName(names[b]);
    QColor c = seriesColor(b < 2 ? 0 : 1);
    if (b % 2 == 1) c = c.lighter(150);
    bar->setBrush(c);
    bar->setPen(QPen(c.darker(130)));
    bar->setWidth(0.18);
    bar->setBarsGroup(group);
    bars.append(bar);
  }
  for (int i = 0; i < r.runs.size(); ++i) {
    const auto& x = r.runs[i];
    labels.append(x.label);
    const double v[4] = {x.currentNdcg, x.oracleNdcg, x.currentRecall, x.oracleRecall};
    for (int b = 0; b < 4; ++b) {
      bars[b]->addData(i + 1, v[b]);
      maxV = std::max(maxV, v[b]);
    }
    // Gap annotation above the oracle recall bar.
    auto* text = new QCPItemText(plot);
    text->position->setCoords(i + 1, std::max(x.oracleRecall, x.oracleNdcg) * 1.08 + 1e-6);
    text->setText(QStringLiteral("gap N %1 / R %2").arg(x.oracleNdcg - x.currentNdcg, 0, 'f', 4).arg(x.oracleRecall - x.currentRecall, 0, 'f', 4));
    text->setFont(QFont(plot->font().family(), std::max(7, plot->font().pointSize() - 1)));
  }
  plot->xAxis->setTicker(textTicker(labels));
  plot->xAxis->setRange(0.4, r.runs.size() + 0.6);
  zeroBasedY(plot, maxV);
  plot->replot();
}

void plotRobustness(QCustomPlot* plot, const RobustnessResult& r, bool ndcg) {
  resetPlot(plot);
  setupAxes(plot, QStringLiteral("items dropped from each history (%)"),
            QStringLiteral("%1@%2").arg(ndcg ? QStringLiteral("NDCG") : QStringLiteral("Recall")).arg(r.k));
  double maxV = 0;
  for (int i = 0; i < r.runs.size(); ++i) {
    const auto& x = r.runs[i];
    QCPGraph* g = lineGraph(plot, x.label, i);
    const auto& m = ndcg ? x.ndcgMean : x.recallMean;
    const auto& s = ndcg ? x.ndcgStd : x.recallStd;
    QVector<double> xs;
    for (double d : x.drops) xs.append(100 * d);
    g->setData(xs, m);
    auto* err = new QCPErrorBars(plot->xAxis, plot->yAxis);
    err->removeFromLegend();
    err->setDataPlottable(g);
    err->setData(s);
    err->setPen(QPen(seriesColor(i), 1.5));
    for (int j = 0; j < m.size(); ++j) maxV = std::max(maxV, m[j] + s.value(j));
  }
  plot->xAxis->setRange(-3, 33);
  if (!r.runs.isEmpty() && !r.runs.first().drops.isEmpty())
    plot->xAxis->setRange(-3, 100 * *std::max_element(r.runs.first().drops.begin(), r.runs.first().drops.end()) + 3);
  zeroBasedY(plot, maxV);
  plot->replot();
}

void plotDepth(QCustomPlot* plot, const DepthResult& r, const QString& metric) {
  resetPlot(plot);
  setupAxes(plot, QStringLiteral("reasoning steps at evaluation"), metric.toUpper().replace(QStringLiteral("NDCG"), QStringLiteral("NDCG")));
  double maxV = 0, maxX = 1;
  for (int i = 0; i < r.runs.size(); ++i) {
    const auto& x = r.runs[i];
    QCPGraph* g = lineGraph(plot, x.label + (x.supported ? QString() : QStringLiteral(" (fixed depth)")), i);
    QVector<double> xs, ys;
    for (int j = 0; j < x.steps.size(); ++j) {
      xs.append(x.steps[j] > 0 ? x.steps[j] : 1);
      ys.append(x.metrics.value(j).value(metric));
      maxV = std::max(maxV, ys.last());
      maxX = std::max(maxX, xs.last());
    }
    if (!x.supported) {  // a flat reference line across the others' range
      g->setLineStyle(QCPGraph::lsLine);
      g->setPen(QPen(seriesColor(i), 2, Qt::DashLine));
    }
    g->setData(xs, ys);
  }
  if (std::any_of(r.runs.begin(), r.runs.end(), [](const DepthRun& x) { return !x.supported; })) {
    if (maxX < 2) maxX = 5;  // only fixed-depth runs: draw their reference lines over 1..5
    for (int i = 0; i < r.runs.size(); ++i)
      if (!r.runs[i].supported && plot->graph(i)->dataCount() == 1) {
        const double y = plot->graph(i)->data()->begin()->value;
        plot->graph(i)->setData({1.0, maxX}, {y, y});
      }
  }
  QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
  ticker->setTickStep(1);
  ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setRange(0.5, maxX + 0.5);
  zeroBasedY(plot, maxV);
  plot->replot();
}

namespace {
// A paired latency ratio as "1.04×"; "–" where the rows were not measured side by side.
QString ratioText(double ratio) {
  return ratio > 0 ? QString::number(ratio, 'f', 2) + QStringLiteral("×") : QStringLiteral("–");
}
}  // namespace

QStringList efficiencyHeaders() {
  return {QStringLiteral("Run"),    QStringLiteral("steps"),    QStringLiteral("params"),   QStringLiteral("MFLOPs"),
          QStringLiteral("b1 p50"), QStringLiteral("b1 p99"),   QStringLiteral("b256 p50"), QStringLiteral("b256 p99"),
          QStringLiteral("b1 × first"), QStringLiteral("b256 × first"), QStringLiteral("users/s"), QStringLiteral("b1 ops"),
          QStringLiteral("peak MB")};
}

QVector<QStringList> efficiencyRows(const EfficiencyResult& r) {
  QVector<QStringList> rows;
  for (const auto& x : r.rows)
    rows.append({x.label, x.steps ? QString::number(x.steps) : QStringLiteral("as trained"), QString::number(x.parameters, 'f', 0),
                 QString::number(x.flopsPerSample / 1e6, 'f', 2), QString::number(x.batch1P50, 'f', 3),
                 QString::number(x.batch1P99, 'f', 3), QString::number(x.batch256P50, 'f', 2),
                 QString::number(x.batch256P99, 'f', 2), ratioText(x.batch1Ratio), ratioText(x.batch256Ratio),
                 QString::number(x.throughput, 'f', 0),
                 x.batch1OperatorCalls > 0 ? QString::number(x.batch1OperatorCalls) : QStringLiteral("–"),
                 QString::number(x.peakRssMb, 'f', 0)});
  return rows;
}

void plotEfficiency(QCustomPlot* plot, const EfficiencyResult& r) {
  resetPlot(plot);
  setupAxes(plot, QString(), QStringLiteral("latency batch 1, p50 (ms)"));
  auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
  bars->setName(QStringLiteral("latency p50, batch 1 (ms)"));
  bars->setBrush(seriesColor(0).lighter(130));
  bars->setPen(QPen(seriesColor(0)));
  bars->setWidth(0.5);
  auto* err = new QCPErrorBars(plot->xAxis, plot->yAxis);
  err->setName(QStringLiteral("p99"));
  err->setDataPlottable(bars);
  plot->yAxis2->setVisible(true);
  plot->yAxis2->setLabel(QStringLiteral("MFLOPs per sample"));
  QCPGraph* flops = plot->addGraph(plot->xAxis, plot->yAxis2);
  flops->setName(QStringLiteral("MFLOPs per sample"));
  flops->setPen(QPen(seriesColor(3), 2));
  flops->setLineStyle(QCPGraph::lsNone);
  flops->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, seriesColor(3), seriesColor(3), 10));
  QStringList labels;
  double maxL = 0, maxF = 0;
  QVector<double> errMinus, errPlus;
  for (int i = 0; i < r.rows.size(); ++i) {
    const auto& x = r.rows[i];
    labels.append(x.steps > 0 ? QStringLiteral("%1\nsteps %2").arg(x.label).arg(x.steps) : x.label);
    bars->addData(i + 1, x.batch1P50);
    errMinus.append(0);
    errPlus.append(std::max(0.0, x.batch1P99 - x.batch1P50));
    flops->addData(i + 1, x.flopsPerSample / 1e6);
    maxL = std::max(maxL, x.batch1P99);
    maxF = std::max(maxF, x.flopsPerSample / 1e6);
  }
  err->setData(errMinus, errPlus);
  plot->xAxis->setTicker(textTicker(labels));
  plot->xAxis->setRange(0.4, r.rows.size() + 0.6);
  zeroBasedY(plot, maxL);
  plot->yAxis2->setRange(0, maxF > 0 ? maxF * 1.25 : 1);
  plot->replot();
}

void plotDiversity(QCustomPlot* plot, const DiversityResult& r) {
  resetPlot(plot);
  setupAxes(plot, QStringLiteral("reasoning step t"), QStringLiteral("D(t), pairwise ‖Δh‖²"));
  double maxV = 0, maxX = 0;
  for (int i = 0; i < r.runs.size(); ++i) {
    const auto& x = r.runs[i];
    QCPGraph* g = lineGraph(plot, QStringLiteral("%1 (M=%2)").arg(x.label).arg(x.streams), i);
    for (int t = 0; t < x.diversityMean.size(); ++t) {
      g->addData(t, x.diversityMean[t]);
      maxV = std::max(maxV, x.diversityMean[t] + x.diversityStd.value(t));
      maxX = std::max(maxX, static_cast<double>(t));
    }
    auto* err = new QCPErrorBars(plot->xAxis, plot->yAxis);
    err->removeFromLegend();
    err->setDataPlottable(g);
    err->setData(x.diversityStd);
    err->setPen(QPen(seriesColor(i)));
  }
  plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed));
  plot->xAxis->setRange(-0.5, maxX + 0.5);
  zeroBasedY(plot, maxV);
  plot->replot();
}

QCPColorMap* plotAttention(QCustomPlot* plot, const InspectorData& d, int step, int stream) {
  resetPlot(plot);
  // A fresh colour map and scale each time (a previous call's scale sits right of the axes).
  for (int i = plot->plotLayout()->elementCount() - 1; i >= 0; --i)
    if (auto* old = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) plot->plotLayout()->remove(old);
  plot->plotLayout()->simplify();
  auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
  auto* scale = new QCPColorScale(plot);
  plot->plotLayout()->addElement(0, 1, scale);
  scale->setLabel(QStringLiteral("attention"));
  map->setColorScale(scale);
  map->setGradient(QCPColorGradient::gpThermal);
  map->setInterpolate(false);
  plot->yAxis->setRangeReversed(true);
  plot->xAxis->setLabel(QStringLiteral("keys: history → reasoning tokens"));

  // Rows: for every layer its heads then their average; columns: keys.
  QVector<const InspectorData::Map*> maps;
  for (const auto& m : d.maps)
    if (m.step == step && m.stream == stream) maps.append(&m);
  std::sort(maps.begin(), maps.end(), [](auto* a, auto* b) { return a->layer < b->layer; });
  int keys = 0, rows = 0;
  for (auto* m : maps) {
    keys = std::max(keys, m->weights.isEmpty() ? 0 : static_cast<int>(m->weights.first().size()));
    rows += m->weights.size() + 1;
  }
  QSharedPointer<QCPAxisTickerText> yt(new QCPAxisTickerText), xt(new QCPAxisTickerText);
  if (keys > 0 && rows > 0) {
    map->data()->setSize(keys, rows);
    map->data()->setRange(QCPRange(0, keys - 1), QCPRange(0, rows - 1));
    int row = 0;
    for (auto* m : maps) {
      for (int h = 0; h < m->weights.size(); ++h, ++row) {
        for (int k = 0; k < keys; ++k) map->data()->setCell(k, row, m->weights[h].value(k));
        yt->addTick(row, QStringLiteral("L%1 h%2").arg(m->layer).arg(h));
      }
      const QVector<double> avg = InspectorData::headAverage(*m);
      for (int k = 0; k < keys; ++k) map->data()->setCell(k, row, avg.value(k));
      yt->addTick(row, QStringLiteral("L%1 avg").arg(m->layer));
      ++row;
    }
    // Label every n-th history item so the labels never overlap (about 16 px per rotated label,
    // over the plot's width less its y labels and colour scale), always the most recent item,
    // and every reasoning token (r0, r1, …).
    const int itemKeys = maps.first()->itemKeys;
    const int room = std::max(4, (plot->width() - 160) / 16);
    const int every = std::max(1, (itemKeys + room - 1) / room);
    for (int k = 0; k < keys; ++k) {
      const bool item = k < itemKeys;
      if (item && (itemKeys - 1 - k) % every != 0) continue;
      QString label = item ? d.historyLabels.value(d.history.size() - itemKeys + k) : QStringLiteral("r%1").arg(k - itemKeys);
      if (label.size() > 14) label = label.left(13) + QStringLiteral("…");
      xt->addTick(k, label);
    }
    map->rescaleDataRange(true);
    plot->xAxis->setRange(-0.5, keys - 0.5);
    plot->yAxis->setRange(-0.5, rows - 0.5);
  } else {  // nothing traced: no axes, no scale (an empty frame, not a chart of nothing)
    map->data()->clear();
    map->setDataRange(QCPRange(0, 1));
    scale->setVisible(false);
    hideAxes(plot);
  }
  plot->yAxis->setTicker(yt);
  plot->xAxis->setTicker(xt);
  plot->xAxis->setTickLabelRotation(keys > 8 ? 60 : 0);
  plot->replot();
  return map;
}

void plotTargetRanks(QCustomPlot* plot, const InspectorData& d, int markStep) {
  resetPlot(plot);
  plot->xAxis->setLabel(QStringLiteral("step"));
  plot->yAxis->setLabel(QStringLiteral("target rank"));
  plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
  plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  plot->yAxis->setRangeReversed(true);
  plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed));
  double maxRank = 10;
  if (!d.ranks.isEmpty()) {
    plot->legend->setVisible(d.streams > 1);
    for (int m = 0; m < d.streams; ++m) {
      QCPGraph* g = plot->addGraph();
      g->setName(QStringLiteral("stream %1").arg(m));
      g->setPen(QPen(seriesColor(m), 2));
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, seriesColor(m), Qt::white, 6));
      for (int s = 0; s < d.ranks.size(); ++s) {
        g->addData(s, d.ranks[s].value(m) + 1);
        maxRank = std::max(maxRank, d.ranks[s].value(m) + 1.0);
      }
    }
    if (markStep >= 0) {
      auto* line = new QCPItemStraightLine(plot);
      line->point1->setCoords(markStep, 1);
      line->point2->setCoords(markStep, 2);
      line->setPen(QPen(Qt::gray, 1, Qt::DashLine));
    }
  }
  if (d.ranks.isEmpty()) hideAxes(plot);
  plot->xAxis->setRange(-0.5, std::max(1, d.steps) - 0.5);
  plot->yAxis->setRange(0.8, maxRank * 1.5);
  plot->replot();
}

void plotGates(QCustomPlot* plot, const DiversityResult& r) {
  resetPlot(plot);
  setupAxes(plot, QStringLiteral("gate weight g_m"), QStringLiteral("fraction of users"));
  const DiversityRun* run = nullptr;
  for (const auto& x : r.runs)
    if (x.hasGate) {
      run = &x;
      break;
    }
  if (!run) {
    auto* text = new QCPItemText(plot);
    text->position->setType(QCPItemPosition::ptAxisRectRatio);
    text->position->setCoords(0.5, 0.5);
    text->setText(QStringLiteral("None of these runs has a stream gate"));
    plot->legend->setVisible(false);
    plot->xAxis->setRange(0, 1);
    plot->yAxis->setRange(0, 1);
    plot->replot();
    return;
  }
  plot->plotLayout()->setRowStretchFactor(0, 1);
  double maxV = 0;
  const double w = 1.0 / run->bins;
  for (int m = 0; m < run->gateHistogram.size(); ++m) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(QStringLiteral("%1 s%2 (mean %3)").arg(legendName(run->label)).arg(m).arg(run->gateMean.value(m), 0, 'f', 3));
    QColor c = seriesColor(m);
    c.setAlpha(150);
    bars->setBrush(c);
    bars->setPen(QPen(seriesColor(m)));
    bars->setWidth(w);
    for (int b = 0; b < run->gateHistogram[m].size(); ++b) {
      bars->addData((b + 0.5) * w, run->gateHistogram[m][b]);
      maxV = std::max(maxV, run->gateHistogram[m][b]);
    }
  }
  plot->xAxis->setRange(0, 1);
  zeroBasedY(plot, maxV);
  plot->replot();
}

void plotSweep(QCustomPlot* plot, const SweepSummary& s, const QString& key, const QString& metric) {
  resetPlot(plot);
  setupAxes(plot, key, QStringLiteral("test %1").arg(metric));
  // Points sharing the other keys' values form one line.
  QMap<QString, QVector<QPair<double, double>>> lines;
  QStringList categories;
  bool numeric = true;
  for (const auto& p : s.points) {
    if (!p.test.contains(metric)) continue;
    const QJsonValue v = p.values.value(key);
    if (!v.isDouble()) numeric = false;
    const QString text = v.isDouble() ? QString::number(v.toDouble()) : v.toVariant().toString();
    if (!categories.contains(text)) categories.append(text);
  }
  for (const auto& p : s.points) {
    if (!p.test.contains(metric)) continue;
    QStringList rest;
    for (const QString& k : s.keys)
      if (k != key) rest.append(QStringLiteral("%1=%2").arg(k.section(QLatin1Char('.'), -1)).arg(p.values.value(k).toVariant().toString()));
    const QJsonValue v = p.values.value(key);
    const QString text = v.isDouble() ? QString::number(v.toDouble()) : v.toVariant().toString();
    const double x = numeric ? v.toDouble() : categories.indexOf(text) + 1;
    lines[rest.isEmpty() ? metric : rest.join(QLatin1Char(' '))].append({x, p.test.value(metric)});
  }
  double maxV = 0, minX = 1e300, maxX = -1e300;
  int i = 0;
  for (auto it = lines.begin(); it != lines.end(); ++it, ++i) {
    auto pts = it.value();
    std::sort(pts.begin(), pts.end());
    QCPGraph* g = lineGraph(plot, it.key(), i);
    for (const auto& [x, y] : pts) {
      g->addData(x, y);
      maxV = std::max(maxV, y);
      minX = std::min(minX, x);
      maxX = std::max(maxX, x);
    }
  }
  if (!numeric) plot->xAxis->setTicker(textTicker(categories));
  if (minX <= maxX) {
    const double pad = std::max(0.5, 0.08 * (maxX - minX));
    plot->xAxis->setRange(minX - pad, maxX + pad);
  }
  zeroBasedY(plot, maxV);
  plot->replot();
}

bool plotTrainingCurves(QCustomPlot* plot, const ExperimentStore& store, const QVector<qint64>& runIds,
                        const QString& metricName) {
  resetPlot(plot);
  setupAxes(plot, QStringLiteral("epoch"), metricName);
  double maxV = 0, minV = 0, maxX = 1;
  bool any = false;
  for (int i = 0; i < runIds.size(); ++i) {
    const auto records = store.metrics(runIds[i], metricName);
    if (records.isEmpty()) continue;
    const RunRecord run = store.run(runIds[i]);
    const QString label = runLabel(run);
    // Stages follow each other: epochs continue across stages. Series logged several times an
    // epoch (losses) are drawn as their per-epoch mean. Losses of different stages are different
    // objectives (SPT's cross-entropy, GRPO's clipped surrogate), so each stage gets its own line
    // (dashed after the first); a validation metric stays one line across stages.
    const bool splitStages = metricName.startsWith(QLatin1String("loss/"));
    QVector<QPair<QString, QMap<int, QPair<double, int>>>> series;  // (stage, x -> (sum, count))
    QString stage;
    int offset = 0, lastEpoch = 0;
    for (const auto& m : records) {
      if (m.name != metricName) continue;
      if (series.isEmpty() || m.stage != stage) {
        if (!series.isEmpty()) offset += lastEpoch;
        stage = m.stage;
        if (series.isEmpty() || splitStages) series.append({stage, {}});
      }
      lastEpoch = m.epoch;
      auto& acc = series.last().second[offset + m.epoch];
      acc.first += m.value;
      acc.second += 1;
    }
    for (int k = 0; k < series.size(); ++k) {
      const bool named = splitStages && series.size() > 1;
      QCPGraph* g = lineGraph(plot, named ? QStringLiteral("%1 (%2)").arg(label, series[k].first) : label, i);
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
      if (k > 0) {
        QPen pen = g->pen();
        pen.setStyle(Qt::DashLine);
        g->setPen(pen);
      }
      const auto& perEpoch = series[k].second;
      for (auto it = perEpoch.begin(); it != perEpoch.end(); ++it) {
        const double v = it.value().first / it.value().second;
        g->addData(it.key(), v);
        maxV = std::max(maxV, v);
        minV = std::min(minV, v);  // GRPO's surrogate loss can be negative
        maxX = std::max(maxX, static_cast<double>(it.key()));
        any = true;
      }
    }
  }
  plot->xAxis->setRange(0, maxX + 1);
  zeroBasedY(plot, maxV);
  if (minV < 0) plot->yAxis->setRange(minV * 1.25, maxV > 0 ? maxV * 1.25 : 0.0);
  plot->replot();
  return any;
}

}  // namespace rr::views
