#include "core/model/fused_step.h"

#include "core/model/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace rr {
namespace {

std::atomic<int> gEnabled{-1};  // -1: not yet read from the environment

// GCC vector types of 4, 8 and 16 floats. Each build of affine() uses the target's native
// width: a vector wider than the target's registers is lowered through the stack (measured on
// an AVX2 machine: 512-bit vectors made the AVX2 version ~5x slower than 256-bit ones).
typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec16 __attribute__((vector_size(64)));

/// Rows r < R of y[r, o0..o0+L·V) = b + x[r, :]·Wt[:, o0..] with L-float vectors: R·V
/// accumulators stay in registers while Wt's rows stream past, each loaded once for all R rows.
template <typename Vec, int R, int V>
__attribute__((always_inline)) inline void affineBlock(const float* Wt, const float* b, const float* x, float* y,
                                                        int64_t out, int64_t in, int64_t o0) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  typedef float Unaligned __attribute__((vector_size(sizeof(Vec)), aligned(4)));
  Vec acc[R][V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    const Vec bias = *reinterpret_cast<const Unaligned*>(b + o0 + L * v);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][v] = bias;
  }
  for (int64_t k = 0; k < in; ++k) {
    const float* wk = Wt + k * out + o0;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const float xr = x[r * in + k];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] += xr * *reinterpret_cast<const Unaligned*>(wk + L * v);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) *reinterpret_cast<Unaligned*>(y + r * out + o0 + L * v) = acc[r][v];
}

template <typename Vec, int R>
__attribute__((always_inline)) inline void affineRows(const float* Wt, const float* b, const float* x, float* y,
                                                       int64_t out, int64_t in) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  int64_t o = 0;
  for (; o + 4 * L <= out; o += 4 * L) affineBlock<Vec, R, 4>(Wt, b, x, y, out, in, o);
  for (; o + L <= out; o += L) affineBlock<Vec, R, 1>(Wt, b, x, y, out, in, o);
  for (; o < out; ++o)
    for (int r = 0; r < R; ++r) {
      float a = b[o];
      for (int64_t k = 0; k < in; ++k) a += x[r * in + k] * Wt[k * out + o];
      y[r * out + o] = a;
    }
}

/// y[r, :] = Wt ᵀ x[r, :] + b for rows r < rows; Wt is the transposed weight [in, out], x is
/// [rows, in] and y [rows, out], both contiguous.
template <typename Vec>
__attribute__((always_inline)) inline void affineWith(const float* Wt, const float* b, const float* x, float* y,
                                                       int64_t rows, int64_t out, int64_t in) {
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) affineRows<Vec, 2>(Wt, b, x + r * in, y + r * out, out, in);
  if (r < rows) affineRows<Vec, 1>(Wt, b, x + r * in, y + r * out, out, in);
}

#if RR_CPU_FMV
// One version per target (GCC function multi-versioning on the target attribute), each with
// its own vector width; the loader picks the best the CPU supports.
__attribute__((target("avx512f"), optimize("O3", "fast-math"))) void affine(const float* Wt, const float* b,
                                                                            const float* x, float* y, int64_t rows,
                                                                            int64_t out, int64_t in) {
  affineWith<Vec16>(Wt, b, x, y, rows, out, in);
}
__attribute__((target("avx2,fma"), optimize("O3", "fast-math"))) void affine(const float* Wt, const float* b,
                                                                             const float* x, float* y, int64_t rows,
                                                                             int64_t out, int64_t in) {
  affineWith<Vec8>(Wt, b, x, y, rows, out, in);
}
__attribute__((target("default"), optimize("O3", "fast-math"))) void affine(const float* Wt, const float* b,
                                                                            const float* x, float* y, int64_t rows,
                                                                            int64_t out, int64_t in) {
  affineWith<Vec4>(Wt, b, x, y, rows, out, in);
}
#else
RR_CPU_KERNEL void affine(const float* Wt, const float* b, const float* x, float* y, int64_t rows,
                          int64_t out, int64_t in) {
  affineWith<Vec4>(Wt, b, x, y, rows, out, in);
}
#endif

