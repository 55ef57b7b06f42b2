#include "views/report/report_writer.h"

#include "core/analysis/analysis_results.h"
#include "core/analysis/comparison.h"
#include "core/errors.h"
#include "core/project/project.h"
#include "core/project/run_config.h"
#include "core/project/stored_config.h"
#include "core/store/experiment_store.h"
#include "views/analysis/analysis_charts.h"

#include <qcustomplot.h>

#include <QDateTime>
#include <QFileInfo>
#include <QPainter>
#include <QPdfWriter>

#include <functional>
#include <memory>

namespace rr::views {

namespace {

constexpr int kDpi = 120;                // logical resolution of the PDF pages
constexpr int kMargin = 70;              // page margin in those units
constexpr double kChartScale = 2.0;      // charts are rasterised at twice the page resolution

/// Analysis kinds in the order the report shows them (the inspector is per user, so it is left
/// out unless asked for: ReportOptions::withInspector or an explicit list).
const QStringList kReportKinds{QStringLiteral("oracle"), QStringLiteral("robustness"), QStringLiteral("depth"),
                               QStringLiteral("diversity"), QStringLiteral("efficiency")};

struct Plan {
  QString title;
  std::unique_ptr<ExperimentStore> store;
  QString projectName;
  QVector<RunRecord> runs;
  QVector<qint64> runIds;
  QVector<RunRecord> leftOut;  ///< with no runs named: the runs that are not completed
  qint64 baseline = 0;
  QVector<AnalysisRecord> analyses;  ///< one per kind, report order
  QStringList pageTitles;
};

Plan makePlan(const ReportOptions& o) {
  Plan p;
  const Project project = Project::openOrCreate(o.projectDir);
  p.projectName = project.name();
  p.store = std::make_unique<ExperimentStore>(project.databasePath());
  if (o.runIds.isEmpty()) {
    const auto all = p.store->runs();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (it->status == RunStatus::Completed) {
        p.runIds.append(it->id);
        p.runs.append(*it);
      } else {
        p.leftOut.append(*it);
      }
    }
  } else {
    p.runIds = o.runIds;
    for (qint64 id : p.runIds) p.runs.append(p.store->run(id));
  }
  p.baseline = o.baselineRunId ? o.baselineRunId : p.runIds.value(0);
  p.title = o.title.isEmpty() ? QStringLiteral("%1: results").arg(p.projectName) : o.title;
  const QStringList kinds = !o.analyses.isEmpty() ? o.analyses
                            : o.withInspector    ? kReportKinds + QStringList{QStringLiteral("attention")}
                                                 : kReportKinds;
  for (const QString& kind : kinds) {
    if (!analysisKinds().contains(kind))
      throw ConfigError(QStringLiteral("analyses"), QStringLiteral("'%1' is not one of %2").arg(kind, analysisKinds().join(QStringLiteral(", "))));
    // The newest result of this kind that covers at least one reported run.
    for (const auto& a : p.store->analyses(kind)) {
      if (std::any_of(a.runIds.begin(), a.runIds.end(), [&](qint64 id) { return p.runIds.contains(id); })) {
        p.analyses.append(a);
        break;
      }
    }
  }
  p.pageTitles = {QStringLiteral("Overview"), QStringLiteral("Configurations"), QStringLiteral("Comparison"), QStringLiteral("Training curves")};
  for (const auto& a : p.analyses) p.pageTitles.append(analysisKindTitle(a.kind));
  return p;
}

/// Draws pages top to bottom with a cursor; starts a new page when something does not fit.
class PageWriter {
 public:
  PageWriter(QPdfWriter& writer, QPainter& painter, QString footer)
      : writer_(writer), painter_(painter), footer_(std::move(footer)) {
    width_ = writer.width() - 2 * kMargin;
    height_ = writer.height() - 2 * kMargin;
    y_ = kMargin;
    base_ = QFont(QStringLiteral("DejaVu Sans"), 10);
    painter_.setFont(base_);
  }
  int pages() const { return pages_; }
  int width() const { return width_; }
  int remaining() const { return kMargin + height_ - y_; }

