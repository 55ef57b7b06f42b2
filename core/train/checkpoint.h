#pragma once
/// \file
/// \brief Checkpoints: model, optimizer, RNG state and position, written atomically
/// (temp file + fsync + rename). Internal to core (LibTorch).

#include <torch/torch.h>

#include <QJsonObject>
#include <QString>

namespace rr {

/// \brief Where a stage is and how it has gone so far; saved in every checkpoint.
struct StageState {
  int epoch = 0;          ///< completed epochs
  int64_t step = 0;       ///< optimizer steps so far
  int bestEpoch = 0;
  double bestMetric = -1;
  int badEpochs = 0;      ///< epochs since the best (early stopping)
  bool finished = false;  ///< the stage ended (early stop or last epoch)
  int64_t samples = 0;    ///< training samples processed
  int64_t targets = 0;    ///< training targets processed
  double trainSeconds = 0;
  QJsonObject bestValid;  ///< metric -> value at the best epoch
  QJsonObject lastValid;
  QJsonObject extra;      ///< stage-specific (e.g. RPT's selected sample count)

  QJsonObject toJson() const;
  static StageState fromJson(const QJsonObject& o);
};

/// \brief Writes a checkpoint atomically. A failure (disk full, permission) throws RunError
/// naming the path, and the previous file at `path` stays intact.
void saveCheckpoint(const QString& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                    const StageState& state);

/// \brief Restores model (and optimizer, RNG when given) from a checkpoint. Throws RunError when
/// the file is missing, corrupt or from a different model shape.
StageState loadCheckpoint(const QString& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                          bool restoreRng);

/// Reads only the StageState of a checkpoint.
StageState readCheckpointState(const QString& path);

/// The default CPU generator's state (what a checkpoint saves as "rng_cpu"), and setting it back.
torch::Tensor cpuRngState();
void setCpuRngState(const torch::Tensor& state);

}  // namespace rr
