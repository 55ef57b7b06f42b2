#include "core/jobs/run_session.h"

#include "core/errors.h"
#include "core/project/stored_config.h"
#include "core/train/checkpoint.h"

#include <QDir>
#include <QFileInfo>

namespace rr {

DataSplit splitFor(const SequenceData& data, const RunConfig& cfg) {
  SplitOptions o;
  o.kind = parseSplitKind(cfg.getString(QStringLiteral("data.split")));
  o.validCut = cfg.getDouble(QStringLiteral("data.valid_cut"));
  o.testCut = cfg.getDouble(QStringLiteral("data.test_cut"));
  return makeSplit(data, o);
}

std::unique_ptr<RunSession> RunSession::open(const QString& projectDir, qint64 runId,
                                             const QStringList& overrides) {
  std::unique_ptr<RunSession> s(new RunSession(Project::openOrCreate(projectDir)));
  s->store = std::make_unique<ExperimentStore>(s->project.databasePath());
  s->run = s->store->run(runId);
  s->config = storedRunConfig(s->run.config);
  for (const QString& o : overrides) s->config.setAssignment(o);
  s->config.validate();
  s->threads = runtime::applyThreads(s->config.getInt(QStringLiteral("threads")));
  s->deviceName = runtime::resolveDevice(s->config.getString(QStringLiteral("device")));
  s->device = torch::Device(s->deviceName.toStdString());
  s->data = s->store->loadDatasetData(s->run.datasetId);
  s->split = splitFor(s->data, s->config);
  s->builder = std::make_unique<BatchBuilder>(s->data, s->config.getInt(QStringLiteral("data.max_len")));
  s->evaluator = std::make_unique<FullRankingEvaluator>(*s->builder, EvalOptions::fromConfig(s->config), s->device);
  // Weights are initialised from the run's seed, so two runs of one configuration start alike.
  torch::manual_seed(static_cast<uint64_t>(s->config.getInt(QStringLiteral("train.seed"))));
  s->model = buildRecommender(s->config, s->data.numItems);
  s->model->to(s->device);
  return s;
}

QString RunSession::checkpointPath(const std::string& stage, const std::string& kind) const {
  return QDir(project.checkpointDir(run.id))
      .filePath(QStringLiteral("%1-%2.pt").arg(QString::fromStdString(stage), QString::fromStdString(kind)));
}

std::string RunSession::finalStage() const {
  const QStringList stages = config.getStringList(QStringLiteral("stages"));
  for (auto it = stages.crbegin(); it != stages.crend(); ++it)
    if (QFileInfo::exists(checkpointPath(it->toStdString(), "best"))) return it->toStdString();
  throw Error(ExitCode::Usage, QStringLiteral("run %1 has no trained checkpoint yet; train or resume it first").arg(run.id));
}

void RunSession::loadBest(const std::string& stage) {
  loadCheckpoint(checkpointPath(stage, "best"), *model, nullptr, /*restoreRng=*/false);
  model->eval();
}

QJsonObject RunSession::datasetJson() const {
  qint64 interactions = 0;
  for (const auto& s : data.sequences) interactions += static_cast<qint64>(s.size());
  return QJsonObject{{QStringLiteral("users"), data.numUsers()},
                     {QStringLiteral("items"), data.numItems},
                     {QStringLiteral("interactions"), static_cast<double>(interactions)}};
}

}  // namespace rr
