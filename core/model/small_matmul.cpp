#include "core/model/small_matmul.h"

#include <ATen/Parallel.h>

#include <vector>

namespace rr {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

/// Above this many multiply-adds per matrix one GEMM call's overhead no longer dominates and
/// OpenBLAS wins (measured: the kernels are 2-8x faster for a last-position query over up to 50
/// keys and for full self-attention over ~10 tokens, slower for full attention over 20+).
constexpr int64_t kSmallMatrixMacs = 4096;
/// Matrices handled per parallel task.
constexpr int64_t kGrain = 16;

bool useKernel(const torch::Tensor& a, const torch::Tensor& b, int64_t macs) {
  return a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kFloat &&
         b.scalar_type() == torch::kFloat && a.dim() >= 3 && macs <= kSmallMatrixMacs;
}

// c[n] = a[n] · b[n]ᵀ; a [N,M,K], b [N,P,K], c [N,M,P], all contiguous. The dot products are
// reassociated (fast-math, this function only) so they vectorise; the order is fixed, so results
// stay deterministic.
__attribute__((optimize("O3", "fast-math"))) void kernelNT(const float* a, const float* b, float* c, int64_t begin,
                                              int64_t end, int64_t M, int64_t K, int64_t P) {
  for (int64_t n = begin; n < end; ++n) {
    const float* an = a + n * M * K;
    const float* bn = b + n * P * K;
    float* cn = c + n * M * P;
    for (int64_t i = 0; i < M; ++i) {
      const float* ai = an + i * K;
      for (int64_t j = 0; j < P; ++j) {
        const float* bj = bn + j * K;
        float acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += ai[k] * bj[k];
        cn[i * P + j] = acc;
      }
    }
  }
}

// c[n] = a[n] · b[n]; a [N,M,K], b [N,K,P], c [N,M,P], all contiguous.
__attribute__((optimize("O3"))) void kernelNN(const float* a, const float* b, float* c, int64_t begin,
                                              int64_t end, int64_t M, int64_t K, int64_t P) {
  for (int64_t n = begin; n < end; ++n) {
    const float* an = a + n * M * K;
    const float* bn = b + n * K * P;
    float* cn = c + n * M * P;
    for (int64_t i = 0; i < M; ++i) {
      float* ci = cn + i * P;
      for (int64_t j = 0; j < P; ++j) ci[j] = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float aik = an[i * K + k];
        const float* bk = bn + k * P;
#pragma GCC ivdep
        for (int64_t j = 0; j < P; ++j) ci[j] += aik * bk[j];
      }
    }
  }
}

/// Flattens the leading dims: [..., R, C] -> [N, R, C] contiguous.
torch::Tensor flat3(const torch::Tensor& t) {
  return t.reshape({-1, t.size(-2), t.size(-1)}).contiguous();
}

torch::Tensor rawNT(const torch::Tensor& a, const torch::Tensor& b) {
  auto a3 = flat3(a), b3 = flat3(b);
  const int64_t N = a3.size(0), M = a3.size(1), K = a3.size(2), P = b3.size(1);
  TORCH_CHECK(b3.size(0) == N && b3.size(2) == K, "batchedMatmulNT: shape mismatch");
  auto c = torch::empty({N, M, P}, a3.options());
  const float* ap = a3.data_ptr<float>();
  const float* bp = b3.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  at::parallel_for(0, N, kGrain, [&](int64_t s, int64_t e) { kernelNT(ap, bp, cp, s, e, M, K, P); });
  return c;  // [N, M, P]; callers restore the leading dims (outside any custom Function)
}

torch::Tensor rawNN(const torch::Tensor& a, const torch::Tensor& b) {
  auto a3 = flat3(a), b3 = flat3(b);
  const int64_t N = a3.size(0), M = a3.size(1), K = a3.size(2), P = b3.size(2);
  TORCH_CHECK(b3.size(0) == N && b3.size(1) == K, "batchedMatmulNN: shape mismatch");
  auto c = torch::empty({N, M, P}, a3.options());
  const float* ap = a3.data_ptr<float>();
  const float* bp = b3.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  at::parallel_for(0, N, kGrain, [&](int64_t s, int64_t e) { kernelNN(ap, bp, cp, s, e, M, K, P); });
  return c;  // [N, M, P]; callers restore the leading dims (outside any custom Function)
}

torch::Tensor transposed(const torch::Tensor& t) { return t.transpose(-2, -1).contiguous(); }

// C = A·Bᵀ (transB): dA = dC·B,  dB = dCᵀ·A.
// C = A·B:            dA = dC·Bᵀ, dB = Aᵀ·dC.
struct SmallMatmul : public torch::autograd::Function<SmallMatmul> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b, bool transB) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["transB"] = transB;
    return transB ? rawNT(a, b) : rawNN(a, b);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& a = saved[0];
    const auto& b = saved[1];
    const bool transB = ctx->saved_data["transB"].toBool();
    const auto g = grads[0].contiguous();
    torch::Tensor da, db;
    if (ctx->needs_input_grad(0)) da = transB ? rawNN(g, b) : rawNT(g, b);
    if (ctx->needs_input_grad(1)) db = transB ? rawNN(transposed(g), a) : rawNN(transposed(a), g);
    return {da, db, torch::Tensor()};
  }
};

/// [N, M, P] -> a's leading dims + [M, P].
torch::Tensor unflatten(const torch::Tensor& c, const torch::Tensor& a) {
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = c.size(-1);
  return c.view(shape);
}

}  // namespace

torch::Tensor batchedMatmulNT(const torch::Tensor& a, const torch::Tensor& b) {
  if (!useKernel(a, b, a.size(-2) * a.size(-1) * b.size(-2)) || a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2))
    return torch::matmul(a, b.transpose(-2, -1));
  return unflatten(SmallMatmul::apply(flat3(a), flat3(b), true), a);
}

torch::Tensor batchedMatmulNN(const torch::Tensor& a, const torch::Tensor& b) {
  if (!useKernel(a, b, a.size(-2) * a.size(-1) * b.size(-1)) || a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2))
    return torch::matmul(a, b);
  return unflatten(SmallMatmul::apply(flat3(a), flat3(b), false), a);
}

}  // namespace rr
