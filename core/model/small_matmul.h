#pragma once
/// \file
/// \brief Batched products of many tiny matrices (attention's Q·Kᵀ and P·V over batch × heads),
/// differentiable. Internal to core (LibTorch).
///
/// Why: LibTorch 1.13's CPU bmm splits a batch into one GEMM call per matrix (three select()s and
/// an OpenBLAS dispatch each). For attention over short sequences that is 2,048 calls on 9x32
/// matrices per layer and batch: on Beauty's evaluation it was ~30% of the time (profiled).
/// These kernels loop over the batch in one parallel region instead. Other devices and dtypes
/// fall through to torch::matmul.

#include <torch/torch.h>

namespace rr {

/// [..., M, K] x [..., P, K] -> [..., M, P]: a · bᵀ (row dot products; leading dims equal).
torch::Tensor batchedMatmulNT(const torch::Tensor& a, const torch::Tensor& b);
/// [..., M, K] x [..., K, P] -> [..., M, P]: a · b (leading dims equal).
torch::Tensor batchedMatmulNN(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace rr