/// Attention of one query q [dh] (one stream, one head) over W cached item keys/values (row j
/// at keys/values + j·rowStride, additive key bias [W]) and the stream's own t tokens
/// (kOwn[s] + offset, unmasked); adds softmax · values to out [dh]. scores: W + t floats.
RR_CPU_KERNEL void attendOne(const float* q, const float* keys, const float* values, int64_t rowStride,
                             const float* bias, int64_t W, const float* const* kOwn, const float* const* vOwn,
                             int64_t offset, int64_t t, int64_t dh, float scale, float* scores, float* out) {
  for (int64_t j = 0; j < W; ++j) {
    const float* k = keys + j * rowStride;
    float dotp = 0;
    for (int64_t c = 0; c < dh; ++c) dotp += q[c] * k[c];
    scores[j] = dotp * scale + bias[j];
  }
  for (int64_t s = 0; s < t; ++s) {
    const float* k = kOwn[s] + offset;
    float dotp = 0;
    for (int64_t c = 0; c < dh; ++c) dotp += q[c] * k[c];
    scores[W + s] = dotp * scale;
  }
  float top = scores[0];
  for (int64_t j = 1; j < W + t; ++j) top = scores[j] > top ? scores[j] : top;
  float sum = 0;
  for (int64_t j = 0; j < W + t; ++j) sum += (scores[j] = std::exp(scores[j] - top));
  const float norm = 1.0f / sum;
  for (int64_t j = 0; j < W; ++j) {
    const float* v = values + j * rowStride;
    const float p = scores[j] * norm;
    for (int64_t c = 0; c < dh; ++c) out[c] += p * v[c];
  }
  for (int64_t s = 0; s < t; ++s) {
    const float* v = vOwn[s] + offset;
    const float p = scores[W + s] * norm;
    for (int64_t c = 0; c < dh; ++c) out[c] += p * v[c];
  }
}

/// LayerNorm of `rows` rows of n values in place (biased variance, as torch::layer_norm).
RR_CPU_KERNEL void layerNorm(float* x, const float* w, const float* b, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r, x += n) {
    float mean = 0, var = 0;
    for (int64_t k = 0; k < n; ++k) mean += x[k];
    mean /= static_cast<float>(n);
    for (int64_t k = 0; k < n; ++k) var += (x[k] - mean) * (x[k] - mean);
    const float inv = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
    for (int64_t k = 0; k < n; ++k) x[k] = (x[k] - mean) * inv * w[k] + b[k];
  }
}

/// Raw pointers of one layer's parameters; the four matrices transposed ([in, out]).
struct LayerWeights {
  const float *wqkv, *bqkv, *wo, *bo, *ln1w, *ln1b, *ln2w, *ln2b, *w1, *b1, *w2, *b2;
  float eps1, eps2;
  int64_t heads, ffn;
  bool preNorm;
};

LayerWeights weightsOf(TransformerLayerImpl& layer, const FusedWeights::Layer& packed) {
  auto& a = *layer.attn;
  LayerWeights w{};
  w.wqkv = packed.qkv.data_ptr<float>();
  w.bqkv = a.inProj->bias.data_ptr<float>();
  w.wo = packed.out.data_ptr<float>();
  w.bo = a.outProj->bias.data_ptr<float>();
  w.ln1w = layer.ln1->weight.data_ptr<float>();
  w.ln1b = layer.ln1->bias.data_ptr<float>();
  w.ln2w = layer.ln2->weight.data_ptr<float>();
  w.ln2b = layer.ln2->bias.data_ptr<float>();
  w.w1 = packed.ff1.data_ptr<float>();
  w.b1 = layer.ff1->bias.data_ptr<float>();
  w.w2 = packed.ff2.data_ptr<float>();
  w.b2 = layer.ff2->bias.data_ptr<float>();
  w.eps1 = static_cast<float>(layer.ln1->options.eps());
  w.eps2 = static_cast<float>(layer.ln2->options.eps());
  w.heads = a.heads();
  w.ffn = layer.ff1->weight.size(0);
  w.preNorm = layer.options().preNorm;
  return w;
}

