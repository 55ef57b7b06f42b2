#pragma once
/// \file
/// \brief The SQLite experiment store: single source of truth of a project (DESIGN.md).

#include "core/store/records.h"

#include <QString>
#include <QVector>
#include <functional>
#include <memory>
#include <optional>

namespace rr {

/// \brief One connection to a project's `project.db`.
/// Thread: an instance belongs to the thread that constructed it (Qt SQL connections cannot
/// cross threads); open one per thread. WAL mode lets a GUI read while a worker writes.
/// Every write runs in a transaction; errors throw rr::Error (RunFailed) naming the operation
/// and SQLite's message (e.g. disk full), and leave the database as it was before the call.
class ExperimentStore {
 public:
  /// Opens (creating if missing) and migrates the database to the current schema version.
  explicit ExperimentStore(const QString& databasePath);
  ~ExperimentStore();
  ExperimentStore(const ExperimentStore&) = delete;
  ExperimentStore& operator=(const ExperimentStore&) = delete;

  static int currentSchemaVersion();
  int schemaVersion() const;
  QString databasePath() const;
  /// SQLite's PRAGMA data_version: changes when another connection (another process, or another
  /// thread's store) commits to the database; this connection's own writes leave it alone.
  qint64 dataVersion() const;
  /// "ok" when PRAGMA integrity_check passes, else its first message.
  QString integrityCheck() const;

  // --- project metadata (key/value) ---
  void setMeta(const QString& key, const QString& value);
  QString meta(const QString& key, const QString& fallback = {}) const;

  // --- datasets ---
  qint64 addDataset(const DatasetRecord& record, const SequenceData& data);
  std::optional<DatasetRecord> findDatasetByFingerprint(const QString& fingerprint) const;
  DatasetRecord dataset(qint64 id) const;       ///< throws if missing
  QVector<DatasetRecord> datasets() const;
  SequenceData loadDatasetData(qint64 id) const;
  void renameDataset(qint64 id, const QString& name);
  /// Refuses (throws) while runs use it.
  void deleteDataset(qint64 id);

  // --- runs ---
  qint64 createRun(const RunRecord& record);    ///< returns the new id
  RunRecord run(qint64 id) const;               ///< throws Error(Usage) "run N not found"
  std::optional<RunRecord> findRun(qint64 id) const;
  QVector<RunRecord> runs() const;              ///< newest first
  void setRunStatus(qint64 id, RunStatus status, const QString& error = {});
  void setRunStage(qint64 id, const QString& stage);
  void setRunProgress(qint64 id, int epochsRun, int bestEpoch,
                      const QMap<QString, double>& bestValid,
                      const QMap<QString, double>& lastValid);
  void setRunResult(qint64 id, const QMap<QString, double>& test, const QJsonObject& summary,
                    double wallSeconds);
  /// Marks the start of a session on the run at `at` (default now). A training session passes
  /// the moment its clock started, before loading data, so that started_at + the session's wall
  /// seconds is the wall-clock time of a record (estimatedStageEnd() relies on it).
  void setRunStarted(qint64 id, const QString& device, const QDateTime& at = {});
  void setRunFinished(qint64 id);
  void setRunName(qint64 id, const QString& name);
  void setRunTags(qint64 id, const QStringList& tags);
  void setRunNotes(qint64 id, const QString& notes);
  void setRunConfig(qint64 id, const QJsonObject& config);
  /// Before a run trains its stage `stage` further (more epochs): stores the new configuration
  /// and drops that stage's final evaluations, in one transaction, so the stage is evaluated
  /// afresh from its new best checkpoint even if the extension is interrupted and resumed.
  void reopenRunStage(qint64 id, const QJsonObject& config, const QString& stage);
  /// Deletes the run and everything that hangs off it; returns the checkpoint paths it had
  /// (relative to the project) so the caller can delete the files.
  QStringList deleteRun(qint64 id);
  /// Runs whose status is running/paused but whose owner is gone (isAlive(id) false) become
  /// `interrupted`. Returns how many changed.
  int markOrphanedRunsInterrupted(const std::function<bool(qint64)>& isAlive);

  // --- metric series ---
  /// Appends many records in one transaction.
  void appendMetrics(const QVector<MetricRecord>& records);
  /// All records of a run, optionally only names starting with a prefix, ordered by stage
  /// order of insertion then step.
  QVector<MetricRecord> metrics(qint64 runId, const QString& namePrefix = {}) const;
  /// The records of a run written after store row `afterRow` (see MetricRecord::row), in the
  /// order they were written: what a reader that already holds the rows up to afterRow lacks.
  QVector<MetricRecord> metricsAfter(qint64 runId, qint64 afterRow) const;
  QStringList metricNames(qint64 runId) const;
  /// Removes records of a stage with step > afterStep (used when resuming from a checkpoint
  /// taken before them, so a resumed series has no duplicates).
  void truncateMetrics(qint64 runId, const QString& stage, qint64 afterStep);

  // --- evaluations (per-case ranks) ---
  qint64 saveEvaluation(const EvaluationRecord& record);  ///< replaces same run/stage/split/label
  /// When several stages have an evaluation with this split and label, the one of the stage
  /// that comes last in the run's configured "stages" (the final model), else the newest.
  std::optional<EvaluationRecord> evaluation(qint64 runId, const QString& split,
                                             const QString& label = QStringLiteral("final")) const;
  QVector<EvaluationRecord> evaluations(qint64 runId) const;

  // --- checkpoints ---
  void recordCheckpoint(const CheckpointRecord& record);  ///< replaces same run/stage/kind
  std::optional<CheckpointRecord> checkpoint(qint64 runId, const QString& stage,
                                             const QString& kind) const;
  QVector<CheckpointRecord> checkpoints(qint64 runId) const;

  // --- analyses ---
  qint64 saveAnalysis(const AnalysisRecord& record);
  AnalysisRecord analysis(qint64 id) const;
  QVector<AnalysisRecord> analyses(const QString& kind = {}) const;  ///< newest first
  void deleteAnalysis(qint64 id);

  // --- saved configurations ---
  qint64 saveConfig(const QString& name, const QJsonObject& config);  ///< replaces same name
  QVector<SavedConfigRecord> savedConfigs() const;
  void deleteSavedConfig(qint64 id);

 private:
  struct Impl;
  std::unique_ptr<Impl> d;
};

}  // namespace rr
