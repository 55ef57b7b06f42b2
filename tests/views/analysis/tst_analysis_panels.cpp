// The analysis panels offscreen on a tiny trained project: the inspector fills from a stored
// run and steps through a multi-step, multi-stream trace with the keyboard; every analysis
// panel shows its stored result; the comparison table copies; the report PDF has the expected
// pages and text; presentation mode opens full screen.
// With RR_PANEL_SHOTS=<dir> each panel is also saved as a PNG there (for looking at them).
#include "core/analysis/analysis_job.h"
#include "core/errors.h"
#include "core/jobs/evaluate_job.h"
#include "core/jobs/import_job.h"
#include "core/jobs/train_job.h"
#include "core/project/project.h"
#include "core/store/experiment_store.h"
#include "fake_studio_context.h"
#include "test_main.h"
#include "views/analysis/analysis_charts.h"
#include "views/analysis/analysis_panels.h"
#include "views/panel_registry.h"
#include "views/report/report_writer.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QListWidget>
#include <QProcess>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <memory>

using namespace rr;
using namespace rr::views;

namespace {

RunConfig tinyConfig(int d) {
  RunConfig cfg = RunConfig::fromPreset("sasrec");
  cfg.set("data.max_len", 10);
  cfg.set("model.d", d);
  cfg.set("train.epochs", 2);
  cfg.set("train.batch_size", 64);
  cfg.set("train.patience", 0);
  cfg.set("threads", 1);
  return cfg;
}

void shot(QWidget& w, const QString& name) {
  const QString dir = qEnvironmentVariable("RR_PANEL_SHOTS");
  if (dir.isEmpty()) return;
  w.resize(1200, 760);
  w.show();
  QApplication::processEvents();
  for (QCustomPlot* p : w.findChildren<QCustomPlot*>()) p->replot();
  w.grab().save(dir + QLatin1Char('/') + name + QStringLiteral(".png"));
}

/// A planted 3-step, 2-stream trace (what PLR/hybrid runs produce) over a real run's case.
InspectorData plantedTrace(qint64 runId) {
  InspectorData d;
  d.runId = runId;
  d.label = QStringLiteral("#%1 planted").arg(runId);
  d.userId = QStringLiteral("u7");
  d.history = {3, 5, 8, 13};
  d.historyLabels = {"a", "b", "c", "d"};
  d.target = 21;
  d.targetLabel = "target";
  d.steps = 3;
  d.streams = 2;
  d.gate = {0.3, 0.7};
  for (int s = 0; s < 3; ++s) {
    QVector<int> r;
    for (int m = 0; m < 2; ++m) {
      r.append(10 * (3 - s) + m);
      for (int layer = 0; layer < 2; ++layer) {
        InspectorData::Map map;
        map.step = s;
        map.stream = m;
        map.layer = layer;
        map.itemKeys = 4;
        for (int h = 0; h < 2; ++h) {
          QVector<double> w(4 + s, 0.0);
          w[(s + m + h) % w.size()] = 1.0;  // one key per head, differing by stream
          map.weights.append(w);
        }
        d.maps.append(map);
      }
      InspectorData::Top t;
      t.step = s;
      t.stream = m;
      for (int i = 0; i < 10; ++i) {
        t.items.append(i + 1);
        t.labels.append(QStringLiteral("item %1").arg(i + 1));
        t.scores.append(10 - i);
      }
      d.top.append(t);
    }
    d.ranks.append(r);
  }
  d.finalRank = 4;
  return d;
}

}  // namespace

class AnalysisPanelsTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  FakeStudioContext ctx_;
  qint64 runA_ = 0, runB_ = 0;

  void analyse(const QString& kind, QVector<qint64> runs, const QStringList& params = {}) {
    AnalysisRequest req;
    req.projectDir = dir_.path();
    req.runIds = std::move(runs);
    req.kind = kind;
    req.params = parseAnalysisParams(kind, params);
    AnalysisJob job(req);
    job.execute();
    QVERIFY2(job.status() == JobStatus::Completed, qPrintable(job.errorMessage()));
  }

 private slots:
  void initTestCase() {
    registerAnalysisPanels();
    Project p = Project::openOrCreate(dir_.path());
    {
      ExperimentStore store(p.databasePath());
      ImportRequest req;
      req.projectDir = dir_.path();
      req.source = QStringLiteral("synthetic:users=200,items=50,clusters=4,length=10,seed=9");
      const qint64 ds = importDataset(req, store);
      runA_ = createRun(store, ds, tinyConfig(16), "small");
      runB_ = createRun(store, ds, tinyConfig(24), "wider");
    }
    for (qint64 id : {runA_, runB_}) {
      TrainJob job(dir_.path(), id);
      job.execute();
      QCOMPARE(job.status(), JobStatus::Completed);
    }
    ctx_.dir = dir_.path();
    ctx_.selection = {runA_, runB_};
  }

  void registersEveryPanel() {
    QStringList ids;
    for (const auto& info : registeredPanels()) ids.append(info.id);
    for (const char* id : {"analysis.inspector", "analysis.oracle", "analysis.robustness", "analysis.depth", "analysis.diversity",
                           "analysis.efficiency", "analysis.comparison"})
      QVERIFY2(ids.contains(QLatin1String(id)), id);
  }

  void inspectorFillsFromStoredRun() {
    InspectorPanel panel(ctx_);
    QVERIFY(panel.data().maps.isEmpty());
    QVERIFY(panel.inspect(runA_, QString(), 2));
    QTRY_VERIFY(!panel.data().maps.isEmpty());
    const InspectorData& d = panel.data();
    QCOMPARE(d.caseIndex, 2);
    QCOMPARE(d.steps, 1);
    QCOMPARE(panel.historyList()->count(), d.history.size() + 1);
    QCOMPARE(panel.topTable()->rowCount(), 10);
    // Heatmap: history keys × (heads + average) per layer.
    QCOMPARE(panel.colorMap()->data()->keySize(), d.history.size());
    QCOMPARE(panel.colorMap()->data()->valueSize(), 2 * (2 + 1));
    shot(panel, "inspector-sasrec");
  }

  void inspectorStepsThroughStepsAndStreams() {
    {
      ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
      AnalysisRecord rec;
      rec.kind = "attention";
      rec.runIds = {runA_};
      rec.result = plantedTrace(runA_).toJson();
      store.saveAnalysis(rec);
    }
    InspectorPanel panel(ctx_);
    panel.show();
    QCOMPARE(panel.data().streams, 2);
    QCOMPARE(panel.currentStep(), 0);
    const double cell00 = panel.colorMap()->data()->cell(0, 0);
    QTest::keyClick(&panel, Qt::Key_Right);
    QCOMPARE(panel.currentStep(), 1);
    QCOMPARE(panel.colorMap()->data()->keySize(), 5);  // 4 items + 1 earlier reasoning token
    QTest::keyClick(&panel, Qt::Key_Down);
    QCOMPARE(panel.currentStream(), 1);
    QVERIFY(panel.positionLabel()->text().contains("stream 1/1"));
    QVERIFY(panel.positionLabel()->text().contains("target rank 22"));  // ranks[1][1] = 21 (0-based)
    QTest::keyClick(&panel, Qt::Key_Right);
    QTest::keyClick(&panel, Qt::Key_Right);  // clamped at the last step
    QCOMPARE(panel.currentStep(), 2);
    QTest::keyClick(&panel, Qt::Key_Up);
    QTest::keyClick(&panel, Qt::Key_Left);
    QCOMPARE(panel.currentStream(), 0);
    QCOMPARE(panel.currentStep(), 1);
    panel.setPosition(0, 1);
    QVERIFY(panel.colorMap()->data()->cell(0, 0) != cell00 || panel.colorMap()->data()->cell(1, 0) != 0);  // stream 1 looks elsewhere
    panel.setPosition(1, 0);
    shot(panel, "inspector-planted");
    // --capture: one view per reasoning step >= 1 and stream, then back to the start.
    QCOMPARE(panel.captureViewCount(), 2 * 2);
    QCOMPARE(panel.showCaptureView(3), QStringLiteral("step2-stream1"));
    QCOMPARE(panel.currentStep(), 2);
    QCOMPARE(panel.currentStream(), 1);
    panel.endCaptureViews();
    QCOMPARE(panel.currentStep(), 0);
  }

  void analysisPanelsShowStoredResults() {
    analyse("oracle", {runA_, runB_});
    analyse("robustness", {runA_, runB_}, {"repetitions=2", "drops=0,0.1,0.3"});
    analyse("depth", {runA_}, {"steps=1,2"});
    analyse("efficiency", {runA_, runB_}, {"repeats=5"});
    analyse("diversity", {runA_}, {});

    OraclePanel oracle(ctx_);
    QVERIFY(oracle.shownAnalysisId() > 0);
    QCOMPARE(oracle.plot()->plottableCount(), 4);
    QCOMPARE(oracle.table()->rowCount(), 2);
    shot(oracle, "oracle");

    RobustnessPanel robust(ctx_);
    QCOMPARE(robust.ndcgPlot()->graphCount(), 2);
    QCOMPARE(robust.ndcgPlot()->graph(0)->dataCount(), 3);
    QCOMPARE(robust.table()->rowCount(), 6);
    shot(robust, "robustness");

    DepthPanel depth(ctx_);
    QCOMPARE(depth.depthPlot()->graphCount(), 1);
    shot(depth, "depth");

    EfficiencyPanel eff(ctx_);
    QCOMPARE(eff.table()->rowCount(), 2);
    QCOMPARE(eff.table()->columnCount(), efficiencyHeaders().size());  // the report's table too
    // Headers over two lines, so that 12 columns fit the panel.
    QCOMPARE(eff.table()->horizontalHeaderItem(7)->text(), QString("b256\np99"));
    QCOMPARE(eff.table()->horizontalHeaderItem(8)->text(), QString("b1\n× first"));
    shot(eff, "efficiency");

    DiversityPanel div(ctx_);
    QCOMPARE(div.diversityPlot()->graphCount(), 1);
    shot(div, "diversity");

    // Running from the panel stores a new result and shows it.
    const qint64 before = oracle.shownAnalysisId();
    oracle.parameterField()->setText("k=10");
    QVERIFY(oracle.runAnalysis());
    QTRY_VERIFY(oracle.shownAnalysisId() > before);
    QCOMPARE(oracle.storedChooser()->count(), 2);
    oracle.parameterField()->setText("nope=1");
    QVERIFY(!oracle.runAnalysis());
  }

  // Opening a project without stored results empties every panel: none goes on showing the
  // previous project's figures under "No stored … results yet".
  void panelsForgetThePreviousProjectsResults() {
    OraclePanel oracle(ctx_);
    RobustnessPanel robust(ctx_);
    DepthPanel depth(ctx_);
    EfficiencyPanel eff(ctx_);
    DiversityPanel div(ctx_);
    InspectorPanel inspector(ctx_);
    QVERIFY(oracle.plot()->plottableCount() > 0 && oracle.table()->rowCount() > 0);
    QVERIFY(robust.ndcgPlot()->graphCount() > 0 && robust.recallPlot()->graphCount() > 0);
    QVERIFY(depth.depthPlot()->graphCount() > 0);
    QVERIFY(eff.plot()->plottableCount() > 0 && eff.table()->rowCount() > 0);
    QVERIFY(div.diversityPlot()->graphCount() > 0);
    QVERIFY(!inspector.data().maps.isEmpty() && inspector.historyList()->count() > 0);

    QTemporaryDir empty;
    Project::openOrCreate(empty.path());
    const QString previous = ctx_.dir;
    ctx_.dir = empty.path();
    emit ctx_.projectChanged();
    ctx_.dir = previous;
    QCOMPARE(oracle.shownAnalysisId(), 0);
    QCOMPARE(oracle.plot()->plottableCount(), 0);
    QCOMPARE(oracle.plot()->itemCount(), 0);  // the "gap" labels
    QCOMPARE(oracle.table()->rowCount(), 0);
    QVERIFY(!oracle.plot()->xAxis->visible() && !oracle.plot()->yAxis->grid()->visible());  // no empty grid
    QCOMPARE(robust.ndcgPlot()->plottableCount(), 0);
    QCOMPARE(robust.recallPlot()->plottableCount(), 0);
    QCOMPARE(robust.table()->rowCount(), 0);
    QCOMPARE(depth.depthPlot()->plottableCount(), 0);
    QCOMPARE(eff.plot()->plottableCount(), 0);
    QCOMPARE(eff.table()->rowCount(), 0);
    QCOMPARE(div.diversityPlot()->plottableCount(), 0);
    QCOMPARE(div.gatePlot()->plottableCount(), 0);
    QVERIFY(inspector.data().maps.isEmpty());
    QCOMPARE(inspector.colorMap()->data()->keySize(), 0);
    QCOMPARE(inspector.historyList()->count(), 0);
    QCOMPARE(inspector.topTable()->rowCount(), 0);
    QCOMPARE(inspector.rankPlot()->plottableCount(), 0);
    QVERIFY(!inspector.rankPlot()->yAxis->visible() && !inspector.colorMap()->colorScale()->visible());
    QVERIFY(inspector.positionLabel()->text().isEmpty());

    // A panel opened on such a project starts empty too (QCPColorMap starts as 10 × 10 zeros).
    ctx_.dir = empty.path();
    InspectorPanel fresh(ctx_);
    ctx_.dir = previous;
    QCOMPARE(fresh.colorMap()->data()->keySize(), 0);
    QVERIFY(fresh.positionLabel()->text().isEmpty());

    // Back on the first project the stored results show again.
    emit ctx_.projectChanged();
    QVERIFY(oracle.table()->rowCount() > 0);
    QVERIFY(oracle.plot()->xAxis->visible() && oracle.plot()->yAxis->grid()->visible());
    QVERIFY(!inspector.data().maps.isEmpty());
    QVERIFY(inspector.rankPlot()->yAxis->visible() && inspector.colorMap()->colorScale()->visible());
  }

  void sweepBuilderQueuesRuns() {
    DepthPanel depth(ctx_);
    depth.gridEditor()->setPlainText("model.d=8,16\nmodel.dropout=0.2,0.4");
    const QVector<qint64> ids = depth.queueGrid(false);
    QCOMPARE(ids.size(), 4);
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    for (qint64 id : ids) QCOMPARE(store.run(id).status, RunStatus::Queued);
    for (qint64 id : ids) store.deleteRun(id);  // keep the report below to the two trained runs
  }

  void comparisonPanelCopies() {
    ComparisonPanel panel(ctx_);
    QCOMPARE(panel.view()->rowCount(), 2);
    panel.baselineChooser()->setCurrentIndex(1);
    emit panel.baselineChooser()->activated(1);
    QCOMPARE(panel.table().baselineRunId, runA_);
    const QString md = panel.copyAs("markdown");
    QVERIFY(md.contains("(baseline)"));
    QCOMPARE(QApplication::clipboard()->text(), md);
    QVERIFY(panel.copyAs("latex").startsWith("\\begin{tabular}"));
    QVERIFY(panel.copyAs("csv").startsWith("run,label,"));
    // The best value of a column is bold.
    const int best = panel.table().bestRow("ndcg@10");
    const int col = panel.table().metrics.indexOf("ndcg@10") + 1;
    QVERIFY(panel.view()->item(best, col)->font().bold());
    QVERIFY(!panel.view()->item(1 - best, col)->font().bold());
    shot(panel, "comparison");

    // By history length: a heading row per group above its runs, the baseline kept, and the
    // copies hold every group.
    const int two = panel.casesChooser()->findData(2);
    panel.casesChooser()->setCurrentIndex(two);
    emit panel.casesChooser()->activated(two);
    const QVector<ComparisonTable>& groups = panel.tables();
    QVERIFY(!groups.isEmpty() && groups.size() <= 2);
    QCOMPARE(panel.view()->rowCount(), groups.size() * 3);
    for (int g = 0; g < groups.size(); ++g) {
      QVERIFY(groups[g].group.startsWith("history "));
      QCOMPARE(groups[g].baselineRunId, runA_);
      QCOMPARE(panel.view()->item(3 * g, 0)->text(), groups[g].group);
      QCOMPARE(panel.view()->columnSpan(3 * g, 0), panel.view()->columnCount());
    }
    QCOMPARE(panel.copyAs("markdown").count("### history "), groups.size());
    QCOMPARE(panel.copyAs("csv").count("group,run,label"), 1);
    shot(panel, "comparison-by-length");
    // The groups are kept between reloads, but made again for another split or count.
    auto expectGroups = [&](const QString& split, int count) {
      ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
      const QVector<CaseGroup> want = historyLengthGroups(store, panel.table().rows.front().runId, split, count);
      QCOMPARE(panel.tables().size(), want.size());
      for (int g = 0; g < want.size(); ++g) QCOMPARE(panel.tables()[g].group, want[g].label(split));
    };
    panel.reload();
    expectGroups("test", 2);
    panel.splitChooser()->setCurrentIndex(1);
    emit panel.splitChooser()->activated(1);
    expectGroups("valid", 2);
    const int three = panel.casesChooser()->findData(3);
    panel.casesChooser()->setCurrentIndex(three);
    emit panel.casesChooser()->activated(three);
    expectGroups("valid", 3);
    panel.splitChooser()->setCurrentIndex(0);
    emit panel.splitChooser()->activated(0);
    panel.casesChooser()->setCurrentIndex(0);
    emit panel.casesChooser()->activated(0);
    QCOMPARE(panel.view()->rowCount(), 2);
    QCOMPARE(panel.view()->columnSpan(0, 0), 1);
  }

  void comparisonPanelShowsReEvaluations() {
    const QString label = QStringLiteral("eval.history_mask=exclude_seen");
    EvaluateRequest req;
    req.projectDir = dir_.path();
    req.runId = runB_;
    req.overrides = QStringList{label};
    EvaluateJob ev(req);
    ev.execute();
    QCOMPARE(ev.status(), JobStatus::Completed);
    ComparisonPanel panel(ctx_);
    panel.baselineChooser()->setCurrentIndex(1);
    emit panel.baselineChooser()->activated(1);
    QCOMPARE(panel.view()->rowCount(), 3);
    QCOMPARE(panel.table().rows[2].runId, runB_);
    QCOMPARE(panel.table().rows[2].evaluation, label);
    QVERIFY(panel.view()->item(2, 0)->text().contains(label));
    QVERIFY(panel.table().rows[2].pValue.contains("ndcg@10"));
    panel.reEvaluationsToggle()->setChecked(false);
    QCOMPARE(panel.view()->rowCount(), 2);
  }

  void reportHasExpectedPagesAndText() {
    // A run another process is training (it holds the run's lock): left out, and the title page
    // says so.
    const Project project = Project::openOrCreate(dir_.path());
    qint64 running = 0;
    std::unique_ptr<Project::RunLock> lock;
    {
      ExperimentStore store(project.databasePath());
      running = createRun(store, store.run(runA_).datasetId, tinyConfig(16), "still training");
      store.setRunStarted(running, QStringLiteral("cpu"));
      store.setRunStatus(running, RunStatus::Running);
      store.setRunStage(running, QStringLiteral("spt"));
      store.setRunProgress(running, 1, 1, {}, {});
      lock = std::make_unique<Project::RunLock>(project.lockRun(running));
    }
    ReportOptions o;
    o.projectDir = dir_.path();
    const QStringList titles = reportPageTitles(o);
    QCOMPARE(titles.mid(0, 4), (QStringList{"Overview", "Configurations", "Comparison", "Training curves"}));
    QCOMPARE(titles.size(), 4 + 5);  // oracle, robustness, depth, diversity, efficiency
    const QString pdf = dir_.filePath("report.pdf");
    const int pages = writeReport(o, pdf);
    QCOMPARE(pages, titles.size());
    QFile f(pdf);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.read(5) == "%PDF-");
    if (!qEnvironmentVariable("RR_PANEL_SHOTS").isEmpty()) QFile::copy(pdf, qEnvironmentVariable("RR_PANEL_SHOTS") + "/report.pdf");
    if (QStandardPaths::findExecutable("pdfinfo").isEmpty() || QStandardPaths::findExecutable("pdftotext").isEmpty())
      QSKIP("poppler-utils not installed: page count and text not checked");
    QProcess info;
    info.start("pdfinfo", {pdf});
    QVERIFY(info.waitForFinished());
    QVERIFY(QString::fromUtf8(info.readAllStandardOutput()).contains(QRegularExpression(QStringLiteral("Pages:\\s+%1\\n").arg(pages))));
    QProcess text;
    text.start("pdftotext", {pdf, "-"});
    QVERIFY(text.waitForFinished());
    const QString t = QString::fromUtf8(text.readAllStandardOutput());
    // (pdftotext keeps ligatures such as "fi" as one glyph, so words containing them are avoided.)
    for (const char* s : {"Datasets", "Setting", "Comparison", "Training curves", "Oracle ceiling", "Robustness",
                          "Test-time depth", "latency", "#1 small", "#2 wider", "ndcg@10"})
      QVERIFY2(t.contains(QLatin1String(s)), s);
    const QString leftOut = QStringLiteral("Not in this report, because not completed: #%1 still training (running, spt epoch 1 / 2).").arg(running);
    QVERIFY2(t.simplified().contains(leftOut), qPrintable(t.left(2000)));
    // Named, a run that is not completed is reported (with its status) and nothing is said left out.
    o.runIds = {runA_, running};
    const QString named = dir_.filePath("named.pdf");
    writeReport(o, named);
    QProcess text2;
    text2.start("pdftotext", {named, "-"});
    QVERIFY(text2.waitForFinished());
    const QString t2 = QString::fromUtf8(text2.readAllStandardOutput()).simplified();
    QVERIFY(t2.contains(QStringLiteral("#%1 still training").arg(running)));
    QVERIFY(!t2.contains(QLatin1String("Not in this report")));
    lock.reset();
    ExperimentStore(project.databasePath()).deleteRun(running);
  }

  // With nothing completed yet, the error says which runs there are and where they stand,
  // rather than "train a run first" while one trains.
  void reportWithoutCompletedRunsSaysWhy() {
    QTemporaryDir dir;
    const Project project = Project::openOrCreate(dir.path());
    ExperimentStore store(project.databasePath());
    ImportRequest req;
    req.projectDir = dir.path();
    req.source = QStringLiteral("synthetic:users=50,items=20,clusters=2,length=6,seed=1");
    const qint64 run = createRun(store, importDataset(req, store), tinyConfig(8), "first");
    const Project::RunLock lock = project.lockRun(run);
    store.setRunStatus(run, RunStatus::Running);
    store.setRunStage(run, QStringLiteral("spt"));
    ReportOptions o;
    o.projectDir = dir.path();
    try {
      writeReport(o, dir.filePath("r.pdf"));
      QFAIL("a report without completed runs was written");
    } catch (const UsageError& e) {
      QVERIFY2(e.message().contains(QStringLiteral("none is completed yet (#%1 first (running, spt epoch 0 / 2))").arg(run)),
               qPrintable(e.message()));
    }
    QVERIFY(!QFile::exists(dir.filePath("r.pdf")));
  }

  // The configuration table marks settings that do not apply to a run's model, and does not
  // list a setting in which runs differ only where it does not apply.
  void reportConfigurationTableMarksSettingsThatDoNotApply() {
    RunConfig sasrec = RunConfig::fromPreset(QStringLiteral("sasrec"));
    RunConfig sasrecWithPlrKeys = sasrec;
    sasrecWithPlrKeys.set(QStringLiteral("model.reasoner.rep_dropout"), 0.0);  // ignored by SASRec
    RunConfig erl = RunConfig::fromPreset(QStringLiteral("rearec-erl"));
    RunConfig plr = RunConfig::fromPreset(QStringLiteral("plr-fast"));
    plr.set(QStringLiteral("model.reasoner.inference"), QStringLiteral("reasoning"));
    const auto rows = configurationRows({sasrec, sasrecWithPlrKeys, erl, plr});
    const auto row = [&rows](const char* key) {
      for (const QStringList& r : rows)
        if (r.first() == QLatin1String(key)) return r.mid(1);
      return QStringList();
    };
    QCOMPARE(row("model.reasoner.streams"), (QStringList{"–", "–", "–", "2"}));
    QCOMPARE(row("model.reasoner.steps"), (QStringList{"–", "–", "2", "2"}));
    QCOMPARE(row("model.d"), (QStringList{"64", "64", "64", "64"}));  // a main setting: always listed
    QCOMPARE(row("model.reasoner.inference"), (QStringList{"–", "–", "–", "reasoning"}));
    QCOMPARE(row("model.reasoner.rep_dropout"), (QStringList{"–", "–", "–", "0.3"}));  // PLR's; 0 on run 2 is ignored
    QVERIFY(row("model.reasoner.input_dropout").isEmpty());  // the same stored value in every run
    QCOMPARE(row("train.batch_size"), (QStringList{"256", "256", "256", "2048"}));
    QVERIFY(row("model.temperature").size() == 4);  // 1 for SASRec, 0.07 for the reasoners
    // Two SASRec runs that differ only in a PLR setting: nothing to list beyond the main ones.
    const auto same = configurationRows({sasrec, sasrecWithPlrKeys});
    for (const QStringList& r : same) QVERIFY2(r.at(1) == r.at(2), qPrintable(r.join(' ')));
    QCOMPARE(same.size(), 10);  // the main settings
  }

  // Asked for, the report shows the newest inspected case (the planted 3-step, 2-stream trace):
  // the rank chart, the per-state table with the gate, and a heatmap per step >= 1 and stream.
  void reportShowsTheInspectedCase() {
    ReportOptions o;
    o.projectDir = dir_.path();
    o.withInspector = true;  // the studio's "Report with the inspected case": every kind, then it
    QCOMPARE(reportPageTitles(o).size(), 4 + 5 + 1);
    QCOMPARE(reportPageTitles(o).last(), QString("Reasoning inspector"));
    o.analyses = {"attention"};  // as `export --report --analyses attention`
    QCOMPARE(reportPageTitles(o).mid(4), QStringList{"Reasoning inspector"});
    const QString pdf = dir_.filePath("inspector.pdf");
    QVERIFY(writeReport(o, pdf) >= 5);
    if (QStandardPaths::findExecutable("pdftotext").isEmpty()) QSKIP("poppler-utils not installed: text not checked");
    QProcess text;
    text.start("pdftotext", {pdf, "-"});
    QVERIFY(text.waitForFinished());
    const QString t = QString::fromUtf8(text.readAllStandardOutput());
    for (const char* s : {"Reasoning inspector", "#1 planted, user u7", "stream gate", "step 2, stream 1", "0.700",
                          "never each other"})
      QVERIFY2(t.contains(QLatin1String(s)), s);
  }

  void presentationModeIsFullScreenWithLargeFonts() {
    QWidget* w = openPresentation("analysis.oracle", ctx_, 2.0);
    QVERIFY(w);
    QVERIFY(w->isFullScreen());
    QVERIFY(w->font().pointSizeF() >= 2.0 * QApplication::font().pointSizeF() - 0.01);
    QVERIFY(w->findChild<OraclePanel*>());
    QPointer<QWidget> guard(w);
    QTest::keyClick(w, Qt::Key_Escape);
    QTRY_VERIFY(guard.isNull());
    QVERIFY(!openPresentation("no.such.panel", ctx_));
  }
};

RR_TEST_GUI_MAIN(AnalysisPanelsTest)
#include "tst_analysis_panels.moc"
