#include "views/curves_panel.h"

#include "core/analysis/curve_smoothing.h"
#include "views/chart_export.h"

#include <QCheckBox>
#include <QContextMenuEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSplitter>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace rr::views {

namespace {
constexpr int kRawAlpha = 60;          ///< raw curve drawn faded behind the smoothed one
constexpr int kBandAlpha = 40;         ///< fill of the ± std band
constexpr double kTooltipRadiusPx = 24;
constexpr int kMaxCharts = 12;

QString prettyMetric(const QString& name) {
  QString n = name;
  n.replace(QLatin1Char('/'), QStringLiteral(" / "));
  n.replace(QLatin1Char('_'), QLatin1Char(' '));
  return n;
}

QString stdSiblingOf(const QString& metric) {
  if (!metric.endsWith(QLatin1String("_mean"))) return {};
  return metric.left(metric.size() - 5) + QStringLiteral("_std");
}
}  // namespace

// =============================================================================================
// CurveChart

CurveChart::CurveChart(const CurveData& data, QString metric, QWidget* parent)
    : QCustomPlot(parent), data_(data), metric_(std::move(metric)) {
  setObjectName(metric_);
  stdMetric_ = stdSiblingOf(metric_);
  setMinimumSize(260, 200);
  setNoAntialiasingOnDrag(true);
  setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
  axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);
  plotLayout()->insertRow(0);
  title_ = new QCPTextElement(this, prettyMetric(metric_), QFont(font().family(), 10, QFont::Bold));
  plotLayout()->addElement(0, 0, title_);
  xAxis->setLabel(QStringLiteral("step"));
  yAxis->setLabel(metric_.section(QLatin1Char('/'), -1));
  legend->setVisible(true);
  legend->setFont(QFont(font().family(), 8));
  legend->setBrush(QColor(255, 255, 255, 200));
  axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  setMouseTracking(true);
}

void CurveChart::setRuns(const QList<qint64>& runs, const QHash<qint64, QString>& labels) {
  runs_ = runs;
  labels_ = labels;
  rebuildGraphs();
}

void CurveChart::rebuildGraphs() {
  clearGraphs();
  graphs_.clear();
  legend->clearItems();
  for (qint64 run : runs_) {
    if (data_.series(run, metric_).isEmpty()) continue;
    const QColor c = runColor(run);
    RunGraphs g;
    const bool band = !stdMetric_.isEmpty() && !data_.series(run, stdMetric_).isEmpty();
    if (band) {
      g.bandLow = addGraph();
      g.bandHigh = addGraph();
      QColor fill = c;
      fill.setAlpha(kBandAlpha);
      g.bandLow->setPen(Qt::NoPen);
      g.bandHigh->setPen(Qt::NoPen);
      g.bandHigh->setBrush(fill);
      g.bandHigh->setChannelFillGraph(g.bandLow);
      g.bandLow->removeFromLegend();
      g.bandHigh->removeFromLegend();
    }
    g.raw = addGraph();
    QColor faded = c;
    faded.setAlpha(kRawAlpha);
    g.raw->setPen(QPen(faded, 1));
    g.raw->removeFromLegend();
    g.smooth = addGraph();
    g.smooth->setPen(QPen(c, 2));
    const QString label = labels_.value(run, QStringLiteral("run %1").arg(run));
    g.smooth->setName(band ? label + QStringLiteral(" (± std)") : label);
    if (metric_.startsWith(QLatin1String("valid/"))) {
      g.smooth->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    }
    graphs_.insert(run, g);
  }
  legend->setVisible(screenLegend_ && !graphs_.isEmpty());
  refresh();
}

void CurveChart::setScreenLegend(bool on) {
  screenLegend_ = on;
  legend->setVisible(screenLegend_ && !graphs_.isEmpty());
}

void CurveChart::setSmoothing(double beta) {
  beta_ = beta;
  refresh();
}

