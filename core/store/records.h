#pragma once
/// \file
/// \brief Plain records exchanged with the experiment store (no SQL, no tensors).

#include "core/data/sequence_data.h"

#include <QDateTime>
#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QVector>
#include <cstdint>
#include <vector>

namespace rr {

/// Lifecycle of a run as stored. Job statuses map onto it; `interrupted` = stopped or killed,
/// resumable from the last checkpoint.
enum class RunStatus { Queued, Running, Paused, Completed, Failed, Cancelled, Interrupted };
QString runStatusName(RunStatus s);
RunStatus parseRunStatus(const QString& s);  ///< unknown -> Failed

/// \brief One named scalar a job emitted (loss component, reward, validation metric, ...).
struct MetricRecord {
  qint64 run = 0;
  QString stage;      ///< "spt", "rpt", "train", "eval"
  qint64 step = 0;    ///< optimizer step within the stage
  int epoch = 0;      ///< 1-based epoch within the stage, 0 when not tied to one
  QString name;       ///< e.g. "loss/ce", "loss/tla", "rpt/reward_mean", "valid/ndcg@10"
  double value = 0;
  double wallTime = 0;  ///< seconds since the run started
  qint64 row = 0;       ///< the store's row id when read from it (0 for streamed records)
};

struct DatasetRecord {
  qint64 id = 0;
  QString name;
  QString sourcePath;
  QString format;          ///< "sasrec" | "recbole" | "amazon2023" | "synthetic"
  QString fingerprint;     ///< content hash of the source + preprocessing options
  QJsonObject preprocess;  ///< PreprocessOptions::toJson()
  DatasetStats stats;
  QDateTime createdAt;
};

struct RunRecord {
  qint64 id = 0;
  qint64 datasetId = 0;
  QString name;
  QString preset;
  QJsonObject config;      ///< full validated run configuration
  RunStatus status = RunStatus::Queued;
  QString stage;           ///< current or last stage
  int epochsRun = 0;
  int bestEpoch = 0;
  QMap<QString, double> bestValid;  ///< validation metrics at the best epoch (final stage)
  QMap<QString, double> lastValid;  ///< validation metrics of the last epoch
  QMap<QString, double> test;       ///< test metrics of the final model
  QJsonObject summary;     ///< the --summary JSON of the finished run
  QStringList tags;
  QString notes;
  QString error;
  QString device;
  double wallSeconds = 0;
  QDateTime createdAt;
  QDateTime startedAt;
  QDateTime finishedAt;
};

/// How the studio, the command line and the report name a run: "#<id> <name>", the preset in
/// place of an empty name (e.g. "#4 plr z_rea b256", "#2 sasrec").
QString runLabel(const RunRecord& r);

/// Running or paused: a run some process is training.
bool isActiveStatus(RunStatus s);

/// Where an active run's current stage stands: "spt epoch 7 / 30" (stageEpochs()), or "spt
/// epoch 7" when the configuration gives no epoch count.
QString stageProgressText(const RunRecord& r);

/// The epochs the run's current stage may take: train.epochs, or rpt.epochs in the rpt stage
/// (early stopping may end it sooner); 0 when the configuration lacks it.
int stageEpochs(const RunRecord& r);

/// \brief When a running run will have trained every epoch of its current stage (see
/// stageEpochs()), at the pace of its last epochs: the wall time over its last (up to four)
/// epochs of this session, from the `time/epoch_seconds` records' wall times (so validation and
/// checkpoints count), or the session's time up to its first epoch when only one exists.
/// `epochRecords` are the run's records of that metric (any stage or session; the others are
/// skipped). Invalid when there is no epoch of this stage in this session, no start time, or no
/// epoch left. An upper bound: early stopping or a `--time-limit` may end the stage sooner.
QDateTime estimatedStageEnd(const RunRecord& run, const QVector<MetricRecord>& epochRecords, int stageEpochs);

/// \brief A full-ranking evaluation of one run on one split, with per-case ranks so that any
/// two runs on the same split can be compared case by case.
struct EvaluationRecord {
  qint64 id = 0;
  qint64 runId = 0;
  QString stage;          ///< stage whose best checkpoint was evaluated
  QString split;          ///< "valid" | "test"
  QString label;          ///< "final", or e.g. "model.reasoner.eval_steps=8" for overrides
  QJsonObject overrides;  ///< configuration overrides used for this evaluation
  QMap<QString, double> metrics;  ///< "recall@10" -> value, ...
  std::vector<int32_t> ranks;     ///< 0-based rank of the target per case (case order of the split)
  QDateTime createdAt;
};

struct CheckpointRecord {
  qint64 runId = 0;
  QString stage;
  QString kind;      ///< "last" (resume) | "best" (evaluation)
  int epoch = 0;
  QString path;      ///< relative to the project directory
  double metric = 0; ///< validation metric at that epoch
  QDateTime createdAt;
};

struct AnalysisRecord {
  qint64 id = 0;
  QString kind;            ///< "oracle" | "robustness" | "depth" | "attention" | "efficiency" | ...
  QVector<qint64> runIds;
  QJsonObject params;
  QJsonObject result;
  QDateTime createdAt;
};

/// \brief A named, reusable run configuration saved in the project.
struct SavedConfigRecord {
  qint64 id = 0;
  QString name;
  QJsonObject config;
  QDateTime createdAt;
};

}  // namespace rr
