// Curves and export: streamed records reach the charts, redraws are coalesced, tooltips name
// run/step/value, and charts and tables export to valid PNG, SVG, PDF and CSV files.
#include "studio_test_support.h"
#include "test_main.h"
#include "views/chart_export.h"
#include "views/curves_panel.h"

#include <QApplication>
#include <QFile>
#include <QImage>
#include <QScrollArea>
#include <QScrollBar>
#include <QStandardItemModel>
#include <QTemporaryDir>

using namespace rr;
using namespace rr::views;

namespace {
QVector<MetricRecord> lossCurve(qint64 run, int steps, double scale) {
  QVector<MetricRecord> out;
  for (int s = 1; s <= steps; ++s) {
    MetricRecord r;
    r.run = run;
    r.stage = QStringLiteral("spt");
    r.step = s;
    r.epoch = 1 + s / 10;
    r.name = QStringLiteral("loss/total");
    r.value = scale * (5.0 / s + 0.1 * ((s * 7) % 3));
    out.append(r);
  }
  return out;
}

/// Shows run 1 without smoothing, every pending redraw done.
void showRunOneUnsmoothed(CurvesPanel& panel) {
  panel.show();
  panel.setRuns({1}, {});
  panel.setSmoothing(0);
  panel.flushRedraw();
}

QByteArray head(const QString& path, int n) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.read(n);
}
}  // namespace

class ChartExportTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { rr::test::isolateSettings(); }

  void recordsReachTheChartAndExport() {
    CurveData data;
    data.append(lossCurve(1, 40, 1.0));
    data.append(lossCurve(2, 40, 1.5));
    CurvesPanel panel(data);
    panel.resize(900, 600);
    panel.show();
    panel.setRuns({1, 2}, {{1, QStringLiteral("#1 sasrec")}, {2, QStringLiteral("#2 lares")}});
    panel.flushRedraw();
    CurveChart* chart = panel.chart(QStringLiteral("loss/total"));
    QVERIFY(chart);
    QCOMPARE(chart->graphCount(), 4);  // raw + smoothed per run
    QCOMPARE(chart->graph(1)->data()->size(), 40);
    QCOMPARE(chart->graph(1)->pen().color(), runColor(1));
    QCOMPARE(chart->graph(3)->pen().color(), runColor(2));

    QTemporaryDir dir;
    const QString png = dir.filePath("c.png"), svg = dir.filePath("c.svg"), pdf = dir.filePath("c.pdf"),
                  csv = dir.filePath("c.csv");
    QCOMPARE(chart->exportTo(png, 800, 500), QString());
    QCOMPARE(chart->exportTo(svg, 800, 500), QString());
    QCOMPARE(chart->exportTo(pdf, 800, 500), QString());
    QCOMPARE(chart->exportTo(csv), QString());
    QVERIFY(chart->exportTo(dir.filePath("c.bmp")).contains(QStringLiteral("unknown chart format")));

    QCOMPARE(head(png, 8), QByteArray("\x89PNG\r\n\x1a\n"));
    const QImage image(png);
    QVERIFY(!image.isNull());
    QCOMPARE(image.width(), 1600);  // 2x for sharp slides
    QVERIFY(head(pdf, 5) == "%PDF-");
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    const QByteArray svgText = svgFile.readAll();
    QVERIFY(svgText.contains("<svg"));
    QVERIFY(svgText.contains("</svg>"));
    QVERIFY(svgText.contains("path") || svgText.contains("polyline"));
    QFile csvFile(csv);
    QVERIFY(csvFile.open(QIODevice::ReadOnly | QIODevice::Text));
    const QStringList lines = QString::fromUtf8(csvFile.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 80);
    QVERIFY(lines.first().startsWith(QStringLiteral("run,run_label,metric,stage,step")));
    QVERIFY(lines.at(1).startsWith(QStringLiteral("1,#1 sasrec,loss/total,spt,1,")));
  }

  void oneLegendForThePanelAndOneInEachExport() {
    CurveData data;
    data.append(lossCurve(1, 30, 1.0));
    data.append(lossCurve(2, 30, 1.5));
    CurvesPanel panel(data);
    panel.resize(900, 600);
    panel.show();
    panel.setRuns({1, 2, 5}, {{1, QStringLiteral("#1 sasrec")}, {2, QStringLiteral("#2 <plr>")}, {5, QStringLiteral("#5 idle")}});
    panel.flushRedraw();
    CurveChart* chart = panel.chart(QStringLiteral("loss/total"));
    QVERIFY(chart);
    QVERIFY(!chart->legend->visible());  // the panel's legend stands for all charts
    const QString legend = panel.legendText();
    QVERIFY2(legend.contains(QStringLiteral("#1&nbsp;sasrec")), qPrintable(legend));
    QVERIFY2(legend.contains(QStringLiteral("#2&nbsp;&lt;plr&gt;")), qPrintable(legend));  // escaped
    QVERIFY2(legend.contains(runColor(2).name()), qPrintable(legend));
    QVERIFY2(!legend.contains(QStringLiteral("#5&nbsp;idle")), qPrintable(legend));  // no curves yet

    // Run 5's first point arrives: the legend gains it without a structural rebuild.
    data.append(lossCurve(5, 3, 1.0));
    panel.flushRedraw();
    QVERIFY2(panel.legendText().contains(QStringLiteral("#5&nbsp;idle")), qPrintable(panel.legendText()));

    // An exported figure has its own legend (SVG keeps the text), and the screen stays as it was.
    QTemporaryDir dir;
    const QString svg = dir.filePath("legend.svg");
    QCOMPARE(chart->exportTo(svg, 800, 500), QString());
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    const QByteArray svgText = svgFile.readAll();
    QVERIFY(svgText.contains("#1 sasrec"));
    QVERIFY(svgText.contains("#5 idle"));
    QVERIFY(!chart->legend->visible());

    panel.setRuns({}, {});
    panel.flushRedraw();
    QVERIFY(panel.legendText().isEmpty());
  }

  // A narrow panel stacks its charts in one column (scrolling down) instead of cutting the
  // right-hand ones off behind a horizontal scroll bar; widened, it goes back to three.
  void chartGridColumnsFollowThePanelWidth() {
    CurveData data;
    QStringList metrics;
    for (const char* name : {"loss/total", "loss/ce", "loss/rcl", "loss/div_kl", "valid/ndcg@10", "valid/recall@10"}) {
      QVector<MetricRecord> curve = lossCurve(1, 20, 1.0);
      for (MetricRecord& r : curve) r.name = QLatin1String(name);
      data.append(curve);
      metrics.append(QLatin1String(name));
    }
    CurvesPanel panel(data);
    panel.resize(1500, 700);
    panel.show();
    panel.setRuns({1}, {});
    panel.setShownMetrics(metrics);
    panel.flushRedraw();
    QCOMPARE(panel.charts().size(), 6);
    QCOMPARE(panel.chartColumns(), 3);
    auto* scroll = panel.findChild<QScrollArea*>();
    QVERIFY(scroll);
    const auto fitsAcross = [&] {
      for (CurveChart* c : panel.charts())
        if (c->mapTo(scroll->viewport(), QPoint(c->width(), 0)).x() > scroll->viewport()->width()) return false;
      return true;
    };
    QTRY_VERIFY(fitsAcross());
    panel.resize(560, 700);  // the studio's curves dock beside the explorer and the configuration
    QTRY_COMPARE(panel.chartColumns(), 1);
    QTRY_VERIFY(fitsAcross());
    QVERIFY(!scroll->horizontalScrollBar()->isVisible());
    QTRY_VERIFY(scroll->verticalScrollBar()->isVisible());  // six charts, one under another
    panel.resize(1500, 700);
    QTRY_COMPARE(panel.chartColumns(), 3);
    QCOMPARE(panel.charts().size(), 6);  // re-placed, not rebuilt
  }

  void streamingRedrawsAreCoalesced() {
    CurveData data;
    CurvesPanel panel(data);
    panel.show();
    panel.setRuns({1}, {{1, QStringLiteral("#1")}});
    panel.flushRedraw();
    const int before = panel.redrawCount();
    const QVector<MetricRecord> all = lossCurve(1, 500, 1.0);
    for (const MetricRecord& r : all) data.append({r});  // 500 separate deliveries, no event loop
    QCOMPARE(panel.redrawCount(), before);               // nothing drawn synchronously
    QTRY_VERIFY(panel.redrawCount() > before);
    QTest::qWait(200);
    QVERIFY2(panel.redrawCount() - before <= 3, qPrintable(QString::number(panel.redrawCount() - before)));
    CurveChart* chart = panel.chart(QStringLiteral("loss/total"));
    QVERIFY(chart);
    QCOMPARE(chart->graph(1)->data()->size(), 500);
  }

  void tooltipNamesRunStepAndValue() {
    CurveData data;
    data.append(lossCurve(3, 20, 1.0));
    CurvesPanel panel(data);
    panel.resize(700, 500);
    panel.show();
    panel.setRuns({3}, {{3, QStringLiteral("#3 demo")}});
    panel.setSmoothing(0);
    panel.flushRedraw();
    CurveChart* chart = panel.chart(QStringLiteral("loss/total"));
    QVERIFY(chart);
    chart->replot();
    const auto& s = data.series(3, QStringLiteral("loss/total"));
    const QPoint at(qRound(chart->xAxis->coordToPixel(s[4].x)), qRound(chart->yAxis->coordToPixel(s[4].value)));
    const QString tip = chart->tooltipAt(at);
    QVERIFY2(tip.contains(QStringLiteral("#3 demo")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("step 5")), qPrintable(tip));
    QVERIFY2(tip.contains(QString::number(s[4].value, 'g', 6)), qPrintable(tip));
    QVERIFY(chart->tooltipAt(QPoint(-500, -500)).isEmpty());
  }

  void logScaleAndSmoothingApply() {
    CurveData data;
    data.append(lossCurve(1, 30, 1.0));
    CurvesPanel panel(data);
    panel.show();
    panel.setRuns({1}, {});
    panel.setLogScale(true);
    panel.setSmoothing(0.9);
    panel.flushRedraw();
    CurveChart* chart = panel.chart(QStringLiteral("loss/total"));
    QCOMPARE(chart->yAxis->scaleType(), QCPAxis::stLogarithmic);
    // The smoothed graph differs from the raw one after the first point, and starts at it.
    auto raw = chart->graph(0)->data(), smooth = chart->graph(1)->data();
    QCOMPARE(smooth->at(0)->value, raw->at(0)->value);
    QVERIFY(std::abs(smooth->at(10)->value - raw->at(10)->value) > 1e-6);
  }

  void spikesRunOffTheScaleUnlessAsked() {
    // An RPT KL curve: 60 steps around 0.01 and two exploding batches (run #4 on Toys reached
    // 3.9e12). Ignoring outliers (the default) keeps the 0.01 level readable and names the
    // points left off; switching it off fits every point.
    CurveData data;
    QVector<MetricRecord> recs;
    for (int s = 1; s <= 60; ++s) {
      const double v = (s == 20 || s == 45) ? 3.9e12 : 0.01 + 0.001 * (s % 5);
      recs.append({1, QStringLiteral("rpt"), s, 1, QStringLiteral("rpt/kl"), v, 0});
    }
    data.append(recs);
    CurvesPanel panel(data);
    showRunOneUnsmoothed(panel);
    CurveChart* chart = panel.chart(QStringLiteral("rpt/kl"));
    QVERIFY(chart);
    QVERIFY2(chart->yAxis->range().upper < 0.1, qPrintable(QString::number(chart->yAxis->range().upper)));
    QVERIFY(chart->yAxis->range().lower > 0.0);
    QCOMPARE(chart->pointsOffScale(), 2);
    auto* title = qobject_cast<QCPTextElement*>(chart->plotLayout()->element(0, 0));
    QVERIFY(title && title->text().contains(QStringLiteral("2 points off scale")));
    panel.setIgnoreOutliers(false);
    panel.flushRedraw();
    QVERIFY(chart->yAxis->range().upper >= 3.9e12);
    QCOMPARE(chart->pointsOffScale(), 0);
    QVERIFY(!title->text().contains(QStringLiteral("off scale")));
  }

  void rewardBandFromMeanAndStd() {
    CurveData data;
    QVector<MetricRecord> recs;
    for (int s = 1; s <= 10; ++s) {
      recs.append({1, QStringLiteral("rpt"), s, 1, QStringLiteral("rpt/reward_mean"), 0.1 * s, 0});
      recs.append({1, QStringLiteral("rpt"), s, 1, QStringLiteral("rpt/reward_std"), 0.05, 0});
    }
    data.append(recs);
    CurvesPanel panel(data);
    showRunOneUnsmoothed(panel);
    CurveChart* chart = panel.chart(QStringLiteral("rpt/reward_mean"));
    QVERIFY(chart);
    QCOMPARE(chart->graphCount(), 4);  // band low, band high, raw, smoothed
    QVERIFY(std::abs(chart->graph(1)->data()->at(2)->value - (0.3 + 0.05)) < 1e-9);
    QVERIFY(std::abs(chart->graph(0)->data()->at(2)->value - (0.3 - 0.05)) < 1e-9);
  }

  void tableCsvQuotesFields() {
    QStandardItemModel m(2, 2);
    m.setHorizontalHeaderLabels({QStringLiteral("name"), QStringLiteral("notes")});
    m.setItem(0, 0, new QStandardItem(QStringLiteral("a")));
    m.setItem(0, 1, new QStandardItem(QStringLiteral("x, \"y\"")));
    m.setItem(1, 0, new QStandardItem(QStringLiteral("b")));
    QTemporaryDir dir;
    QCOMPARE(writeModelCsv(dir.filePath("t.csv"), m), QString());
    QFile f(dir.filePath("t.csv"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("name,notes\na,\"x, \"\"y\"\"\"\nb,\n"));
  }
};

RR_TEST_GUI_MAIN(ChartExportTest)
#include "tst_chart_export.moc"
