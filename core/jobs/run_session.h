#pragma once
/// \file
/// \brief Everything needed to work on a stored run in one place: project, store, dataset,
/// split, model, evaluator, device. Internal to core (LibTorch); shared by the train, evaluate
/// and analysis jobs. Thread: create and use on one worker thread.

#include "core/data/batching.h"
#include "core/data/split.h"
#include "core/eval/evaluator.h"
#include "core/model/recommender.h"
#include "core/project/project.h"
#include "core/project/run_config.h"
#include "core/runtime.h"
#include "core/store/experiment_store.h"

#include <memory>

namespace rr {

class RunSession {
 public:
  /// Opens the project and run, applies `overrides` ("key=value") to its configuration, sets the
  /// thread pools, resolves the device, loads the dataset, splits it and builds the model.
  static std::unique_ptr<RunSession> open(const QString& projectDir, qint64 runId,
                                          const QStringList& overrides = {});

  /// Absolute path of a stage's checkpoint ("last" or "best").
  QString checkpointPath(const std::string& stage, const std::string& kind) const;
  /// The stage whose best checkpoint represents the finished run (the last configured stage
  /// that has a best checkpoint).
  std::string finalStage() const;
  /// Loads a stage's best weights into the model (eval mode).
  void loadBest(const std::string& stage);
  /// Dataset shape for summaries: {"users", "items", "interactions"}.
  QJsonObject datasetJson() const;

  Project project;
  std::unique_ptr<ExperimentStore> store;
  RunRecord run;
  RunConfig config;
  SequenceData data;
  DataSplit split;
  std::unique_ptr<BatchBuilder> builder;
  std::unique_ptr<FullRankingEvaluator> evaluator;
  torch::Device device = torch::kCPU;
  QString deviceName;
  runtime::ThreadSplit threads;
  Recommender model;

 private:
  explicit RunSession(Project p) : project(std::move(p)) {}
};

/// Splits a dataset as a configuration says (data.split, cuts).
DataSplit splitFor(const SequenceData& data, const RunConfig& cfg);

}  // namespace rr