void CurveChart::setLogScale(bool on) {
  log_ = on;
  if (on) {
    yAxis->setScaleType(QCPAxis::stLogarithmic);
    yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  } else {
    yAxis->setScaleType(QCPAxis::stLinear);
    yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  }
  refresh();
}

void CurveChart::setIgnoreOutliers(bool on) {
  ignoreOutliers_ = on;
  refresh();
}

void CurveChart::setFollowLatest(bool on) {
  follow_ = on;
  if (on) refresh();
}

void CurveChart::refresh() {
  // Graphs appear when a run gets its first point of this metric.
  for (qint64 run : runs_)
    if (!graphs_.contains(run) && !data_.series(run, metric_).isEmpty()) {
      rebuildGraphs();
      return;
    }
  // The runs' own values set the outlier-robust range. Not the smoothed ones: an EMA carries a
  // 1e12 spike for dozens of steps, so it would make the spike look like the bulk.
  std::vector<double> points;
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
    const QVector<CurvePoint>& s = data_.series(it.key(), metric_);
    QVector<double> xs, raw;
    xs.reserve(s.size());
    raw.reserve(s.size());
    std::vector<double> values;
    values.reserve(s.size());
    for (const CurvePoint& p : s) {
      xs.append(p.x);
      raw.append(p.value);
      values.push_back(p.value);
    }
    const std::vector<double> sm = rr::debiasedEma(values, beta_);
    QVector<double> smooth(sm.begin(), sm.end());
    it->raw->setData(xs, raw, true);
    it->smooth->setData(xs, smooth, true);
    it->raw->setVisible(beta_ > 0);
    points.insert(points.end(), values.begin(), values.end());
    if (it->bandLow) {
      // Band = smoothed mean ± smoothed std, on the std series' steps matched to the mean's.
      const QVector<CurvePoint>& sd = data_.series(it.key(), stdMetric_);
      std::vector<double> sdv;
      for (const CurvePoint& p : sd) sdv.push_back(p.value);
      const std::vector<double> sds = rr::debiasedEma(sdv, beta_);
      QVector<double> bx, lo, hi;
      int j = 0;
      for (int i = 0; i < s.size(); ++i) {
        while (j + 1 < sd.size() && sd[j + 1].x <= s[i].x) ++j;
        if (sd.isEmpty() || sd[j].x > s[i].x) continue;
        bx.append(s[i].x);
        lo.append(smooth[i] - sds[static_cast<size_t>(j)]);
        hi.append(smooth[i] + sds[static_cast<size_t>(j)]);
      }
      it->bandLow->setData(bx, lo, true);
      it->bandHigh->setData(bx, hi, true);
    }
  }
  const int offBefore = offScale_;
  offScale_ = 0;
  if (follow_ && !graphs_.isEmpty()) {
    rescaleAxes(true);
    QCPRange y = yAxis->range();
    if (ignoreOutliers_ && !log_) {
      const CurveRange r = robustCurveRange(points);
      if (r.valid && r.outliersLeft > 0) {
        y = QCPRange(r.lower, r.upper);
        yAxis->setRange(y);
        offScale_ = r.outliersLeft;
      }
    }
    // A single point (or a flat curve) gets a range around its value, not a degenerate one.
    const double pad = y.size() > 1e-9 * std::max(1.0, std::abs(y.center())) ? y.size() * 0.05
                                                                               : 0.1 * std::abs(y.center()) + 0.01;
    if (!log_) yAxis->setRange(y.lower - pad, y.upper + pad);
    const QCPRange x = xAxis->range();
    if (x.size() < 1e-9) xAxis->setRange(x.lower - 1, x.upper + 1);
  }
  if (offScale_ != offBefore)
    title_->setText(offScale_ == 0   ? prettyMetric(metric_)
                    : offScale_ == 1 ? tr("%1  (1 point off scale)").arg(prettyMetric(metric_))
                                     : tr("%1  (%2 points off scale)").arg(prettyMetric(metric_)).arg(offScale_));
}

