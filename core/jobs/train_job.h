#pragma once
/// \file
/// \brief Training runs as jobs: create a run, train or resume all its stages, evaluate.

#include "core/jobs/job.h"
#include "core/project/run_config.h"

#include <QString>
#include <atomic>
#include <functional>

namespace rr {

class ExperimentStore;

/// \brief Validates `config` and stores a new run (status queued) on a dataset. Returns its id.
qint64 createRun(ExperimentStore& store, qint64 datasetId, const RunConfig& config,
                 const QString& name = {});

/// \brief The key that counts the epochs of the configuration's last stage: `rpt.epochs` when
/// it is RPT, else `train.epochs`.
QString lastStageEpochsKey(const RunConfig& config);

/// \brief Trains a run through its stages (SPEC §4): fresh, or resumed from its last
/// checkpoint when it has one (interrupted, failed, or stopped runs). After each stage the best
/// checkpoint is evaluated on validation and test with full ranking and stored with per-case
/// ranks. Cancelling marks the run `interrupted` (resumable); errors mark it `failed` with the
/// message. result() is the --summary JSON of DESIGN.md's command-line contract.
class TrainJob : public Job {
 public:
  TrainJob(QString projectDir, qint64 runId);
  ~TrainJob() override;
  QString title() const override;
  qint64 runId() const { return runId_; }
  /// Train with this many CPU threads instead of the run's stored `threads` setting (0 = all
  /// cores). Thread counts change speed, not the configuration: the stored run is unchanged.
  void setThreads(int total) { threads_ = total; }
  /// Train the run's last stage to `epochs` epochs in all (`train.epochs`, or `rpt.epochs` when
  /// the last stage is RPT): more epochs for a run that stopped too soon, completed runs
  /// included. The stored configuration takes the new count; a finished stage reopens with its
  /// early-stopping patience starting over, trains on from its last checkpoint and is evaluated
  /// again. Fewer epochs than the stage has already run is a configuration error.
  void setExtendEpochs(int epochs) { extendEpochs_ = epochs; }
  /// Stop this session in time (a GPU server's job limit): no epoch starts that, at the pace of
  /// the session's previous epoch, would end more than `seconds` after the session began (0 = no
  /// limit). The stage it stops is finished at its last epoch and evaluated; if it was the last
  /// stage the run completes (result() has "time_limit_reached": true, and --epochs trains it
  /// further), otherwise the run is interrupted and resuming runs the remaining stages. A stage
  /// without a finished epoch interrupts the run (TimeLimitError). Like threads, not stored.
  void setTimeLimit(double seconds) { timeLimitSeconds_ = seconds; }
  /// The clock the time limit reads, seconds since the session began (tests pass a fake one).
  void setClock(std::function<double()> sessionSeconds) { clock_ = std::move(sessionSeconds); }

 protected:
  void run() override;
  void onPaused() override;
  void onResumed() override;

 private:
  QString projectDir_;
  qint64 runId_;
  int threads_ = -1;  ///< -1: the run's own setting
  int extendEpochs_ = 0;  ///< 0: the run's own epochs
  double timeLimitSeconds_ = 0;
  std::function<double()> clock_;
  struct State;
  State* state_ = nullptr;  ///< valid during run()
};

}  // namespace rr
