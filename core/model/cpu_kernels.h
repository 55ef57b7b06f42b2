#pragma once
/// \file
/// \brief Element-wise CPU kernels shared by the inference paths. Internal to core (LibTorch).

#include <torch/torch.h>

#include <cstdint>

namespace rr {

/// GELU, exact form (torch::gelu's default), in place on n floats: x·Φ(x) = x·(1 + erf(x/√2))/2,
/// with erf from Abramowitz & Stegun 7.1.28 (absolute error ≤ 3·10⁻⁷). A plain loop the
/// compiler vectorises; about 3x faster than torch::gelu on one AVX2 core.
void geluInPlace(float* x, int64_t n);

/// GELU of a freshly computed activation: in place with geluInPlace() when no gradient is
/// recorded and x is a contiguous CPU float32 tensor (inference: evaluation, serving), else
/// torch::gelu(x). Call it only on a tensor nothing else holds (a layer's fresh output).
torch::Tensor geluOfFresh(torch::Tensor x);

}  // namespace rr