QVector<QStringList> CurveChart::csvRows() const {
  QVector<QStringList> rows;
  rows.append({QStringLiteral("run"), QStringLiteral("run_label"), QStringLiteral("metric"), QStringLiteral("stage"),
               QStringLiteral("step"), QStringLiteral("epoch"), QStringLiteral("x"), QStringLiteral("value"),
               QStringLiteral("smoothed")});
  for (qint64 run : runs_) {
    const QVector<CurvePoint>& s = data_.series(run, metric_);
    std::vector<double> values;
    for (const CurvePoint& p : s) values.push_back(p.value);
    const std::vector<double> sm = rr::debiasedEma(values, beta_);
    for (int i = 0; i < s.size(); ++i)
      rows.append({QString::number(run), labels_.value(run), metric_, s[i].stage, QString::number(s[i].step),
                   QString::number(s[i].epoch), QString::number(s[i].x, 'g', 12), QString::number(s[i].value, 'g', 10),
                   QString::number(sm[static_cast<size_t>(i)], 'g', 10)});
  }
  return rows;
}

QString CurveChart::exportTo(const QString& path, int width, int height) {
  if (QFileInfo(path).suffix().toLower() == QLatin1String("csv")) return writeCsv(path, csvRows());
  // A figure taken out of the panel carries its own legend, even where the panel shows one
  // legend for all charts.
  legend->setVisible(!graphs_.isEmpty());
  const QString err = exportChart(this, path, width, height);
  legend->setVisible(screenLegend_ && !graphs_.isEmpty());
  return err;
}

QString CurveChart::tooltipAt(const QPoint& pos) const {
  double best = kTooltipRadiusPx;
  QString text;
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
    const QVector<CurvePoint>& s = data_.series(it.key(), metric_);
    if (s.isEmpty()) continue;
    const double key = xAxis->pixelToCoord(pos.x());
    auto lb = std::lower_bound(s.begin(), s.end(), key, [](const CurvePoint& p, double k) { return p.x < k; });
    const int centre = static_cast<int>(lb - s.begin());
    std::vector<double> values;
    for (const CurvePoint& p : s) values.push_back(p.value);
    const std::vector<double> sm = rr::debiasedEma(values, beta_);
    for (int i = std::max(0, centre - 2); i < std::min<int>(s.size(), centre + 2); ++i) {
      const double px = xAxis->coordToPixel(s[i].x);
      for (double v : {s[i].value, sm[static_cast<size_t>(i)]}) {
        const double py = yAxis->coordToPixel(v);
        const double d = std::hypot(px - pos.x(), py - pos.y());
        if (d < best) {
          best = d;
          text = QStringLiteral("<b>%1</b><br>%2 step %3%4<br>%5 = %6%7")
                     .arg(labels_.value(it.key(), QStringLiteral("run %1").arg(it.key())).toHtmlEscaped())
                     .arg(s[i].stage)
                     .arg(s[i].step)
                     .arg(s[i].epoch > 0 ? QStringLiteral(" (epoch %1)").arg(s[i].epoch) : QString())
                     .arg(metric_)
                     .arg(s[i].value, 0, 'g', 6)
                     .arg(beta_ > 0 ? QStringLiteral(" (smoothed %1)").arg(sm[static_cast<size_t>(i)], 0, 'g', 6)
                                    : QString());
        }
      }
    }
  }
  return text;
}

void CurveChart::mouseMoveEvent(QMouseEvent* event) {
  QCustomPlot::mouseMoveEvent(event);
  if (event->buttons() != Qt::NoButton) return;
  const QString tip = tooltipAt(event->pos());
  if (tip.isEmpty())
    QToolTip::hideText();
  else
    QToolTip::showText(event->globalPosition().toPoint(), tip, this);
}