std::vector<torch::Tensor> matricesOf(TransformerLayerImpl& layer) {
  return {layer.attn->inProj->weight, layer.attn->outProj->weight, layer.ff1->weight, layer.ff2->weight};
}

}  // namespace

std::vector<FusedWeights::Layer> FusedWeights::of(SasrecEncoderImpl& encoder) {
  std::vector<Stamp> now;
  for (size_t i = 0; i < encoder.layers->size(); ++i)
    for (const auto& m : matricesOf(*encoder.layers->ptr<TransformerLayerImpl>(i)))
      now.push_back({m.data_ptr(), m._version()});
  std::lock_guard<std::mutex> lock(mutex_);
  if (now != stamps_) {
    const auto params = encoder.layers->parameters();
    TORCH_CHECK(std::all_of(params.begin(), params.end(),
                            [](const torch::Tensor& p) {
                              return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous();
                            }),
                "fused reasoning step: the backbone's layer parameters must be contiguous CPU float32 tensors");
    torch::NoGradGuard ng;
    layers_.clear();
    for (size_t i = 0; i < encoder.layers->size(); ++i) {
      const auto m = matricesOf(*encoder.layers->ptr<TransformerLayerImpl>(i));
      layers_.push_back({m[0].t().contiguous(), m[1].t().contiguous(), m[2].t().contiguous(), m[3].t().contiguous()});
    }
    stamps_ = std::move(now);
  }
  return layers_;
}

bool fusedStepEnabled() {
  int v = gEnabled.load();
  if (v < 0) {
    const char* env = std::getenv("RR_FUSED_STEP");
    v = env && std::strcmp(env, "0") == 0 ? 0 : 1;
    gEnabled.store(v);
  }
  return v == 1;
}

void setFusedStepEnabled(bool on) { gEnabled.store(on ? 1 : 0); }

bool fusedStepApplies(const SasrecEncoderImpl& encoder, const torch::Tensor& like, bool captureAttention) {
  if (!fusedStepEnabled() || captureAttention || torch::GradMode::is_enabled() || encoder.is_training()) return false;
  // The model's tensors share one device and dtype, so `like` stands for the parameters; their
  // layout is checked when FusedWeights copies them (called on every step, so this stays cheap).
  return like.device().is_cpu() && like.scalar_type() == torch::kFloat;
}

