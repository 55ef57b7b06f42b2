#pragma once
/// \file
/// \brief Element-wise CPU kernels shared by the inference paths. Internal to core (LibTorch).

#include <torch/torch.h>

#include <cstdint>

// RR_CPU_KERNEL marks a hot loop: with GCC on x86-64 it is compiled for AVX-512, AVX2+FMA and
// baseline x86-64 and picked at load time (function multi-versioning; RR_CPU_FMV is 1 there).
// Reassociation (fast-math) lets the loops vectorise; each version sums in one fixed order, so
// results are deterministic on a given machine.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RR_CPU_FMV 1
#define RR_CPU_KERNEL __attribute__((target_clones("avx512f", "avx2,fma", "default"), optimize("O3", "fast-math")))
#elif defined(__GNUC__) && !defined(__clang__)
#define RR_CPU_FMV 0
#define RR_CPU_KERNEL __attribute__((optimize("O3", "fast-math")))
#else
#define RR_CPU_FMV 0
#define RR_CPU_KERNEL
#endif

namespace rr {

/// Which vector build of a hand-vectorised kernel runs (the ranking kernel, the fused reasoning
/// step's products): the best the CPU has (Auto), or one named, so tests can run each build.
enum class CpuIsa { Auto, Avx512, Avx2, Baseline };
/// Whether this CPU (and build) can run `isa`. Baseline and Auto always can.
bool cpuIsaSupported(CpuIsa isa);
/// `isa`, or for Auto the best build this CPU supports.
CpuIsa resolvedCpuIsa(CpuIsa isa);

/// GELU, exact form (torch::gelu's default), in place on n floats: x·Φ(x) = x·(1 + erf(x/√2))/2,
/// with erf from Abramowitz & Stegun 7.1.28 (absolute error ≤ 3·10⁻⁷). A plain loop the
/// compiler vectorises; about 3x faster than torch::gelu on one AVX2 core.
void geluInPlace(float* x, int64_t n);

/// GELU of a freshly computed activation: in place with geluInPlace() when no gradient is
/// recorded and x is a contiguous CPU float32 tensor (inference: evaluation, serving), else
/// torch::gelu(x). Call it only on a tensor nothing else holds (a layer's fresh output).
torch::Tensor geluOfFresh(torch::Tensor x);

/// LayerNorm of `rows` contiguous rows of n floats in place, with gain w and shift b [n]: the
/// biased variance, as torch::layer_norm.
void layerNormRows(float* x, const float* w, const float* b, int64_t rows, int64_t n, float eps);

}  // namespace rr