void CurveChart::mousePressEvent(QMouseEvent* event) {
  emit activated(this);
  if (event->button() == Qt::LeftButton && follow_) {
    follow_ = false;
    emit userNavigated();
  }
  QCustomPlot::mousePressEvent(event);
}

void CurveChart::wheelEvent(QWheelEvent* event) {
  emit activated(this);
  if (follow_) {
    follow_ = false;
    emit userNavigated();
  }
  QCustomPlot::wheelEvent(event);
}

void CurveChart::contextMenuEvent(QContextMenuEvent* event) {
  emit activated(this);
  QMenu menu(this);
  menu.addAction(tr("Export chart…"), this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export chart"), metric_.section('/', -1) + QStringLiteral(".png"),
                                                      chartFileFilter());
    if (path.isEmpty()) return;
    const QString err = exportTo(path);
    if (!err.isEmpty()) QMessageBox::warning(this, tr("Export chart"), err);
  });
  menu.addAction(tr("Reset zoom (follow latest)"), this, [this] {
    follow_ = true;
    refresh();
    replot();
  });
  menu.exec(event->globalPos());
}

// =============================================================================================
// CurvesPanel

CurvesPanel::CurvesPanel(CurveData& data, QWidget* parent) : QWidget(parent), data_(data) {
  setObjectName(QStringLiteral("CurvesPanel"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Smoothing")));
  smoothingSlider_ = new QSlider(Qt::Horizontal);
  smoothingSlider_->setRange(0, 99);
  smoothingSlider_->setValue(static_cast<int>(beta_ * 100));
  smoothingSlider_->setMinimumWidth(110);
  smoothingSlider_->setMaximumWidth(180);
  smoothingSlider_->setToolTip(tr("Debiased exponential moving average; the raw curve stays faded behind"));
  bar->addWidget(smoothingSlider_);
  smoothingLabel_ = new QLabel(QString::number(beta_, 'f', 2));
  smoothingLabel_->setMinimumWidth(32);
  bar->addWidget(smoothingLabel_);
  logBox_ = new QCheckBox(tr("Log scale"));
  logBox_->setToolTip(tr("Logarithmic y axis, for losses that fall over orders of magnitude; values ≤ 0 are not drawn"));
  bar->addWidget(logBox_);
  outlierBox_ = new QCheckBox(tr("Ignore outliers"));
  outlierBox_->setChecked(true);
  outlierBox_->setToolTip(tr("Scale the y axis to the bulk of the points: values more than 3 interquartile ranges "
                             "beyond the quartiles (a KL spike, the first steps' loss) run off the chart, and its "
                             "title counts them. Charts with fewer than %1 points show everything. Linear scale only.")
                              .arg(kMinPointsForOutliers));
  bar->addWidget(outlierBox_);
  followBox_ = new QCheckBox(tr("Follow latest"));
  followBox_->setChecked(true);
  followBox_->setToolTip(tr("Keep the newest points in view while a run streams; zooming or dragging turns it off"));
  bar->addWidget(followBox_);
  bar->addStretch();
  auto* exportButton = new QPushButton(tr("Export chart…"));
  bar->addWidget(exportButton);
  layout->addLayout(bar);

  auto* split = new QSplitter(Qt::Horizontal);
  metricList_ = new QListWidget;
  metricList_->setMaximumWidth(220);
  metricList_->setMinimumWidth(150);
  metricList_->setToolTip(tr("Tick the metrics to chart"));
  split->addWidget(metricList_);
  auto* right = new QWidget;
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  rightLayout->setSpacing(2);
  // One legend for every chart: a legend in each small chart covered a third of its curves.
  legend_ = new QLabel;
  legend_->setObjectName(QStringLiteral("CurvesLegend"));
  legend_->setTextFormat(Qt::RichText);
  legend_->setWordWrap(true);
  legend_->setToolTip(tr("Thick line: smoothed values; faded line behind it: the raw values; shaded band "
                         "(metrics ending in _mean): ± one standard deviation. Exported charts carry "
                         "their own legend."));
  legend_->hide();
  rightLayout->addWidget(legend_);
  auto* scroll = scroll_ = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->installEventFilter(this);  // the grid's columns follow its width
  gridHost_ = new QWidget;
  grid_ = new QGridLayout(gridHost_);
  grid_->setContentsMargins(0, 0, 0, 0);
  emptyLabel_ = new QLabel(tr("Select runs in the runs table or the explorer, or start a run, to see its curves."));
  emptyLabel_->setAlignment(Qt::AlignCenter);
  emptyLabel_->setWordWrap(true);
  grid_->addWidget(emptyLabel_, 0, 0);
  scroll->setWidget(gridHost_);
  rightLayout->addWidget(scroll, 1);
  split->addWidget(right);
  split->setStretchFactor(1, 1);
  layout->addWidget(split, 1);

  connect(smoothingSlider_, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 100.0); });
  connect(logBox_, &QCheckBox::toggled, this, &CurvesPanel::setLogScale);
  connect(outlierBox_, &QCheckBox::toggled, this, &CurvesPanel::setIgnoreOutliers);
  connect(followBox_, &QCheckBox::toggled, this, &CurvesPanel::setFollowLatest);
  connect(exportButton, &QPushButton::clicked, this, &CurvesPanel::exportCurrentChart);
  connect(metricList_, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
    const QString m = item->data(Qt::UserRole).toString();
    if (item->checkState() == Qt::Checked) {
      hidden_.remove(m);
      explicit_.insert(m);
    } else {
      hidden_.insert(m);
      explicit_.remove(m);
    }
    structureDirty_ = true;
    scheduleRedraw();
  });
  connect(&data_, &CurveData::seriesChanged, this, &CurvesPanel::onSeriesChanged);

  redrawTimer_.setSingleShot(true);
  connect(&redrawTimer_, &QTimer::timeout, this, &CurvesPanel::redraw);
  sinceRedraw_.start();
}

