// Analysis jobs on stored runs end to end (tiny synthetic project): every kind completes and is
// stored, oracle >= current, a 0% drop reproduces the plain evaluation exactly, parameters are
// checked; the sweep builder queues the cartesian product; the comparison table's figures.
#include "core/analysis/analysis_job.h"
#include "core/analysis/analysis_results.h"
#include "core/analysis/comparison.h"
#include "core/analysis/sweep.h"
#include "core/data/split.h"
#include "core/errors.h"
#include "core/eval/metrics.h"
#include "core/eval/significance.h"
#include "core/jobs/evaluate_job.h"
#include "core/jobs/import_job.h"
#include "core/jobs/train_job.h"
#include "core/project/project.h"
#include "core/store/experiment_store.h"
#include "test_main.h"

#include <QJsonArray>
#include <QTemporaryDir>

#include <cmath>
#include <numeric>

using namespace rr;

namespace {
const QString kData = QStringLiteral("synthetic:users=250,items=60,clusters=4,length=10,seed=5");

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

QJsonObject runJob(const QString& dir, QVector<qint64> runs, const QString& kind, const QStringList& params = {}) {
  AnalysisRequest req;
  req.projectDir = dir;
  req.runIds = std::move(runs);
  req.kind = kind;
  req.params = parseAnalysisParams(kind, params);
  AnalysisJob job(req);
  job.execute();
  if (job.status() != JobStatus::Completed) qWarning() << job.errorMessage();
  return job.status() == JobStatus::Completed ? job.result() : QJsonObject();
}
}  // namespace

class AnalysisJobsTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  qint64 datasetId_ = 0, runA_ = 0, runB_ = 0;

 private slots:
  void initTestCase() {
    Project p = Project::openOrCreate(dir_.path());
    {
      ExperimentStore store(p.databasePath());
      ImportRequest req;
      req.projectDir = dir_.path();
      req.source = kData;
      datasetId_ = importDataset(req, store);
      runA_ = createRun(store, datasetId_, tinyConfig(16), "small");
      runB_ = createRun(store, datasetId_, tinyConfig(24), "wider");
    }
    for (qint64 id : {runA_, runB_}) {
      TrainJob job(dir_.path(), id);
      job.execute();
      QCOMPARE(job.status(), JobStatus::Completed);
    }
  }

  void oracleIsAtLeastCurrentForEveryRun() {
    const QJsonObject r = runJob(dir_.path(), {runA_, runB_}, "oracle");
    QVERIFY(r.value("analysis_id").toInt() > 0);
    const OracleResult o = OracleResult::fromJson(r.value("result").toObject());
    QCOMPARE(o.runs.size(), 2);
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    for (const auto& x : o.runs) {
      QVERIFY(x.oracleNdcg >= x.currentNdcg);
      QVERIFY(x.oracleRecall >= x.currentRecall);
      // SASRec has one state: the oracle is the model itself, which the training evaluated.
      QCOMPARE(x.oracleNdcg, x.currentNdcg);
      QCOMPARE(x.currentNdcg, store.run(x.runId).test.value("ndcg@20"));
    }
    QCOMPARE(store.analyses("oracle").size(), 1);
  }

  void robustnessZeroDropEqualsEvaluation() {
    EvaluateRequest ereq;
    ereq.projectDir = dir_.path();
    ereq.runId = runA_;
    ereq.store = false;
    EvaluateJob ev(ereq);
    ev.execute();
    QCOMPARE(ev.status(), JobStatus::Completed);
    const QJsonObject test = ev.result().value("test").toObject();
    const QJsonObject r = runJob(dir_.path(), {runA_}, "robustness", {"repetitions=2", "drops=0,0.2"});
    const RobustnessResult o = RobustnessResult::fromJson(r.value("result").toObject());
    QCOMPARE(o.runs.first().drops, (QVector<double>{0, 0.2}));
    QCOMPARE(o.runs.first().ndcgMean[0], test.value("ndcg@20").toDouble());
    QCOMPARE(o.runs.first().recallMean[0], test.value("recall@20").toDouble());
    QCOMPARE(o.repetitions, 2);
  }

  void depthOnAModelWithoutReasoning() {
    const QJsonObject r = runJob(dir_.path(), {runA_}, "depth", {"steps=1,2"});
    const DepthResult o = DepthResult::fromJson(r.value("result").toObject());
    QCOMPARE(o.runs.size(), 1);
    QVERIFY(!o.runs.first().supported);
    QCOMPARE(o.runs.first().metrics.size(), 1);
  }

  void attentionEfficiencyDiversity() {
    const QJsonObject a = runJob(dir_.path(), {runA_}, "attention", {"case=3"});
    const InspectorData d = InspectorData::fromJson(a.value("result").toObject());
    QCOMPARE(d.caseIndex, 3);
    QVERIFY(!d.maps.isEmpty());
    const QJsonObject byUser = runJob(dir_.path(), {runA_}, "attention", {"user=" + d.userId});
    QCOMPARE(InspectorData::fromJson(byUser.value("result").toObject()).caseIndex, 3);

    const QJsonObject e = runJob(dir_.path(), {runA_, runB_}, "efficiency", {"repeats=5"});
    const EfficiencyResult eff = EfficiencyResult::fromJson(e.value("result").toObject());
    QCOMPARE(eff.rows.size(), 2);
    QVERIFY(eff.rows[1].parameters > eff.rows[0].parameters);  // d 24 > d 16
    QVERIFY(eff.rows[1].flopsPerSample > eff.rows[0].flopsPerSample);
    QCOMPARE(eff.rows[0].batch1Ratio, 1.0);  // the runs were measured side by side
    QVERIFY(eff.rows[1].batch1Ratio > 0 && eff.rows[1].batch256Ratio > 0);

    const QJsonObject v = runJob(dir_.path(), {runA_}, "diversity", {"max_cases=50"});
    const DiversityResult div = DiversityResult::fromJson(v.value("result").toObject());
    QCOMPARE(div.runs.first().diversityMean, (QVector<double>{0.0}));  // one stream
    QVERIFY(!div.runs.first().hasGate);
  }

  void badParametersNameTheKey() {
    try {
      parseAnalysisParams("oracle", {"repetitions=3"});
      QFAIL("accepted a robustness parameter for oracle");
    } catch (const ConfigError& e) {
      QCOMPARE(e.key(), QStringLiteral("repetitions"));
    }
    QVERIFY_THROWS_EXCEPTION(ConfigError, parseAnalysisParams("robustness", {"drops=0,2"}));
    QVERIFY_THROWS_EXCEPTION(ConfigError, parseAnalysisParams("robustness", {"repetitions=1.5"}));
    QVERIFY_THROWS_EXCEPTION(ConfigError, parseAnalysisParams("nonsense", {}));
    // A user that has no test case fails the job with a message, not a crash.
    AnalysisRequest req;
    req.projectDir = dir_.path();
    req.runIds = {runA_};
    req.kind = "attention";
    req.params = parseAnalysisParams("attention", {"user=no-such-user"});
    AnalysisJob job(req);
    job.execute();
    QCOMPARE(job.status(), JobStatus::Failed);
    QVERIFY(job.errorMessage().startsWith("user:"));
  }

  void sweepQueuesTheCartesianProduct() {
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    const QVector<SweepAxis> axes{parseSweepAxis("model.d=8,16"), parseSweepAxis("model.dropout=0.1,0.2,0.3")};
    QCOMPARE(sweepPoints(axes).size(), 6);
    QCOMPARE(sweepPoints(axes)[4], (QStringList{"model.d=16", "model.dropout=0.2"}));
    const int before = store.runs().size();
    const QVector<qint64> ids = queueSweep(store, datasetId_, tinyConfig(16), axes, "grid");
    QCOMPARE(ids.size(), 6);
    QCOMPARE(store.runs().size(), before + 6);
    QSet<QPair<int, double>> seen;
    for (qint64 id : ids) {
      const RunRecord r = store.run(id);
      QCOMPARE(r.status, RunStatus::Queued);
      QVERIFY(r.tags.contains("sweep:grid"));
      const RunConfig c = RunConfig::fromJson(r.config);
      seen.insert({c.getInt("model.d"), c.getDouble("model.dropout")});
    }
    QCOMPARE(seen.size(), 6);
    const SweepSummary s = sweepSummary(store, "grid");
    QCOMPARE(s.points.size(), 6);
    QCOMPARE(QSet<QString>(s.keys.begin(), s.keys.end()), (QSet<QString>{"model.d", "model.dropout"}));
    QVERIFY(sweepNames(store).contains("grid"));
    // A point that fails validation (heads must divide d) stores nothing.
    QVERIFY_THROWS_EXCEPTION(ConfigError, queueSweep(store, datasetId_, tinyConfig(16), {parseSweepAxis("model.d=16,15")}, "bad"));
    QCOMPARE(store.runs().size(), before + 6);
    QVERIFY_THROWS_EXCEPTION(ConfigError, parseSweepAxis("model.nope=1,2"));
  }

  void comparisonTable() {
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    const ComparisonTable t = buildComparison(store, {runA_, runB_}, runA_);
    QCOMPARE(t.rows.size(), 2);
    QCOMPARE(t.metrics, summaryMetricNames());
    const auto evA = store.evaluation(runA_, "test"), evB = store.evaluation(runB_, "test");
    const double a = evA->metrics.value("ndcg@10"), b = evB->metrics.value("ndcg@10");
    QCOMPARE(t.rows[1].improvement.value("ndcg@10"), (b - a) / a);
    QCOMPARE(t.bestRow("ndcg@10"), b > a ? 1 : 0);
    MetricName m;
    MetricName::parse("ndcg@10", &m);
    QCOMPARE(t.rows[1].pValue.value("ndcg@10"), pairedTTest(perCaseMetric(evB->ranks, m), perCaseMetric(evA->ranks, m)).p);
    QVERIFY(!t.rows[0].pValue.contains("ndcg@10"));  // the baseline itself
    const QString md = t.toMarkdown();
    QVERIFY(md.contains(QStringLiteral("**%1**").arg(QString::number(std::max(a, b), 'f', 4))));
    QVERIFY(md.contains("(baseline)"));
    const QString tex = t.toLatex();
    QVERIFY(tex.contains(QStringLiteral("\\textbf{%1}").arg(QString::number(std::max(a, b), 'f', 4))));
    QVERIFY(tex.contains("\\#1 small"));
    const QStringList csv = t.toCsv().split('\n', Qt::SkipEmptyParts);
    QCOMPARE(csv.size(), 3);
    QCOMPARE(csv[0].split(',').size(), 2 + 3 * t.metrics.size());
  }

  // By history length: the groups partition the test cases into ascending length ranges, and
  // each group's table holds the metrics and paired tests of those cases alone.
  void comparisonByHistoryLength() {
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    const DataSplit split = makeSplit(store.loadDatasetData(datasetId_), SplitOptions());  // the runs' leave-one-out
    const QVector<CaseGroup> groups = historyLengthGroups(store, runA_, "test", 3);
    QVERIFY(groups.size() >= 2 && groups.size() <= 3);
    std::vector<int> seen;
    for (int g = 0; g < groups.size(); ++g) {
      if (g > 0) QVERIFY(groups[g].minLength > groups[g - 1].maxLength);
      QVERIFY(std::is_sorted(groups[g].cases.begin(), groups[g].cases.end()));
      for (int c : groups[g].cases) {
        const int len = split.test[static_cast<size_t>(c)].pos;
        QVERIFY(len >= groups[g].minLength && len <= groups[g].maxLength);
        seen.push_back(c);
      }
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int> all(split.test.size());
    std::iota(all.begin(), all.end(), 0);
    QCOMPARE(seen, all);  // every case once

    const auto evA = store.evaluation(runA_, "test"), evB = store.evaluation(runB_, "test");
    const double overall = evA->metrics.value("ndcg@10");
    double weighted = 0;
    const QVector<ComparisonTable> tables = buildComparisons(store, {{runA_, "final"}, {runB_, "final"}}, runA_, "test", {}, groups);
    QCOMPARE(tables.size(), groups.size());
    for (int i = 0; i < groups.size(); ++i) {
      const CaseGroup& g = groups[i];
      const ComparisonTable& t = tables[i];
      QCOMPARE(t.group, g.label("test"));
      // NDCG@10 by hand over the group's cases: 1/log2(rank + 2) when the target ranks in the top 10.
      double a = 0, b = 0;
      std::vector<double> pa, pb;
      for (int c : g.cases) {
        const int ra = evA->ranks[static_cast<size_t>(c)], rb = evB->ranks[static_cast<size_t>(c)];
        pa.push_back(ra < 10 ? 1.0 / std::log2(ra + 2.0) : 0.0);
        pb.push_back(rb < 10 ? 1.0 / std::log2(rb + 2.0) : 0.0);
        a += pa.back();
        b += pb.back();
      }
      a /= static_cast<double>(g.cases.size());
      b /= static_cast<double>(g.cases.size());
      QVERIFY(qAbs(t.rows[0].values.value("ndcg@10") - a) < 1e-12);
      QVERIFY(qAbs(t.rows[1].values.value("ndcg@10") - b) < 1e-12);
      QVERIFY(qAbs(t.rows[1].pValue.value("ndcg@10") - pairedTTest(pb, pa).p) < 1e-12);
      weighted += a * static_cast<double>(g.cases.size());
      QVERIFY(t.toMarkdown().startsWith(QStringLiteral("### ") + g.label("test")));
      QVERIFY(t.toCsv().startsWith("group,run,label,"));
    }
    QVERIFY(qAbs(weighted / static_cast<double>(split.test.size()) - overall) < 1e-9);  // the groups add up

    QVERIFY_THROWS_EXCEPTION(UsageError, historyLengthGroups(store, runA_, "test", 1));
    QVERIFY_THROWS_EXCEPTION(UsageError, historyLengthGroups(store, runA_, "train", 3));
    // A run on another dataset cannot be compared case by case, and the error names it.
    ImportRequest req;
    req.projectDir = dir_.path();
    req.source = QStringLiteral("synthetic:users=120,items=50,clusters=3,length=8,seed=9");
    const qint64 other = createRun(store, importDataset(req, store), tinyConfig(16), "elsewhere");
    try {
      buildComparisons(store, {{runA_, "final"}, {other, "final"}}, runA_, "test", {}, groups);
      QFAIL("no error for a run on another dataset");
    } catch (const UsageError& e) {
      QVERIFY2(e.message().contains(QStringLiteral("run %1 is on another dataset").arg(other)), qPrintable(e.message()));
    }
    store.deleteRun(other);
  }

  // A re-evaluation with overrides is its own row, tested against the baseline's final
  // evaluation over the same cases; the run's final row stays as it was.
  void comparisonOfAReEvaluation() {
    const QString label = QStringLiteral("eval.history_mask=exclude_seen");
    EvaluateRequest req;
    req.projectDir = dir_.path();
    req.runId = runB_;
    req.overrides = QStringList{label};
    EvaluateJob ev(req);
    ev.execute();
    QCOMPARE(ev.status(), JobStatus::Completed);
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    const ComparisonTable t = buildComparison(store, {{runA_, "final"}, {runB_, "final"}, {runB_, label}}, runA_);
    QCOMPARE(t.rows.size(), 3);
    QVERIFY(t.rows[0].baseline);
    QVERIFY(!t.rows[1].baseline && !t.rows[2].baseline);
    QCOMPARE(t.rows[2].label, QStringLiteral("#%1 wider [%2]").arg(runB_).arg(label));
    const auto evA = store.evaluation(runA_, "test"), evFinal = store.evaluation(runB_, "test"),
               evMasked = store.evaluation(runB_, "test", label);
    QVERIFY(evA && evFinal && evMasked);
    QVERIFY(evMasked->ranks != evFinal->ranks);  // masking seen items moved some targets
    QCOMPARE(t.rows[1].values.value("ndcg@10"), evFinal->metrics.value("ndcg@10"));
    QCOMPARE(t.rows[2].values.value("ndcg@10"), evMasked->metrics.value("ndcg@10"));
    const double a = evA->metrics.value("ndcg@10");
    QCOMPARE(t.rows[2].improvement.value("ndcg@10"), (evMasked->metrics.value("ndcg@10") - a) / a);
    MetricName m;
    MetricName::parse("ndcg@10", &m);
    QCOMPARE(t.rows[2].pValue.value("ndcg@10"), pairedTTest(perCaseMetric(evMasked->ranks, m), perCaseMetric(evA->ranks, m)).p);
    QVERIFY(t.toMarkdown().contains(QStringLiteral("[%1] |").arg(label)));
    // A label that was never evaluated is an error that says how to make it.
    try {
      buildComparison(store, {{runA_, "final"}, {runB_, "model.d=8"}}, runA_);
      QFAIL("no error for a missing evaluation");
    } catch (const Error& e) {
      QVERIFY2(e.message().contains("reasonrec evaluate --run"), qPrintable(e.message()));
    }
  }

  void comparisonSaysWhichRunsHaveNoPValue() {
    // Run B trained further: its final evaluations are dropped until it finishes, so its row
    // shows the run record's metrics with no p-value, and the table says why.
    ExperimentStore store(Project::openOrCreate(dir_.path()).databasePath());
    QVERIFY(buildComparison(store, {runA_, runB_}, runA_).missingRanksNote().isEmpty());
    const auto ev = store.evaluation(runB_, "test");
    QVERIFY(ev);
    store.reopenRunStage(runB_, store.run(runB_).config, ev->stage);
    QVERIFY(!store.evaluation(runB_, "test"));
    QVERIFY(store.evaluation(runA_, "test"));  // only B's are gone
    const ComparisonTable t = buildComparison(store, {runA_, runB_}, runA_);
    QVERIFY(t.rows[0].perCase);
    QVERIFY(!t.rows[1].perCase);
    QVERIFY(t.rows[1].pValue.isEmpty());
    QCOMPARE(t.rows[1].values.value("ndcg@10"), store.run(runB_).test.value("ndcg@10"));
    const QString note = QStringLiteral("No p-value for #%1:").arg(runB_);
    QVERIFY2(t.missingRanksNote().startsWith(note), qPrintable(t.missingRanksNote()));
    QVERIFY(t.toMarkdown().contains(note));
  }
};

RR_TEST_MAIN(AnalysisJobsTest)
#include "tst_analysis_jobs.moc"
