#pragma once
/// \file
/// \brief Importing a dataset into a project: read, preprocess, compute statistics, store.

#include "core/data/preprocess.h"
#include "core/data/readers.h"
#include "core/jobs/job.h"

#include <QString>

namespace rr {

class ExperimentStore;

struct ImportRequest {
  QString projectDir;
  QString source;            ///< a file path, or a "synthetic:..." generator spec
  DataFormat format = DataFormat::Auto;
  PreprocessOptions preprocess;
  QString name;              ///< display name; default: the file's base name
};

/// \brief Content fingerprint of a source plus preprocessing options: the same file imported
/// with the same options is stored once. Throws DataError when the file cannot be read.
QString datasetFingerprint(const ImportRequest& request);

/// \brief Imports (or finds the identical earlier import of) a dataset. Returns its id.
/// Thread: the store's thread. progress(bytes, total) may throw CancelledError.
qint64 importDataset(const ImportRequest& request, ExperimentStore& store,
                     const ReadProgress& progress = {}, bool* reused = nullptr);

/// \brief The import as a job (studio import wizard). result(): {"dataset_id", "reused",
/// "stats"}.
class ImportJob : public Job {
 public:
  explicit ImportJob(ImportRequest request);
  QString title() const override;
  qint64 datasetId() const { return datasetId_.load(); }

 protected:
  void run() override;

 private:
  ImportRequest request_;
  std::atomic<qint64> datasetId_{0};
};

}  // namespace rr