bool CurvesPanel::shownByDefault(const QString& m) {
  if (m.startsWith(QLatin1String("loss/"))) return true;
  if (m.startsWith(QLatin1String("rpt/"))) return !m.endsWith(QLatin1String("_std")) || m == QLatin1String("rpt/advantage_std");
  static const QStringList valid = {QStringLiteral("valid/ndcg@10"), QStringLiteral("valid/recall@10")};
  return valid.contains(m);
}

void CurvesPanel::setRuns(const QList<qint64>& runs, const QHash<qint64, QString>& labels) {
  if (runs == runs_ && labels == labels_) return;
  runs_ = runs;
  labels_ = labels;
  structureDirty_ = true;
  scheduleRedraw();
}

void CurvesPanel::setShownMetrics(const QStringList& metrics) {
  explicit_ = QSet<QString>(metrics.begin(), metrics.end());
  hidden_.clear();
  for (const QString& m : data_.names(runs_))
    if (!explicit_.contains(m)) hidden_.insert(m);
  structureDirty_ = true;
  redraw();
}

QStringList CurvesPanel::shownMetrics() const {
  QStringList out;
  for (CurveChart* c : charts_) out.append(c->metric());
  return out;
}

CurveChart* CurvesPanel::chart(const QString& metric) const {
  for (CurveChart* c : charts_)
    if (c->metric() == metric) return c;
  return nullptr;
}

CurveChart* CurvesPanel::currentChart() const {
  if (current_) return current_;
  return charts_.isEmpty() ? nullptr : charts_.first();
}

void CurvesPanel::setSmoothing(double beta) {
  beta_ = std::clamp(beta, 0.0, 0.99);
  smoothingLabel_->setText(QString::number(beta_, 'f', 2));
  if (smoothingSlider_->value() != static_cast<int>(std::lround(beta_ * 100))) {
    const QSignalBlocker block(smoothingSlider_);
    smoothingSlider_->setValue(static_cast<int>(std::lround(beta_ * 100)));
  }
  for (CurveChart* c : charts_) c->setSmoothing(beta_);
  scheduleRedraw();
}

