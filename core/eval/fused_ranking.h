#pragma once
/// \file
/// \brief Full-ranking ranks without the score matrix (CPU). Internal to core (LibTorch).

#include "core/model/cpu_kernels.h"

#include <torch/torch.h>

#include <vector>

namespace rr {

/// Whether a RankingTable can be made of `table` (CPU float32 [N+1, d]; otherwise use the BLAS).
bool fusedRankingApplies(const torch::Tensor& table);

/// \brief The ranks FullRankingEvaluator::ranksFromScores(mm(reps, table.t()), target, maskRows,
/// maskItems) gives, computed without materialising the [B, N+1] scores: the item table is
/// packed into panels of two vectors of items (16 with AVX2), and a panel's scores for a tile of
/// six users stay in registers, where they are compared with the users' target scores and
/// counted. This saves the BLAS's pass that zeroes the output, the scores' write and the rank
/// count's read (~50 MB each for 1,024 users on Beauty), and runs on the calling thread alone.
///
/// Every score, the targets' own included, comes out of the same register kernel, so a target
/// ties with itself exactly and ties count against it as in ranksFromScores. The scores can
/// differ from a BLAS GEMM's in the last bits, so a near-tie may be ranked differently from
/// ranksFromScores (a different thread count changes them the same way).
///
/// The table is packed once (the constructor) and then serves any number of batches; ranks() is
/// const, so concurrent evaluation workers share one RankingTable.
class RankingTable {
 public:
  /// table [N+1, d], CPU float32 (row 0 is padding, never ranked).
  explicit RankingTable(const torch::Tensor& table, CpuIsa isa = CpuIsa::Auto);

  /// reps [B, d] CPU float32; target [B] int64; maskRows/maskItems int64 pairs (row in the
  /// batch, item) excluded from ranking, the target itself never. Throws RunError for a target
  /// outside 1..N or a non-finite target score. Returns [B] int64.
  torch::Tensor ranks(const torch::Tensor& reps, const torch::Tensor& target, const torch::Tensor& maskRows = {},
                      const torch::Tensor& maskItems = {}) const;

 private:
  torch::Tensor table_;
  CpuIsa isa_;
  std::vector<float> packed_;
};

/// RankingTable(table, isa).ranks(reps, target, maskRows, maskItems), for one batch.
torch::Tensor fusedTargetRanks(const torch::Tensor& reps, const torch::Tensor& table, const torch::Tensor& target,
                               const torch::Tensor& maskRows = {}, const torch::Tensor& maskItems = {},
                               CpuIsa isa = CpuIsa::Auto);

}  // namespace rr
