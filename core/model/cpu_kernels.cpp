#include "core/model/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace rr {
namespace {

/// erf(u) = 1 − (1 + a₁u + … + a₆u⁶)^−16 for u ≥ 0, odd in u: no calls, so the loop vectorises.
RR_CPU_KERNEL void geluKernel(float* x, int64_t n) {
  constexpr float a1 = 0.0705230784f, a2 = 0.0422820123f, a3 = 0.0092705272f, a4 = 0.0001520143f,
                  a5 = 0.0002765672f, a6 = 0.0000430638f;
  for (int64_t k = 0; k < n; ++k) {
    const float v = x[k] * static_cast<float>(M_SQRT1_2);
    float u = v < 0 ? -v : v;
    u = u < 6.0f ? u : 6.0f;  // erf(6) = 1 − 2·10⁻¹⁷; keeps the 16th power finite
    float p = 1.0f + u * (a1 + u * (a2 + u * (a3 + u * (a4 + u * (a5 + u * a6)))));
    p *= p;  // p², p⁴, p⁸, p¹⁶
    p *= p;
    p *= p;
    p *= p;
    const float e = 1.0f - 1.0f / p;
    x[k] = 0.5f * x[k] * (1.0f + (v < 0 ? -e : e));
  }
}

RR_CPU_KERNEL void layerNormKernel(float* x, const float* w, const float* b, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r, x += n) {
    float mean = 0, var = 0;
    for (int64_t k = 0; k < n; ++k) mean += x[k];
    mean /= static_cast<float>(n);
    for (int64_t k = 0; k < n; ++k) var += (x[k] - mean) * (x[k] - mean);
    const float inv = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
    for (int64_t k = 0; k < n; ++k) x[k] = (x[k] - mean) * inv * w[k] + b[k];
  }
}

}  // namespace

bool cpuIsaSupported(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Auto:
    case CpuIsa::Baseline:
      return true;
#if RR_CPU_FMV
    case CpuIsa::Avx512:
      return __builtin_cpu_supports("avx512f");
    case CpuIsa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    default:
      return false;
#endif
  }
  return false;
}

CpuIsa resolvedCpuIsa(CpuIsa isa) {
  if (isa != CpuIsa::Auto) return isa;
  return cpuIsaSupported(CpuIsa::Avx512) ? CpuIsa::Avx512
         : cpuIsaSupported(CpuIsa::Avx2) ? CpuIsa::Avx2
                                         : CpuIsa::Baseline;
}

void layerNormRows(float* x, const float* w, const float* b, int64_t rows, int64_t n, float eps) {
  layerNormKernel(x, w, b, rows, n, eps);
}

void geluInPlace(float* x, int64_t n) { geluKernel(x, n); }

torch::Tensor geluOfFresh(torch::Tensor x) {
  if (torch::GradMode::is_enabled() || x.requires_grad() || !x.device().is_cpu() ||
      x.scalar_type() != torch::kFloat || !x.is_contiguous())
    return torch::gelu(x);
  float* p = x.data_ptr<float>();
  at::parallel_for(0, x.numel(), 1 << 15, [p](int64_t begin, int64_t end) { geluKernel(p + begin, end - begin); });
  return x;
}

}  // namespace rr