void CurvesPanel::setLogScale(bool on) {
  if (logBox_->isChecked() != on) logBox_->setChecked(on);
  for (CurveChart* c : charts_) c->setLogScale(on);
  scheduleRedraw();
}

void CurvesPanel::setIgnoreOutliers(bool on) {
  if (outlierBox_->isChecked() != on) outlierBox_->setChecked(on);
  for (CurveChart* c : charts_) c->setIgnoreOutliers(on);
  scheduleRedraw();
}

void CurvesPanel::setFollowLatest(bool on) {
  if (followBox_->isChecked() != on) {
    const QSignalBlocker block(followBox_);
    followBox_->setChecked(on);
  }
  for (CurveChart* c : charts_) c->setFollowLatest(on);
  scheduleRedraw();
}

void CurvesPanel::onSeriesChanged(const QSet<qint64>& runs) {
  bool relevant = false;
  for (qint64 r : runs) relevant = relevant || runs_.contains(r);
  if (!relevant) return;
  dirty_ = true;
  // New metric names make new charts.
  if (data_.names(runs_).size() != metricList_->count()) structureDirty_ = true;
  scheduleRedraw();
}

void CurvesPanel::scheduleRedraw() {
  dirty_ = true;
  if (redrawTimer_.isActive()) return;
  const int minGap = 1000 / kMaxRedrawsPerSecond;
  const int wait = static_cast<int>(std::max<qint64>(0, minGap - sinceRedraw_.elapsed()));
  redrawTimer_.start(wait);
}

void CurvesPanel::flushRedraw() {
  redrawTimer_.stop();
  redraw();
}

void CurvesPanel::refreshMetricList() {
  const QStringList names = data_.names(runs_);
  const QSignalBlocker block(metricList_);
  metricList_->clear();
  for (const QString& m : names) {
    auto* item = new QListWidgetItem(m, metricList_);
    item->setData(Qt::UserRole, m);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
    const bool shown = explicit_.contains(m) || (!hidden_.contains(m) && shownByDefault(m));
    item->setCheckState(shown ? Qt::Checked : Qt::Unchecked);
  }
}

void CurvesPanel::rebuildCharts() {
  refreshMetricList();
  QStringList wanted;
  for (int i = 0; i < metricList_->count(); ++i)
    if (metricList_->item(i)->checkState() == Qt::Checked) wanted.append(metricList_->item(i)->data(Qt::UserRole).toString());
  // Losses first, then RPT, then validation.
  auto rank = [](const QString& m) {
    if (m.startsWith(QLatin1String("loss/total"))) return 0;
    if (m.startsWith(QLatin1String("loss/"))) return 1;
    if (m.startsWith(QLatin1String("rpt/"))) return 2;
    if (m.startsWith(QLatin1String("valid/"))) return 3;
    return 4;
  };
  std::stable_sort(wanted.begin(), wanted.end(), [&](const QString& a, const QString& b) { return rank(a) < rank(b); });
  if (wanted.size() > kMaxCharts) wanted = wanted.mid(0, kMaxCharts);

  const QString currentMetric = current_ ? current_->metric() : QString();
  QHash<QString, CurveChart*> keep;
  for (CurveChart* c : charts_) {
    if (wanted.contains(c->metric()))
      keep.insert(c->metric(), c);
    else {
      c->hide();
      c->deleteLater();
    }
  }
  charts_.clear();
  for (int i = 0; i < wanted.size(); ++i) {
    CurveChart* c = keep.value(wanted[i]);
    if (!c) {
      c = new CurveChart(data_, wanted[i], gridHost_);
      c->setSmoothing(beta_);
      c->setLogScale(logBox_->isChecked());
      c->setIgnoreOutliers(outlierBox_->isChecked());
      c->setFollowLatest(followBox_->isChecked());
      connect(c, &CurveChart::userNavigated, this, [this] {
        const QSignalBlocker block(followBox_);
        followBox_->setChecked(false);
      });
      connect(c, &CurveChart::activated, this, [this](CurveChart* chart) { current_ = chart; });
      c->setScreenLegend(false);
    }
    c->setRuns(runs_, labels_);
    charts_.append(c);
  }
  placeCharts();
  if (!currentMetric.isEmpty()) current_ = chart(currentMetric);
  refreshLegend();
}