  void newPage() {
    drawFooter();
    writer_.newPage();
    ++pages_;
    y_ = kMargin;
  }
  void finish() { drawFooter(); }

  void heading(const QString& text, double scale = 1.8) {
    QFont f = base_;
    f.setPointSizeF(base_.pointSizeF() * scale);
    f.setBold(true);
    painter_.setFont(f);
    const QRect r = painter_.boundingRect(QRect(kMargin, y_, width_, height_), Qt::TextWordWrap, text);
    painter_.drawText(QRect(kMargin, y_, width_, r.height()), Qt::TextWordWrap, text);
    y_ += r.height() + 12;
    painter_.setFont(base_);
  }
  void paragraph(const QString& text, bool italic = false, double scale = 1.0) {
    QFont f = base_;
    f.setItalic(italic);
    f.setPointSizeF(base_.pointSizeF() * scale);
    painter_.setFont(f);
    const QRect r = painter_.boundingRect(QRect(kMargin, y_, width_, height_), Qt::TextWordWrap, text);
    if (r.height() > remaining()) newPage();
    painter_.drawText(QRect(kMargin, y_, width_, r.height()), Qt::TextWordWrap, text);
    y_ += r.height() + 10;
    painter_.setFont(base_);
  }
  /// A table; bold(row, col) marks cells to set in bold. Column 0 is left-aligned.
  void table(const QStringList& headers, const QVector<QStringList>& rows,
             const std::function<bool(int, int)>& bold = {}, double scale = 0.85) {
    QFont f = base_;
    f.setPointSizeF(base_.pointSizeF() * scale);
    QFont fb = f;
    fb.setBold(true);
    painter_.setFont(fb);
    const int rowH = painter_.fontMetrics().height() + 8;
    // Column widths from the contents, scaled to the page width when too wide.
    const QFontMetrics fm = painter_.fontMetrics();
    QVector<int> w(headers.size(), 0), values(headers.size(), 0);
    for (int c = 0; c < headers.size(); ++c) w[c] = fm.horizontalAdvance(headers[c]) + 16;
    for (const auto& row : rows)
      for (int c = 0; c < row.size() && c < w.size(); ++c) values[c] = std::max(values[c], fm.horizontalAdvance(row[c]) + 16);
    for (int c = 0; c < w.size(); ++c) w[c] = std::max(w[c], values[c]);
    int total = 0;
    for (int x : w) total += x;
    if (total > width_) {
      // Too wide: headers first wrap at their spaces, down to their longest word or the figures.
      for (int c = 0; c < w.size(); ++c) {
        int word = 0;
        for (const QString& part : headers[c].split(QLatin1Char(' '), Qt::SkipEmptyParts))
          word = std::max(word, fm.horizontalAdvance(part) + 16);
        w[c] = std::max(values[c], word);
      }
      total = 0;
      for (int x : w) total += x;
    }
    if (total > width_) {
      // Too wide: the label column (long run names) gives way first, down to a quarter of the
      // page (never widened to it), so the figures stay whole; only then do the others shrink.
      const int others = total - w[0];
      const int minFirst = std::min(w[0], width_ / 4);
      if (others + minFirst <= width_) {
        w[0] = width_ - others;
      } else {
        w[0] = minFirst;
        for (int c = 1; c < w.size(); ++c) w[c] = w[c] * (width_ - minFirst) / std::max(1, others);
      }
      total = 0;
      for (int x : w) total += x;
    }
    int headerH = rowH;  // taller where a header wraps
    for (int c = 0; c < w.size(); ++c)
      headerH = std::max(headerH, fm.boundingRect(QRect(0, 0, w[c] - 12, 10 * rowH), Qt::TextWordWrap, headers[c]).height() + 8);
    auto drawRow = [&](const QStringList& cells, bool header, int rowIndex) {
      const int h = header ? headerH : rowH;
      if (h > remaining()) newPage();
      int x = kMargin;
      if (header) painter_.fillRect(QRect(kMargin, y_, std::min(total, width_), h), QColor(230, 236, 245));
      for (int c = 0; c < w.size(); ++c) {
        const bool b = header || (bold && bold(rowIndex, c));
        painter_.setFont(b ? fb : f);
        const QRect cell(x + 6, y_, w[c] - 12, h);
        const int align = (c == 0 ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter;
        if (header && h > rowH)
          painter_.drawText(cell, align | Qt::TextWordWrap, cells.value(c));
        else
          painter_.drawText(cell, align, painter_.fontMetrics().elidedText(cells.value(c), Qt::ElideRight, cell.width()));
        x += w[c];
      }
      y_ += h;
      painter_.setPen(QColor(200, 200, 200));
      painter_.drawLine(kMargin, y_, kMargin + std::min(total, width_), y_);
      painter_.setPen(Qt::black);
    };
    drawRow(headers, true, -1);
    for (int r = 0; r < rows.size(); ++r) drawRow(rows[r], false, r);
    y_ += 14;
    painter_.setFont(base_);
  }
  /// Renders a chart filled by `fill` into a box of the page width and `height`.
  void chart(int height, const std::function<void(QCustomPlot*)>& fill, int widthOverride = 0, bool sameRow = false) {
    const int w = widthOverride > 0 ? widthOverride : width_;
    if (!sameRow && height > remaining()) newPage();
    QCustomPlot plot;
    plot.setAttribute(Qt::WA_DontShowOnScreen);
    plot.resize(w * 96 / kDpi, height * 96 / kDpi);  // lay out at screen density
    QFont f(QStringLiteral("DejaVu Sans"), 9);
    plot.setFont(f);
    for (QCPAxis* axis : plot.axisRect()->axes()) {
      axis->setTickLabelFont(f);
      axis->setLabelFont(f);
    }
    plot.legend->setFont(f);
    fill(&plot);
    const QPixmap pm = plot.toPixmap(plot.width(), plot.height(), kChartScale * kDpi / 96.0);
    painter_.drawPixmap(QRect(kMargin + chartX_, y_, w, height), pm);
    if (sameRow) {
      chartX_ += w + 20;
      rowHeight_ = std::max(rowHeight_, height);
    } else {
      y_ += height + 10;
    }
  }
  /// Ends a row of side-by-side charts.
  void endRow() {
    y_ += rowHeight_ + 10;
    chartX_ = 0;
    rowHeight_ = 0;
  }
  void space(int px) { y_ += px; }

 private:
  void drawFooter() {
    QFont f = base_;
    f.setPointSizeF(base_.pointSizeF() * 0.75);
    painter_.setFont(f);
    painter_.setPen(QColor(110, 110, 110));
    painter_.drawText(QRect(kMargin, writer_.height() - kMargin + 20, width_, 30), Qt::AlignLeft | Qt::AlignVCenter, footer_);
    painter_.drawText(QRect(kMargin, writer_.height() - kMargin + 20, width_, 30), Qt::AlignRight | Qt::AlignVCenter,
                      QStringLiteral("page %1").arg(pages_));
    painter_.setPen(Qt::black);
    painter_.setFont(base_);
  }
  QPdfWriter& writer_;
  QPainter& painter_;
  QString footer_;
  QFont base_;
  int width_ = 0, height_ = 0, y_ = 0, pages_ = 1, chartX_ = 0, rowHeight_ = 0;
};

QString datasetLine(const DatasetRecord& d) {
  return QStringLiteral("%1 (%2): %3 users, %4 items, %5 interactions; mean length %6 (median %7, %8–%9); sparsity %10%%11")
      .arg(d.name, d.format)
      .arg(d.stats.users).arg(d.stats.items).arg(d.stats.interactions)
      .arg(d.stats.avgLength, 0, 'f', 2).arg(d.stats.medianLength, 0, 'f', 1).arg(d.stats.minLength).arg(d.stats.maxLength)
      .arg(100 * d.stats.sparsity, 0, 'f', 3).arg(d.stats.hasTitles ? QStringLiteral(", item titles") : QString());
}

/// Key settings shown for every run, then what differs from the first run.
const QStringList kConfigKeys{QStringLiteral("model.backbone"),     QStringLiteral("model.reasoner.kind"),
                              QStringLiteral("model.d"),            QStringLiteral("model.layers"),
                              QStringLiteral("model.reasoner.steps"), QStringLiteral("model.reasoner.streams"),
                              QStringLiteral("data.max_len"),       QStringLiteral("train.epochs"),
                              QStringLiteral("train.lr"),           QStringLiteral("train.batch_size")};

/// The runs a default report leaves out, each with where it stands: "#4 plr (running, spt
/// epoch 7 / 30), #5 erl (failed)".
QString leftOutItems(const QVector<RunRecord>& runs) {
  QStringList items;
  for (const RunRecord& r : runs) {
    QString state = runStatusName(r.status);
    if (isActiveStatus(r.status)) state += QStringLiteral(", ") + stageProgressText(r);
    items.append(QStringLiteral("%1 (%2)").arg(runLabel(r), state));
  }
  return items.join(QStringLiteral(", "));
}

/// The title page's line on the runs a default report leaves out.
QString leftOutLine(const QVector<RunRecord>& runs) {
  return QStringLiteral("Not in this report, because not completed: %1. With no runs named, the report takes every "
                        "completed run; name runs to include others (select them in the studio, or --run).")
      .arg(leftOutItems(runs));
}

QString jsonText(const QJsonValue& v) {
  if (v.isString()) return v.toString();
  if (v.isDouble()) return QString::number(v.toDouble(), 'g', 6);
  if (v.isBool()) return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
  if (v.isArray()) {
    QStringList parts;
    for (const auto& x : v.toArray()) parts.append(jsonText(x));
    return QLatin1Char('[') + parts.join(QLatin1Char(',')) + QLatin1Char(']');
  }
  return QStringLiteral("–");
}

void analysisPage(PageWriter& w, const AnalysisRecord& a) {
  QStringList ids;
  for (qint64 id : a.runIds) ids.append(QString::number(id));
  w.heading(analysisKindTitle(a.kind));
  const int half = (w.width() - 20) / 2;
  if (a.kind == QLatin1String("oracle")) {
    const OracleResult r = OracleResult::fromJson(a.result);
    w.chart(480, [&](QCustomPlot* p) { plotOracle(p, r); });
    QVector<QStringList> rows;
    for (const auto& x : r.runs)
      rows.append({x.label, QStringLiteral("%1 × %2").arg(x.steps).arg(x.streams), QString::number(x.currentNdcg, 'f', 4),
                   QString::number(x.oracleNdcg, 'f', 4), QString::number(x.oracleNdcg - x.currentNdcg, 'f', 4),
                   QString::number(x.currentRecall, 'f', 4), QString::number(x.oracleRecall, 'f', 4),
                   QString::number(x.oracleRecall - x.currentRecall, 'f', 4)});
    w.table({QStringLiteral("Run"), QStringLiteral("steps × streams"), QStringLiteral("NDCG@%1").arg(r.k), QStringLiteral("oracle"),
             QStringLiteral("gap"), QStringLiteral("Recall@%1").arg(r.k), QStringLiteral("oracle"), QStringLiteral("gap")},
            rows);
    w.paragraph(QStringLiteral("How much better each model would rank if, for every user, we could pick its best intermediate "
                               "reasoning state (every step and stream) instead of the one it uses. A large gap means the "
                               "reasoning produces good candidates that the final aggregation does not exploit; a model "
                               "without reasoning has no gap. %1 split, %2 cases per run.")
                    .arg(r.split).arg(r.runs.value(0).cases),
                true);
  } else if (a.kind == QLatin1String("robustness")) {
    const RobustnessResult r = RobustnessResult::fromJson(a.result);
    w.chart(400, [&](QCustomPlot* p) { plotRobustness(p, r, true); }, half, true);
    w.chart(400, [&](QCustomPlot* p) { plotRobustness(p, r, false); }, half, true);
    w.endRow();
    QVector<QStringList> rows;
    for (const auto& x : r.runs) {
      QStringList row{x.label};
      for (int i = 0; i < x.drops.size(); ++i) row.append(QStringLiteral("%1 ± %2").arg(x.ndcgMean[i], 0, 'f', 4).arg(x.ndcgStd.value(i), 0, 'f', 4));
      rows.append(row);
    }
    QStringList headers{QStringLiteral("Run (NDCG@%1)").arg(r.k)};
    for (double d : r.runs.value(0).drops) headers.append(QStringLiteral("%1% dropped").arg(100 * d, 0, 'f', 0));
    w.table(headers, rows);
    w.paragraph(QStringLiteral("Ranking quality when a random %1 of every user's history is removed before recommending "
                               "(%2 seeded repetitions, error bars ±1 standard deviation). Flatter curves mean the model "
                               "depends less on any single past interaction.")
                    .arg([&] {
                      QStringList parts;
                      for (double d : r.runs.value(0).drops)
                        if (d > 0) parts.append(QString::number(100 * d, 'f', 0));
                      return parts.join(QStringLiteral("/")) + QLatin1Char('%');
                    }())
                    .arg(r.repetitions),
                true);
  } else if (a.kind == QLatin1String("depth")) {
    const DepthResult r = DepthResult::fromJson(a.result);
    w.chart(380, [&](QCustomPlot* p) { plotDepth(p, r, QStringLiteral("ndcg@20")); }, half, true);
    w.chart(380, [&](QCustomPlot* p) { plotDepth(p, r, QStringLiteral("recall@20")); }, half, true);
    w.endRow();
    QVector<QStringList> rows;
    for (const auto& x : r.runs)
      for (int i = 0; i < x.steps.size(); ++i)
        rows.append({x.label + (x.supported ? QString() : QStringLiteral(" (fixed)")), QString::number(x.steps[i]),
                     QString::number(x.metrics[i].value(QStringLiteral("ndcg@10")), 'f', 4), QString::number(x.metrics[i].value(QStringLiteral("ndcg@20")), 'f', 4),
                     QString::number(x.metrics[i].value(QStringLiteral("recall@10")), 'f', 4), QString::number(x.metrics[i].value(QStringLiteral("recall@20")), 'f', 4)});
    w.table({QStringLiteral("Run"), QStringLiteral("steps"), QStringLiteral("NDCG@10"), QStringLiteral("NDCG@20"), QStringLiteral("Recall@10"),
             QStringLiteral("Recall@20")},
            rows);
    w.paragraph(QStringLiteral("The same trained model evaluated with more or fewer reasoning steps than it was trained with. "
                               "Rising curves mean extra thinking at serving time pays off; models without reasoning are "
                               "shown as flat reference lines."),
                true);
  } else if (a.kind == QLatin1String("diversity")) {
    const DiversityResult r = DiversityResult::fromJson(a.result);
    w.chart(380, [&](QCustomPlot* p) { plotDiversity(p, r); }, half, true);
    w.chart(380, [&](QCustomPlot* p) { plotGates(p, r); }, half, true);
    w.endRow();
    w.paragraph(QStringLiteral("Left: how far apart the parallel reasoning streams are after each step, D(t) = mean pairwise "
                               "squared distance (zero for single-stream models). Right: how the learned gate weighs the "
                               "streams across users; a gate stuck at one stream means the others contribute little."),
                true);
  } else if (a.kind == QLatin1String("efficiency")) {
    const EfficiencyResult r = EfficiencyResult::fromJson(a.result);
    w.chart(400, [&](QCustomPlot* p) { plotEfficiency(p, r); });
    w.table(efficiencyHeaders(), efficiencyRows(r));
    w.paragraph(QStringLiteral("Serving cost: model size, analytic compute per recommendation, latency of one request and of a "
                               "batch of 256 (median and 99th percentile, in ms), each row's latency against the first row's "
                               "(median of per-request ratios: the runs' requests were interleaved), throughput, the "
                               "LibTorch operator calls of one batch-1 request (b1 ops; on a GPU each costs about a kernel "
                               "launch, so batch-1 latency there follows them), and the measuring process's peak memory. "
                               "Measured on %1 with %2 threads.")
                    .arg(r.device).arg(r.threads),
                true);
  } else if (a.kind == QLatin1String("attention")) {
    const InspectorData d = InspectorData::fromJson(a.result);
    w.paragraph(QStringLiteral("%1, user %2: %3 history items, target \"%4\" ranked %5.")
                    .arg(d.label, d.userId).arg(d.history.size()).arg(d.targetLabel).arg(d.finalRank + 1));
    QVector<QStringList> rows;
    for (int s = 0; s < d.ranks.size(); ++s)
      for (int m = 0; m < d.ranks[s].size(); ++m)
        rows.append({QStringLiteral("step %1, stream %2").arg(s).arg(m), QString::number(d.ranks[s][m] + 1),
                     d.gate.isEmpty() ? QStringLiteral("–") : QString::number(d.gate.value(m), 'f', 3)});
    w.chart(300, [&](QCustomPlot* p) { plotTargetRanks(p, d, -1); }, half, true);
    w.endRow();
    w.table({QStringLiteral("Reasoning state"), QStringLiteral("target rank"), QStringLiteral("stream gate")}, rows);
    // The attention of every reasoning step ≥ 1 and stream (step 0, the encoder's own attention
    // of the last position, for a model without reasoning steps), two a row.
    constexpr int kHeatHeight = 340;
    const int firstStep = d.steps > 1 ? 1 : 0;
    int inRow = 0;
    for (int s = firstStep; s < d.steps; ++s)
      for (int m = 0; m < std::max(1, d.streams); ++m) {
        if (inRow == 0 && kHeatHeight + 10 > w.remaining()) w.newPage();
        w.chart(kHeatHeight, [&](QCustomPlot* p) {
          plotAttention(p, d, s, m);
          p->plotLayout()->insertRow(0);
          p->plotLayout()->addElement(0, 0, new QCPTextElement(p, QStringLiteral("step %1 · stream %2").arg(s).arg(m)));
          p->replot();
        }, half, true);
        if (++inRow == 2) {
          w.endRow();
          inRow = 0;
        }
      }
    if (inRow > 0) w.endRow();
    w.paragraph(QStringLiteral("Target rank after every reasoning step (step 0 is the encoder's output h_0) and, per step and "
                               "stream, where its reasoning token looks: rows are each layer's attention heads and their "
                               "average, columns the history items (oldest left) and then the stream's reasoning tokens up "
                               "to this one (r0 is step 1's). Streams see the same history but never each other's tokens. "
                               "The stream gate weighs the streams' outputs (PLR and the hybrid)."),
                true);
  }
  w.paragraph(QStringLiteral("Analysis %1 of runs %2, computed %3.").arg(a.id).arg(ids.join(QStringLiteral(", ")), a.createdAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd hh:mm"))),
              false, 0.8);
}

}  // namespace

QVector<QStringList> configurationRows(const QVector<RunConfig>& configs) {
  QStringList keys = kConfigKeys;
  // A setting that does not apply to a run's model (PLR's streams for SASRec) reads "–"; a
  // setting is listed when its cells differ, so runs that differ in it only where it applies to
  // none of them (two SASRec runs with different PLR settings) do not list it.
  const auto cell = [](const RunConfig& c, const QString& k) { return c.applies(k) ? jsonText(c.value(k)) : QStringLiteral("–"); };
  for (int i = 1; i < configs.size(); ++i)
    for (const QString& k : configs[i].diff(configs.first()).keys()) {
      if (keys.contains(k) || k == QLatin1String("threads")) continue;
      QStringList cells;
      for (const RunConfig& c : configs)
        if (!cells.contains(cell(c, k))) cells.append(cell(c, k));
      if (cells.size() > 1) keys.append(k);
    }
  QVector<QStringList> rows;
  for (const QString& k : keys) {
    QStringList row{k};
    for (const RunConfig& c : configs) row.append(cell(c, k));
    rows.append(row);
  }
  return rows;
}

QStringList reportPageTitles(const ReportOptions& options) { return makePlan(options).pageTitles; }

int writeReport(const ReportOptions& options, const QString& pdfPath) {
  Plan plan = makePlan(options);
  if (plan.runs.isEmpty() && !plan.leftOut.isEmpty())
    throw UsageError(QStringLiteral("the report has no runs: none is completed yet (%1); wait for one, or name runs with --run")
                         .arg(leftOutItems(plan.leftOut)));
  if (plan.runs.isEmpty()) throw UsageError(QStringLiteral("the report has no runs: train a run first or name runs with --run"));
  QPdfWriter writer(pdfPath);
  writer.setResolution(kDpi);
  writer.setPageSize(QPageSize(QPageSize::A4));
  writer.setPageMargins(QMarginsF(0, 0, 0, 0));
  writer.setTitle(plan.title);
  writer.setCreator(QStringLiteral("ReasonRec Studio"));
  QPainter painter;
  if (!painter.begin(&writer)) throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot write the report").arg(pdfPath));
  PageWriter w(writer, painter, QStringLiteral("%1 — %2").arg(plan.title, QDate::currentDate().toString(Qt::ISODate)));

  // 1. Title page.
  w.space(120);
  w.heading(plan.title, 2.6);
  w.paragraph(QStringLiteral("ReasonRec Studio report, %1").arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd hh:mm"))), false, 1.2);
  w.space(30);
  w.heading(QStringLiteral("Datasets"), 1.3);
  QVector<qint64> datasetIds;
  for (const auto& r : plan.runs)
    if (!datasetIds.contains(r.datasetId)) datasetIds.append(r.datasetId);
  for (qint64 id : datasetIds) w.paragraph(datasetLine(plan.store->dataset(id)));
  w.heading(QStringLiteral("Runs"), 1.3);
  QVector<QStringList> runRows;
  for (const auto& r : plan.runs)
    runRows.append({runLabel(r), r.preset, runStatusName(r.status), QString::number(r.epochsRun), QString::number(r.bestEpoch),
                    r.device.isEmpty() ? QStringLiteral("–") : r.device, QStringLiteral("%1 s").arg(r.wallSeconds, 0, 'f', 0)});
  w.table({QStringLiteral("Run"), QStringLiteral("preset"), QStringLiteral("status"), QStringLiteral("epochs"), QStringLiteral("best epoch"),
           QStringLiteral("device"), QStringLiteral("training time")},
          runRows);
  if (!plan.leftOut.isEmpty()) w.paragraph(leftOutLine(plan.leftOut), true);
  w.paragraph(QStringLiteral("Contents: configurations; comparison table; training curves%1.")
                  .arg(plan.analyses.isEmpty() ? QString() : QStringLiteral("; ") + [&] {
                    QStringList t;
                    for (const auto& a : plan.analyses) t.append(analysisKindTitle(a.kind).toLower());
                    return t.join(QStringLiteral("; "));
                  }()),
              true);

  // 2. Configurations.
  w.newPage();
  w.heading(QStringLiteral("Configurations"));
  QStringList headers{QStringLiteral("Setting")};
  for (const auto& r : plan.runs) headers.append(runLabel(r));
  QVector<RunConfig> configs;
  for (const auto& r : plan.runs) configs.append(storedRunConfig(r.config));
  const QVector<QStringList> cfgRows = configurationRows(configs);
  w.table(headers, cfgRows);
  w.paragraph(QStringLiteral("The main settings of every run, followed by every other setting in which the runs differ; "
                             "– marks a setting that does not apply to the run's model. "
                             "The full configurations are stored with the runs in the project."),
              true);

  // 3. Comparison table.
  w.newPage();
  w.heading(QStringLiteral("Comparison"));
  const ComparisonTable table = buildComparison(*plan.store, plan.runIds, plan.baseline);
  QVector<QStringList> cmpRows;
  for (int r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    QStringList cells{row.label + (row.baseline ? QStringLiteral(" (baseline)") : QString())};
    for (const QString& m : table.metrics) {
      QString t = row.values.contains(m) ? QString::number(row.values.value(m), 'f', 4) : QStringLiteral("–");
      if (table.significant(r, m)) t += QLatin1Char('*');
      cells.append(t);
    }
    cmpRows.append(cells);
  }
  w.table(QStringList{QStringLiteral("Run")} + table.metrics, cmpRows,
          [&](int r, int c) { return c > 0 && table.bestRow(table.metrics[c - 1]) == r; });
  QVector<QStringList> impRows;
  for (const auto& row : table.rows) {
    if (row.baseline) continue;
    QStringList cells{row.label};
    for (const QString& m : table.metrics)
      cells.append(row.improvement.contains(m) ? QStringLiteral("%1%2%").arg(row.improvement.value(m) >= 0 ? QStringLiteral("+") : QString()).arg(100 * row.improvement.value(m), 0, 'f', 1)
                                               : QStringLiteral("–"));
    impRows.append(cells);
  }
  if (!impRows.isEmpty() && table.baselineRunId) {
    w.paragraph(QStringLiteral("Relative change over the baseline:"));
    w.table(QStringList{QStringLiteral("Run")} + table.metrics, impRows);
  }
  w.paragraph(QStringLiteral("Full-ranking test metrics over all items (higher is better; best per column in bold). "
                             "* marks a difference from the baseline that is significant at p < %1 in a paired t-test over "
                             "the same test users.")
                  .arg(table.alpha),
              true);

  // 4. Training curves.
  w.newPage();
  w.heading(QStringLiteral("Training curves"));
  w.chart(420, [&](QCustomPlot* p) { plotTrainingCurves(p, *plan.store, plan.runIds, QStringLiteral("valid/ndcg@10")); });
  w.paragraph(QStringLiteral("Validation NDCG@10 after every epoch (epochs of later stages continue the axis). Training stops "
                             "early when it no longer improves; the best epoch's weights are the ones evaluated."),
              true);
  w.chart(360, [&](QCustomPlot* p) { plotTrainingCurves(p, *plan.store, plan.runIds, QStringLiteral("loss/total")); });
  w.paragraph(QStringLiteral("Training loss (all objectives together), mean over each epoch; one line per stage (dashed: "
                             "post-training, whose GRPO surrogate loss is a different objective on its own scale)."), true);

  // 5. Analyses.
  for (const auto& a : plan.analyses) {
    w.newPage();
    analysisPage(w, a);
  }
  w.finish();
  const int pages = w.pages();
  painter.end();
  if (!QFileInfo::exists(pdfPath)) throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot write the report").arg(pdfPath));
  return pages;
}

}  // namespace rr::views
