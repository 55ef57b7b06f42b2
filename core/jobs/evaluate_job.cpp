#include "core/jobs/evaluate_job.h"

#include "core/errors.h"
#include "core/eval/metrics.h"
#include "core/jobs/run_session.h"

#include <QElapsedTimer>

namespace rr {

EvaluateJob::EvaluateJob(EvaluateRequest request) : request_(std::move(request)) {}

QString EvaluateJob::title() const { return QStringLiteral("Evaluate run %1").arg(request_.runId); }

void EvaluateJob::run() {
  QStringList sessionOverrides = request_.overrides;
  if (request_.threads >= 0) sessionOverrides << QStringLiteral("threads=%1").arg(request_.threads);
  auto session = RunSession::open(request_.projectDir, request_.runId, sessionOverrides);
  RunSession& s = *session;
  const std::string stage = request_.stage.isEmpty() ? s.finalStage() : request_.stage.toStdString();
  s.loadBest(stage);
  QJsonObject overrides;
  for (const QString& o : request_.overrides) overrides.insert(o.section(QLatin1Char('='), 0, 0), o.section(QLatin1Char('='), 1));
  const QString label = request_.overrides.isEmpty() ? QStringLiteral("final") : request_.overrides.join(QLatin1Char(' '));
  QJsonObject result{{QStringLiteral("run_id"), request_.runId},
                     {QStringLiteral("stage"), QString::fromStdString(stage)},
                     {QStringLiteral("label"), label},
                     {QStringLiteral("overrides"), overrides}};
  double users = 0, seconds = 0;
  for (const char* split : {"valid", "test"}) {
    const bool isTest = QLatin1String(split) == QLatin1String("test");
    const auto& cases = isTest ? s.split.test : s.split.valid;
    const EvalResult r = s.evaluator->evaluate(*s.model, cases, [&](int64_t done, int64_t total) {
      checkpointCancel();
      JobProgress p;
      p.phase = QStringLiteral("evaluating %1").arg(QLatin1String(split));
      p.phaseDone = done;
      p.phaseTotal = total;
      p.fraction = (isTest ? 0.5 : 0.0) + 0.5 * done / std::max<int64_t>(1, total);
      reportProgress(p);
    });
    users += static_cast<double>(cases.size());
    seconds += r.seconds;
    QJsonObject m;
    for (auto it = r.metrics.begin(); it != r.metrics.end(); ++it) m.insert(it.key(), it.value());
    result.insert(QLatin1String(split), m);
    if (request_.store) {
      EvaluationRecord e;
      e.runId = request_.runId;
      e.stage = QString::fromStdString(stage);
      e.split = QLatin1String(split);
      e.label = label;
      e.overrides = overrides;
      e.metrics = r.metrics;
      e.ranks = r.ranks;
      s.store->saveEvaluation(e);
    }
  }
  result.insert(QStringLiteral("eval_users_per_second"), seconds > 0 ? users / seconds : 0.0);
  setResult(result);
}

}  // namespace rr
