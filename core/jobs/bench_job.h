#pragma once
/// \file
/// \brief `reasonrec bench`: training and evaluation throughput, latency, memory and model FLOPs
/// utilisation of a preset, measured in one process.

#include "core/jobs/job.h"

#include <QString>
#include <QStringList>

namespace rr {

struct BenchRequest {
  QString preset = QStringLiteral("sasrec");
  /// A file or "synthetic:..." spec; empty = a synthetic dataset shaped like Amazon Beauty.
  QString data;
  QStringList overrides;        ///< "key=value"
  int threads = 0;              ///< 0 = all cores
  QString device = QStringLiteral("auto");
  double trainSeconds = 20;     ///< measuring budget for training steps (after warm-up)
  int latencyRepeats = 200;     ///< timed single-sample requests
};

/// The synthetic stand-in used when no data is given (about Beauty's size and sparsity).
QString defaultBenchData();

/// \brief result(): preset, threads, device, train_samples_per_second,
/// train_targets_per_second, eval_users_per_second, latency_ms {batch1_p50, batch1_p99,
/// batch256_p50, batch256_p99}, flops_per_sample, parameters, peak_rss_mb, matmul_peak_gflops,
/// model_flops_utilisation, plus the dataset shape and the thread split used.
class BenchJob : public Job {
 public:
  explicit BenchJob(BenchRequest request);
  QString title() const override;

 protected:
  void run() override;

 private:
  BenchRequest request_;
};

}  // namespace rr
