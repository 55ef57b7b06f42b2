#include "core/analysis/analysis_job.h"

#include "core/analysis/analyses.h"
#include "core/errors.h"
#include "core/jobs/run_session.h"

#include <QJsonArray>

#include <algorithm>
#include <cmath>

namespace rr {

namespace {

enum class ParamType { Int, Double, String, IntList, DoubleList };
struct ParamSpec {
  const char* name;
  ParamType type;
  QStringList kinds;  ///< empty = every kind
  double min, max;
};

const QVector<ParamSpec>& paramSpecs() {
  static const QVector<ParamSpec> specs{
      {"split", ParamType::String, {}, 0, 0},
      {"max_cases", ParamType::Int, {}, 0, 1e9},
      {"threads", ParamType::Int, {}, 0, 1024},
      {"k", ParamType::Int, {QStringLiteral("oracle"), QStringLiteral("robustness")}, 1, 1000},
      {"drops", ParamType::DoubleList, {QStringLiteral("robustness")}, 0, 0.95},
      {"repetitions", ParamType::Int, {QStringLiteral("robustness")}, 1, 1000},
      {"seed", ParamType::Int, {QStringLiteral("robustness")}, 0, 9e15},
      {"steps", ParamType::IntList, {QStringLiteral("depth"), QStringLiteral("efficiency")}, 1, 256},
      {"user", ParamType::String, {QStringLiteral("attention")}, 0, 0},
      {"case", ParamType::Int, {QStringLiteral("attention")}, 0, 1e9},
      {"top", ParamType::Int, {QStringLiteral("attention")}, 1, 100},
      {"repeats", ParamType::Int, {QStringLiteral("efficiency")}, 1, 100000},
      {"bins", ParamType::Int, {QStringLiteral("diversity")}, 1, 1000},
  };
  return specs;
}

int intParam(const QJsonObject& p, const char* name, int fallback) {
  return p.contains(QLatin1String(name)) ? p.value(QLatin1String(name)).toInt(fallback) : fallback;
}

QVector<int> defaultSteps(const RunConfig& cfg) {
  const QString kind = cfg.getString(QStringLiteral("model.reasoner.kind"));
  if (kind == QLatin1String("lares") || kind == QLatin1String("hybrid")) return {1, 2, 4, 8, 12, 16};
  return {1, 2, 3, 4, 5};
}

// The efficiency analysis's progress: opening the runs, then the interleaved requests.
constexpr double kEfficiencyLoadShare = 0.05;

}  // namespace

QStringList analysisParamNames(const QString& kind) {
  QStringList out;
  for (const auto& s : paramSpecs())
    if (s.kinds.isEmpty() || s.kinds.contains(kind)) out.append(QLatin1String(s.name));
  return out;
}

QJsonObject parseAnalysisParams(const QString& kind, const QStringList& assignments) {
  if (!analysisKinds().contains(kind))
    throw ConfigError(QStringLiteral("kind"), QStringLiteral("'%1' is not one of %2").arg(kind, analysisKinds().join(QStringLiteral(", "))));
  QJsonObject out;
  for (const QString& a : assignments) {
    const int eq = a.indexOf(QLatin1Char('='));
    if (eq <= 0) throw ConfigError(a, QStringLiteral("expected KEY=VALUE"));
    const QString key = a.left(eq).trimmed(), text = a.mid(eq + 1).trimmed();
    const ParamSpec* spec = nullptr;
    for (const auto& s : paramSpecs())
      if (key == QLatin1String(s.name) && (s.kinds.isEmpty() || s.kinds.contains(kind))) spec = &s;
    if (!spec)
      throw ConfigError(key, QStringLiteral("not a parameter of the %1 analysis (it takes %2)")
                                 .arg(kind, analysisParamNames(kind).join(QStringLiteral(", "))));
    auto number = [&](const QString& t) {
      bool ok = false;
      const double v = t.trimmed().toDouble(&ok);
      const bool integral = spec->type == ParamType::Int || spec->type == ParamType::IntList;
      if (!ok || (integral && v != std::floor(v)))
        throw ConfigError(key, QStringLiteral("'%1' is not %2").arg(t, integral ? QStringLiteral("an integer") : QStringLiteral("a number")));
      if (v < spec->min || v > spec->max)
        throw ConfigError(key, QStringLiteral("%1 is outside [%2, %3]").arg(t).arg(spec->min).arg(spec->max));
      return v;
    };
    switch (spec->type) {
      case ParamType::String:
        if (key == QLatin1String("split") && text != QLatin1String("test") && text != QLatin1String("valid"))
          throw ConfigError(key, QStringLiteral("'%1' is not one of test, valid").arg(text));
        out.insert(key, text);
        break;
      case ParamType::Int: out.insert(key, static_cast<qint64>(number(text))); break;
      case ParamType::Double: out.insert(key, number(text)); break;
      case ParamType::IntList:
      case ParamType::DoubleList: {
        QString t = text;
        t.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
        QJsonArray arr;
        for (const QString& part : t.split(QLatin1Char(','), Qt::SkipEmptyParts)) arr.append(number(part));
        if (arr.isEmpty()) throw ConfigError(key, QStringLiteral("the list is empty"));
        out.insert(key, arr);
        break;
      }
    }
  }
  return out;
}

AnalysisJob::AnalysisJob(AnalysisRequest request) : request_(std::move(request)) {}

QString AnalysisJob::title() const {
  QStringList ids;
  for (qint64 id : request_.runIds) ids.append(QString::number(id));
  return QStringLiteral("%1 of run %2").arg(analysisKindTitle(request_.kind), ids.join(QStringLiteral(", ")));
}

void AnalysisJob::run() {
  const QString kind = request_.kind;
  if (!analysisKinds().contains(kind))
    throw ConfigError(QStringLiteral("kind"), QStringLiteral("'%1' is not one of %2").arg(kind, analysisKinds().join(QStringLiteral(", "))));
  if (request_.runIds.isEmpty()) throw UsageError(QStringLiteral("the %1 analysis needs at least one run").arg(kind));
  const QJsonObject& p = request_.params;
  const QString split = p.value(QStringLiteral("split")).toString(QStringLiteral("test"));
  const int maxCases = intParam(p, "max_cases", 0);
  const int k = intParam(p, "k", 20);
  QStringList overrides;
  if (intParam(p, "threads", 0) > 0) overrides.append(QStringLiteral("threads=%1").arg(intParam(p, "threads", 0)));

  OracleResult oracle;
  oracle.k = k;
  oracle.split = split;
  RobustnessResult robust;
  robust.k = k;
  robust.split = split;
  robust.repetitions = intParam(p, "repetitions", 3);
  robust.seed = static_cast<qint64>(p.value(QStringLiteral("seed")).toDouble(1));
  DepthResult depth;
  depth.split = split;
  EfficiencyResult eff;
  DiversityResult div;
  div.split = split;
  InspectorData inspector;

  // The efficiency analysis keeps every run open until all are measured side by side.
  struct EfficiencyRun {
    std::unique_ptr<RunSession> session;
    std::vector<EvalCase> cases;
    QString label;
    qint64 runId = 0;
    QVector<int> steps;
  };
  std::vector<EfficiencyRun> effRuns;

  const int runs = request_.runIds.size();
  for (int ri = 0; ri < runs; ++ri) {
    const qint64 runId = request_.runIds[ri];
    if (kind == QLatin1String("attention") && ri > 0) break;  // the inspector shows one run
    auto progress = [&](double f) {
      checkpointCancel();
      JobProgress jp;
      jp.phase = QStringLiteral("%1: run %2").arg(analysisKindTitle(kind)).arg(runId);
      jp.fraction = (ri + std::clamp(f, 0.0, 1.0)) / runs;
      if (kind == QLatin1String("efficiency")) jp.fraction *= kEfficiencyLoadShare;  // loading only
      reportProgress(jp);
    };
    progress(0);
    auto session = RunSession::open(request_.projectDir, runId, overrides);
    RunSession& s = *session;
    s.loadBest(s.finalStage());
    const QString label = runLabel(s.run);
    std::vector<EvalCase> cases = split == QLatin1String("valid") ? s.split.valid : s.split.test;
    if (maxCases > 0 && static_cast<int>(cases.size()) > maxCases) cases.resize(static_cast<size_t>(maxCases));
    if (cases.empty()) throw Error(ExitCode::Data, QStringLiteral("run %1 has no %2 cases to analyse").arg(runId).arg(split));
    QVector<int> steps;
    for (const auto& v : p.value(QStringLiteral("steps")).toArray()) steps.append(v.toInt());

    if (kind == QLatin1String("oracle")) {
      OracleRun r = oracleCeiling(*s.model, *s.evaluator, cases, k, progress);
      r.runId = runId;
      r.label = label;
      oracle.runs.append(r);
      reportMessage(QStringLiteral("%1: NDCG@%2 %3 -> oracle %4, Recall@%2 %5 -> oracle %6 (%7 candidates)")
                        .arg(label).arg(k).arg(r.currentNdcg, 0, 'f', 4).arg(r.oracleNdcg, 0, 'f', 4)
                        .arg(r.currentRecall, 0, 'f', 4).arg(r.oracleRecall, 0, 'f', 4).arg(r.candidates.size()));
    } else if (kind == QLatin1String("robustness")) {
      QVector<double> drops{0.0, 0.1, 0.2, 0.3};
      if (p.contains(QStringLiteral("drops"))) {
        drops.clear();
        for (const auto& v : p.value(QStringLiteral("drops")).toArray()) drops.append(v.toDouble());
      }
      RobustnessRun r = robustnessCurve(*s.model, s.data, s.builder->maxLen(), s.evaluator->options(), s.device, cases,
                                        drops, robust.repetitions, static_cast<uint64_t>(robust.seed), k, progress);
      r.runId = runId;
      r.label = label;
      robust.runs.append(r);
    } else if (kind == QLatin1String("depth")) {
      DepthRun r = depthSweep(*s.model, *s.evaluator, cases, steps.isEmpty() ? defaultSteps(s.config) : steps, progress);
      r.runId = runId;
      r.label = label;
      if (!r.supported) reportMessage(QStringLiteral("%1 has no reasoning depth to change; evaluated once").arg(label));
      depth.runs.append(r);
    } else if (kind == QLatin1String("efficiency")) {
      // Measured after the loop, every run's requests interleaved with the others'.
      eff.device = s.deviceName;
      eff.threads = s.threads.torch * s.threads.blas;
      effRuns.push_back(EfficiencyRun{std::move(session), std::move(cases), label, runId, steps});
    } else if (kind == QLatin1String("diversity")) {
      DiversityRun r = streamDiversity(*s.model, *s.builder, cases, s.device, intParam(p, "bins", 20),
                                       s.evaluator->options().batchSize, progress);
      r.runId = runId;
      r.label = label;
      div.runs.append(r);
    } else if (kind == QLatin1String("attention")) {
      int caseIndex = intParam(p, "case", 0);
      if (p.contains(QStringLiteral("user"))) {
        const QString user = p.value(QStringLiteral("user")).toString();
        caseIndex = -1;
        for (size_t i = 0; i < cases.size() && caseIndex < 0; ++i) {
          const int u = cases[i].user;
          if ((u < s.data.userIds.size() && s.data.userIds[u] == user) || (s.data.userIds.isEmpty() && QString::number(u) == user))
            caseIndex = static_cast<int>(i);
        }
        if (caseIndex < 0) throw ConfigError(QStringLiteral("user"), QStringLiteral("no %1 case for user '%2'").arg(split, user));
      }
      if (caseIndex >= static_cast<int>(cases.size()))
        throw ConfigError(QStringLiteral("case"), QStringLiteral("%1 is past the last %2 case (%3)").arg(caseIndex).arg(split).arg(cases.size() - 1));
      inspector = inspectCase(*s.model, *s.builder, s.evaluator->options(), cases, caseIndex, s.device, intParam(p, "top", 10));
      inspector.runId = runId;
      inspector.label = label;
      inspector.split = split;
    }
    progress(1);
  }

  if (kind == QLatin1String("efficiency")) {
    // One target per run as trained, then one per requested depth the model can take.
    std::vector<EfficiencyTarget> targets;
    std::vector<const EfficiencyRun*> owners;
    for (const EfficiencyRun& r : effRuns) {
      RecommenderImpl& model = *r.session->model;
      targets.push_back(EfficiencyTarget{&model, r.session->builder.get(), &r.cases, r.session->device, 0});
      owners.push_back(&r);
      const int trained = model.evalSteps();
      for (int st : r.steps) {
        model.setEvalSteps(st);
        const bool varies = model.evalSteps() == st;
        model.setEvalSteps(trained);
        if (!varies) break;  // no depth to vary
        targets.push_back(EfficiencyTarget{&model, r.session->builder.get(), &r.cases, r.session->device, st});
        owners.push_back(&r);
      }
    }
    const auto rows = measureEfficiencySideBySide(
        targets, intParam(p, "repeats", 100), [this] { checkpointCancel(); },
        [this, &kind](double f) {
          JobProgress jp;
          jp.phase = QStringLiteral("%1: requests, every run in turn").arg(analysisKindTitle(kind));
          jp.fraction = kEfficiencyLoadShare + (1 - kEfficiencyLoadShare) * std::clamp(f, 0.0, 1.0);
          reportProgress(jp);
        });
    for (size_t i = 0; i < rows.size(); ++i) {
      EfficiencyRow row = rows[i];
      row.runId = owners[i]->runId;
      row.label = owners[i]->label;
      eff.rows.append(row);
    }
  }

  QJsonObject result;
  if (kind == QLatin1String("oracle")) result = oracle.toJson();
  else if (kind == QLatin1String("robustness")) result = robust.toJson();
  else if (kind == QLatin1String("depth")) result = depth.toJson();
  else if (kind == QLatin1String("efficiency")) result = eff.toJson();
  else if (kind == QLatin1String("diversity")) result = div.toJson();
  else result = inspector.toJson();

  qint64 analysisId = 0;
  if (request_.store) {
    ExperimentStore store(Project::openOrCreate(request_.projectDir).databasePath());
    AnalysisRecord rec;
    rec.kind = kind;
    rec.runIds = kind == QLatin1String("attention") ? QVector<qint64>{request_.runIds.first()} : request_.runIds;
    rec.params = p;
    rec.result = result;
    analysisId = store.saveAnalysis(rec);
  }
  QJsonArray ids;
  for (qint64 id : request_.runIds) ids.append(id);
  setResult(QJsonObject{{QStringLiteral("analysis_id"), analysisId},
                        {QStringLiteral("kind"), kind},
                        {QStringLiteral("run_ids"), ids},
                        {QStringLiteral("params"), p},
                        {QStringLiteral("result"), result}});
}

}  // namespace rr
