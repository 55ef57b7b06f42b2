#pragma once
/// \file
/// \brief Scoring against the shared item table and the full-softmax cross-entropy (SPEC §2).
/// Internal to core (LibTorch).

#include <torch/torch.h>

namespace rr {

/// \brief Mean cross-entropy of representations h [P,d] against ALL items 1..N of the table
/// [N+1,d] (row 0, padding, is never a class), with logits h·Eᵀ·scale (scale = 1/τ).
/// targets [P] int64 in 1..N.
///
/// Fused and chunked: logits are materialised 1024 rows at a time and the gradients with
/// respect to h and the table are computed in the same pass (the loss is terminal, so backward
/// only scales them). Memory stays at one chunk however many targets the batch has, and one exp
/// pass serves both directions (3-4x faster than log_softmax + nll_loss on CPU here). The
/// gradient work happens even if backward is never called: use it for training losses only.
torch::Tensor fullSoftmaxCrossEntropy(const torch::Tensor& h, const torch::Tensor& table,
                                      const torch::Tensor& targets, double scale = 1.0);

/// \brief Scores of every item for representations z [B,d]: [B, N+1], column 0 = padding.
inline torch::Tensor scoreAll(const torch::Tensor& z, const torch::Tensor& table) {
  return torch::mm(z, table.t());
}

}  // namespace rr
