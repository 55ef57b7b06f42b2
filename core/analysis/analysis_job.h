#pragma once
/// \file
/// \brief The analyses of SPEC §6 as Jobs on stored runs; results go to the store's analyses
/// table as JSON (the structs of analysis_results.h). `reasonrec analyze` and the studio's
/// panels run the same jobs, so they show the same numbers. Plain C++/Qt: usable by views.

#include "core/jobs/job.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <QVector>

namespace rr {

/// \brief What to analyse. Parameters (all optional; defaults in brackets):
/// - every kind: split (test|valid) [test], max_cases (0 = all) [0], threads (0 = the run's) [0]
/// - oracle, robustness: k [20]
/// - robustness: drops (list of fractions) [0,0.1,0.2,0.3], repetitions [3], seed [1]
/// - depth, efficiency: steps (list) [lares/hybrid: 1,2,4,8,12,16; others: 1,2,3,4,5];
///   efficiency measures the trained depth only unless steps is given
/// - attention: user (original id) or case (index into the split) [case 0]; top [10]
/// - efficiency: repeats (batch-1 requests) [100]
/// - diversity: bins [20]
struct AnalysisRequest {
  QString projectDir;
  QVector<qint64> runIds;
  QString kind;
  QJsonObject params;
  bool store = true;
};

/// Parses "key=value" texts into analysis parameters for `kind`, checking names and values.
/// Throws ConfigError("<key>", ...) for an unknown key or a malformed value.
QJsonObject parseAnalysisParams(const QString& kind, const QStringList& assignments);
/// The parameter names a kind accepts, for --help and forms.
QStringList analysisParamNames(const QString& kind);

/// \brief Runs one analysis over its runs (each from its best checkpoint of the final stage).
/// result(): {"analysis_id" (0 when not stored), "kind", "run_ids", "params", "result"}, where
/// "result" is the kind's struct as JSON (OracleResult, RobustnessResult, DepthResult,
/// InspectorData, EfficiencyResult, DiversityResult).
class AnalysisJob : public Job {
 public:
  explicit AnalysisJob(AnalysisRequest request);
  QString title() const override;
  const AnalysisRequest& request() const { return request_; }

 protected:
  void run() override;

 private:
  AnalysisRequest request_;
};

}  // namespace rr