void fusedReasoningStepInPlace(SasrecEncoderImpl& encoder, FusedWeights& weights, const ItemContext& ctx,
                               ReasoningCache& cache, float* xp, int64_t B, int64_t M) {
  const size_t n = encoder.layers->size();
  if (cache.keys.size() != n) cache = ReasoningCache(n);
  const int64_t d = encoder.d(), W = ctx.width;
  TORCH_CHECK(ctx.h0.size(0) == B && ctx.keyBias.numel() == B * W, "fused reasoning step: ", B,
              " rows against a context of ", ctx.h0.size(0));
  const auto packed = weights.of(encoder);
  // This step's keys and values of every layer: one [layers, 2, B, M, d] block, pushed to the
  // cache as contiguous views.
  auto kvAll = torch::empty({static_cast<int64_t>(n), 2, B, M, d}, torch::TensorOptions().dtype(torch::kFloat));
  const auto keyBias = ctx.keyBias.contiguous();  // [B,1,1,W]
  const float* biasp = keyBias.data_ptr<float>();
  for (size_t i = 0; i < n; ++i) {
    const LayerWeights w = weightsOf(*encoder.layers->ptr<TransformerLayerImpl>(i), packed[i]);
    const int64_t H = w.heads, dh = d / H, F = w.ffn;
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    float* kNew = kvAll.data_ptr<float>() + static_cast<int64_t>(i) * 2 * B * M * d;
    float* vNew = kNew + B * M * d;
    auto kv = kvAll[static_cast<int64_t>(i)];
    cache.keys[i].push_back(kv[0]);
    cache.values[i].push_back(kv[1]);
    const int64_t t = static_cast<int64_t>(cache.keys[i].size());
    std::vector<const float*> kOwn(static_cast<size_t>(t)), vOwn(static_cast<size_t>(t));
    std::vector<torch::Tensor> keep;  // contiguous copies of earlier steps stored as views
    for (int64_t s = 0; s < t; ++s) {
      auto k = cache.keys[i][static_cast<size_t>(s)], v = cache.values[i][static_cast<size_t>(s)];
      if (!k.is_contiguous()) keep.push_back(k = k.contiguous());
      if (!v.is_contiguous()) keep.push_back(v = v.contiguous());
      kOwn[static_cast<size_t>(s)] = k.data_ptr<float>();
      vOwn[static_cast<size_t>(s)] = v.data_ptr<float>();
    }
    // The item keys/values [B,H,W,dh] as encode() left them: contiguous, or strided views into
    // the layer's projections for small batches. Read in place; only the last dim must be dense.
    auto kCtx = ctx.keys[i], vCtx = ctx.values[i];
    if (kCtx.stride(3) != 1 || vCtx.stride(3) != 1 || kCtx.strides() != vCtx.strides()) {
      kCtx = kCtx.contiguous();
      vCtx = vCtx.contiguous();
    }
    const int64_t sb = kCtx.stride(0), sh = kCtx.stride(1), sw = kCtx.stride(2);
    const float* kItems = kCtx.data_ptr<float>();
    const float* vItems = vCtx.data_ptr<float>();
    // Batch row b's M streams: keeps their new keys/values for later steps and adds their
    // attention outputs to att [M, d]; qkv [M, 3d] holds the streams' projections.
    auto attendRow = [&](int64_t b, const float* qkv, float* att, float* scores) {
      for (int64_t m = 0; m < M; ++m) {
        const int64_t row = b * M + m;
        const float* qm = qkv + m * 3 * d;
        std::copy(qm + d, qm + 2 * d, kNew + row * d);
        std::copy(qm + 2 * d, qm + 3 * d, vNew + row * d);
        // Per head: the row's cached item keys, then this stream's own tokens 1..t.
        for (int64_t h = 0; h < H; ++h)
          attendOne(qm + h * dh, kItems + b * sb + h * sh, vItems + b * sb + h * sh, sw, biasp + b * W, W,
                    kOwn.data(), vOwn.data(), row * d + h * dh, t, dh, scale, scores, att + m * d + h * dh);
      }
    };
    if (B * M > kFusedStepMaxRows) {
      // Larger batches: the same step with the four products as BLAS GEMMs over all B·M rows
      // (OpenBLAS's threads); attention, LayerNorm, GELU and the residuals in the same loops as
      // the per-row variant below.
      auto& layer = *encoder.layers->ptr<TransformerLayerImpl>(i);
      const int64_t R = B * M;
      auto X = torch::from_blob(xp, {R, d}, torch::TensorOptions().dtype(torch::kFloat));  // updated in place
      auto normalised = [&](const float* gain, const float* shift, float eps) {  // pre-LN inputs
        auto c = X.clone();
        layerNorm(c.data_ptr<float>(), gain, shift, R, d, eps);
        return c;
      };
      auto in = w.preNorm ? normalised(w.ln1w, w.ln1b, w.eps1) : X;
      const auto qkv = torch::addmm(layer.attn->inProj->bias, in, packed[i].qkv);  // [R, 3d]
      auto att = torch::zeros({R, d}, X.options());
      const float* qkvp = qkv.data_ptr<float>();
      float* attp = att.data_ptr<float>();
      at::parallel_for(0, B, 16, [&](int64_t b0, int64_t b1) {
        std::vector<float> scores(static_cast<size_t>(W + t));
        for (int64_t b = b0; b < b1; ++b) attendRow(b, qkvp + b * M * 3 * d, attp + b * M * d, scores.data());
      });
      X.add_(torch::addmm(layer.attn->outProj->bias, att, packed[i].out));
      if (!w.preNorm) layerNorm(xp, w.ln1w, w.ln1b, R, d, w.eps1);
      in = w.preNorm ? normalised(w.ln2w, w.ln2b, w.eps2) : X;
      const auto hid = geluOfFresh(torch::addmm(layer.ff1->bias, in, packed[i].ff1));  // [R, F]
      X.add_(torch::addmm(layer.ff2->bias, hid, packed[i].ff2));
      if (!w.preNorm) layerNorm(xp, w.ln2w, w.ln2b, R, d, w.eps2);
      continue;
    }
    // Batch rows are independent and go to threads; a row's M streams share each weight load.
    at::parallel_for(0, B, std::max<int64_t>(1, kFusedStepMaxRows / (4 * M)), [&](int64_t b0, int64_t b1) {
      std::vector<float> scratch(static_cast<size_t>(M * (6 * d + F) + W + t));
      float* in = scratch.data();      // [M, d] layer inputs (normalised for pre-LN)
      float* qkv = in + M * d;         // [M, 3d]
      float* att = qkv + M * 3 * d;    // [M, d]
      float* proj = att + M * d;       // [M, d]
      float* hid = proj + M * d;       // [M, F]
      float* scores = hid + M * F;     // [W + t]
      for (int64_t b = b0; b < b1; ++b) {
        float* xb = xp + b * M * d;  // the row's M streams, [M, d]
        std::copy(xb, xb + M * d, in);
        if (w.preNorm) layerNorm(in, w.ln1w, w.ln1b, M, d, w.eps1);
        affine(w.wqkv, w.bqkv, in, qkv, M, 3 * d, d);
        std::fill(att, att + M * d, 0.0f);
        attendRow(b, qkv, att, scores);
        affine(w.wo, w.bo, att, proj, M, d, d);
        // Attention residual (post-LN: LN1(x + a); pre-LN: x + a), then the feed-forward half.
        for (int64_t k = 0; k < M * d; ++k) xb[k] += proj[k];
        if (!w.preNorm) layerNorm(xb, w.ln1w, w.ln1b, M, d, w.eps1);
        std::copy(xb, xb + M * d, in);
        if (w.preNorm) layerNorm(in, w.ln2w, w.ln2b, M, d, w.eps2);
        affine(w.w1, w.b1, in, hid, M, F, d);
        geluInPlace(hid, M * F);
        affine(w.w2, w.b2, hid, proj, M, d, F);
        for (int64_t k = 0; k < M * d; ++k) xb[k] += proj[k];
        if (!w.preNorm) layerNorm(xb, w.ln2w, w.ln2b, M, d, w.eps2);
      }
    });
  }
}

torch::Tensor fusedReasoningStep(SasrecEncoderImpl& encoder, FusedWeights& weights, const ItemContext& ctx,
                                 ReasoningCache& cache, const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 3 && input.size(2) == encoder.d(), "fused reasoning step: expected [B, M, ",
              encoder.d(), "] inputs, got ", input.sizes());
  auto x = input.clone(at::MemoryFormat::Contiguous);  // one contiguous copy, updated in place
  fusedReasoningStepInPlace(encoder, weights, ctx, cache, x.data_ptr<float>(), x.size(0), x.size(1));
  return x;
}

}  // namespace rr
