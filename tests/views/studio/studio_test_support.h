#pragma once
// Shared by the studio's widget tests: an isolated QSettings, a temporary project with a tiny
// synthetic dataset, and a small training configuration.
#include "core/jobs/import_job.h"
#include "core/project/project.h"
#include "core/project/run_config.h"
#include "core/store/experiment_store.h"

#include <QCoreApplication>
#include <QStandardPaths>

namespace rr::test {

inline const QString kTinyData = QStringLiteral("synthetic:users=200,items=50,clusters=4,length=10,seed=3");

/// Settings and recent-project lists go to a throwaway location.
inline void isolateSettings() {
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName(QStringLiteral("ReasonRecTests"));
  QCoreApplication::setApplicationName(QStringLiteral("studio-tests"));
}

/// Creates the project and imports the tiny dataset; returns the dataset id.
inline qint64 makeProject(const QString& dir) {
  Project p = Project::openOrCreate(dir);
  ExperimentStore store(p.databasePath());
  ImportRequest req;
  req.projectDir = dir;
  req.source = kTinyData;
  req.name = QStringLiteral("tiny");
  return importDataset(req, store);
}

inline RunConfig tinyConfig(int epochs) {
  RunConfig cfg = RunConfig::fromPreset(QStringLiteral("sasrec"));
  cfg.set(QStringLiteral("data.max_len"), 10);
  cfg.set(QStringLiteral("model.d"), 16);
  cfg.set(QStringLiteral("train.epochs"), epochs);
  cfg.set(QStringLiteral("train.batch_size"), 64);
  cfg.set(QStringLiteral("train.log_every"), 1);
  cfg.set(QStringLiteral("train.patience"), 0);
  cfg.set(QStringLiteral("threads"), 1);
  return cfg;
}

}  // namespace rr::test