int CurvesPanel::columnsFor(int charts) const {
  const int byCount = charts > 4 ? 3 : (charts > 1 ? 2 : 1);
  // The scroll area's width less a vertical scroll bar, whether or not one shows now, so that a
  // scroll bar appearing cannot change the column count back and forth.
  const int width = scroll_->contentsRect().width() - scroll_->verticalScrollBar()->sizeHint().width();
  return std::clamp(width / kMinChartWidth, 1, byCount);
}

void CurvesPanel::placeCharts() {
  while (grid_->count() > 0) delete grid_->takeAt(0);  // layout items only, not their widgets
  columns_ = columnsFor(charts_.size());
  for (int i = 0; i < charts_.size(); ++i) {
    grid_->addWidget(charts_[i], i / columns_, i % columns_);
    charts_[i]->show();
  }
  emptyLabel_->setVisible(charts_.isEmpty());
  if (charts_.isEmpty()) grid_->addWidget(emptyLabel_, 0, 0);
}

bool CurvesPanel::eventFilter(QObject* watched, QEvent* event) {
  if (watched == scroll_ && event->type() == QEvent::Resize && !charts_.isEmpty() && columnsFor(charts_.size()) != columns_)
    placeCharts();
  return QWidget::eventFilter(watched, event);
}

QString CurvesPanel::legendText() const { return legend_->text(); }

void CurvesPanel::refreshLegend() {
  QStringList entries;  // an entry wraps as a whole: spaces inside it do not break
  for (qint64 run : runs_) {
    bool drawn = false;
    for (CurveChart* c : charts_) drawn = drawn || !data_.series(run, c->metric()).isEmpty();
    if (!drawn) continue;
    const QString label = labels_.value(run, QStringLiteral("run %1").arg(run));
    entries.append(QStringLiteral("<span style=\"color:%1; font-size:large\">&#9632;</span>&nbsp;%2")
                       .arg(runColor(run).name(), label.toHtmlEscaped().replace(QLatin1Char(' '), QStringLiteral("&nbsp;"))));
  }
  const QString text = entries.join(QStringLiteral(" &nbsp;&nbsp; "));
  if (legend_->text() != text) legend_->setText(text);  // redraws come up to 25 times a second
  legend_->setVisible(!entries.isEmpty());
}

void CurvesPanel::redraw() {
  sinceRedraw_.restart();
  if (structureDirty_) {
    structureDirty_ = false;
    rebuildCharts();
  } else {
    for (CurveChart* c : charts_) c->refresh();
    refreshLegend();  // a run's first point may have arrived
  }
  for (CurveChart* c : charts_) c->replot(QCustomPlot::rpQueuedReplot);
  dirty_ = false;
  ++redraws_;
}

void CurvesPanel::exportCurrentChart() {
  CurveChart* c = currentChart();
  if (!c) {
    QMessageBox::information(this, tr("Export chart"), tr("There is no chart to export yet."));
    return;
  }
  const QString path = QFileDialog::getSaveFileName(this, tr("Export chart"),
                                                    c->metric().section('/', -1) + QStringLiteral(".png"), chartFileFilter());
  if (path.isEmpty()) return;
  const QString err = c->exportTo(path);
  if (!err.isEmpty()) QMessageBox::warning(this, tr("Export chart"), err);
}

}  // namespace rr::views
