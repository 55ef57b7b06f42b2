#pragma once
/// \file
/// \brief Re-evaluating a trained run, optionally with configuration overrides
/// (e.g. model.reasoner.eval_steps=8 for a test-time depth sweep).

#include "core/jobs/job.h"

#include <QString>
#include <QStringList>

namespace rr {

struct EvaluateRequest {
  QString projectDir;
  qint64 runId = 0;
  QStringList overrides;   ///< "key=value", applied to the run's configuration
  QString stage;           ///< whose best checkpoint; empty = the run's last stage
  bool store = true;       ///< save the evaluation (label "final" or the overrides) in the store
  int threads = -1;        ///< CPU threads for this evaluation (0 = all cores); -1 = the run's setting.
                           ///< Speed only: not an override, so it does not change the label.
};

/// \brief result(): {"run_id", "stage", "label", "valid": {...}, "test": {...},
/// "eval_users_per_second"}.
class EvaluateJob : public Job {
 public:
  explicit EvaluateJob(EvaluateRequest request);
  QString title() const override;

 protected:
  void run() override;

 private:
  EvaluateRequest request_;
};

}  // namespace rr
