#include "core/model/fused_step.h"

#include "core/model/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace rr {
namespace {

std::atomic<int> gEnabled{-1};  // -1: not yet read from the environment
std::atomic<CpuIsa> gIsa{CpuIsa::Auto};

// GCC vector types of 4, 8 and 16 floats. Each build of affine() uses the target's native
// width: a vector wider than the target's registers is lowered through the stack (measured on
// an AVX2 machine: 512-bit vectors made the AVX2 version ~5x slower than 256-bit ones).
typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec16 __attribute__((vector_size(64)));

/// The lane sums of four vectors a0..a3 of L floats, as one vector of 4 (pairwise tree of
/// shuffles and adds: 2 + log2(L/4) levels, no scalar extraction).
template <typename Vec>
__attribute__((always_inline)) inline Vec4 laneSums4(Vec a0, Vec a1, Vec a2, Vec a3) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  if constexpr (L == 4) {
    const Vec4 b0 = __builtin_shufflevector(a0, a1, 0, 4, 2, 6) + __builtin_shufflevector(a0, a1, 1, 5, 3, 7);
    const Vec4 b1 = __builtin_shufflevector(a2, a3, 0, 4, 2, 6) + __builtin_shufflevector(a2, a3, 1, 5, 3, 7);
    return __builtin_shufflevector(b0, b1, 0, 1, 4, 5) + __builtin_shufflevector(b0, b1, 2, 3, 6, 7);
  } else if constexpr (L == 8) {  // add the halves, then the 4-lane tree
    return laneSums4<Vec4>(__builtin_shufflevector(a0, a0, 0, 1, 2, 3) + __builtin_shufflevector(a0, a0, 4, 5, 6, 7),
                           __builtin_shufflevector(a1, a1, 0, 1, 2, 3) + __builtin_shufflevector(a1, a1, 4, 5, 6, 7),
                           __builtin_shufflevector(a2, a2, 0, 1, 2, 3) + __builtin_shufflevector(a2, a2, 4, 5, 6, 7),
                           __builtin_shufflevector(a3, a3, 0, 1, 2, 3) + __builtin_shufflevector(a3, a3, 4, 5, 6, 7));
  } else {
    static_assert(L == 16, "4, 8 or 16 lanes");
    return laneSums4<Vec8>(__builtin_shufflevector(a0, a0, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(a0, a0, 8, 9, 10, 11, 12, 13, 14, 15),
                           __builtin_shufflevector(a1, a1, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(a1, a1, 8, 9, 10, 11, 12, 13, 14, 15),
                           __builtin_shufflevector(a2, a2, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(a2, a2, 8, 9, 10, 11, 12, 13, 14, 15),
                           __builtin_shufflevector(a3, a3, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(a3, a3, 8, 9, 10, 11, 12, 13, 14, 15));
  }
}

/// y[r, o0..o0+4) = b + W[o, :]·x[r, :] for rows r < R, W [out, in] as nn::Linear stores it:
/// 4·R vector sums over the inputs (each weight vector loaded once for all R rows), then the
/// lane sums of four outputs at once. in % L trailing inputs are added one by one.
template <typename Vec, int R>
__attribute__((always_inline)) inline void affineBlock(const float* W, const float* b, const float* x, float* y,
                                                        int64_t out, int64_t in, int64_t o0) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  typedef float Unaligned __attribute__((vector_size(sizeof(Vec)), aligned(4)));
  Vec acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) acc[r][o] = Vec{};
  int64_t k = 0;
  for (; k + L <= in; k += L) {
    Vec xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) xv[r] = *reinterpret_cast<const Unaligned*>(x + r * in + k);
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) {
      Vec wv = *reinterpret_cast<const Unaligned*>(W + (o0 + o) * in + k);
      asm("" : "+x"(wv));  // one load into a register, shared by the R rows
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][o] += xv[r] * wv;
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    Vec4 sum = laneSums4<Vec>(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) {
      float v = sum[o] + b[o0 + o];
      for (int64_t kk = k; kk < in; ++kk) v += x[r * in + kk] * W[(o0 + o) * in + kk];
      y[r * out + o0 + o] = v;
    }
  }
}

template <typename Vec, int R>
__attribute__((always_inline)) inline void affineRows(const float* W, const float* b, const float* x, float* y,
                                                       int64_t out, int64_t in) {
  int64_t o = 0;
  for (; o + 4 <= out; o += 4) affineBlock<Vec, R>(W, b, x, y, out, in, o);
  for (; o < out; ++o)
    for (int r = 0; r < R; ++r) {
      float v = b[o];
      for (int64_t k = 0; k < in; ++k) v += x[r * in + k] * W[o * in + k];
      y[r * out + o] = v;
    }
}

/// y[r, :] = W x[r, :] + b for rows r < rows; W is the weight [out, in], x is [rows, in] and
/// y [rows, out], all contiguous.
template <typename Vec>
__attribute__((always_inline)) inline void affineWith(const float* W, const float* b, const float* x, float* y,
                                                       int64_t rows, int64_t out, int64_t in) {
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) affineRows<Vec, 2>(W, b, x + r * in, y + r * out, out, in);
  if (r < rows) affineRows<Vec, 1>(W, b, x + r * in, y + r * out, out, in);
}

/// affine() for one vector build; picked per pass (affineFor) so tests can run each build.
using AffineFn = void (*)(const float* W, const float* b, const float* x, float* y, int64_t rows, int64_t out,
                          int64_t in);

#if RR_CPU_FMV
// One version per target, each with its own vector width.
__attribute__((target("avx512f"), optimize("O3", "fast-math"))) void affine16(const float* W, const float* b,
                                                                              const float* x, float* y,
                                                                              int64_t rows, int64_t out, int64_t in) {
  affineWith<Vec16>(W, b, x, y, rows, out, in);
}
__attribute__((target("avx2,fma"), optimize("O3", "fast-math"))) void affine8(const float* W, const float* b,
                                                                              const float* x, float* y,
                                                                              int64_t rows, int64_t out, int64_t in) {
  affineWith<Vec8>(W, b, x, y, rows, out, in);
}
#endif
__attribute__((optimize("O3", "fast-math"))) void affine4(const float* W, const float* b, const float* x, float* y,
                                                          int64_t rows, int64_t out, int64_t in) {
  affineWith<Vec4>(W, b, x, y, rows, out, in);
}

AffineFn affineFor(CpuIsa isa) {
  TORCH_CHECK(cpuIsaSupported(isa), "fused reasoning step: this CPU lacks the requested instruction set");
  switch (resolvedCpuIsa(isa)) {
#if RR_CPU_FMV
    case CpuIsa::Avx512:
      return affine16;
    case CpuIsa::Avx2:
      return affine8;
#endif
    default:
      return affine4;
  }
}

/// Attention of one query q [dh] (one stream, one head) over W cached item keys/values (row j
/// at keys/values + j·rowStride, additive key bias [W]) and the stream's own t tokens
/// (kOwn[s] + offset, unmasked); adds softmax · values to out [dh]. scores: W + t floats.
/// Padding keys (bias kMaskedScore) are skipped: their weight exp(−10⁹ − max) is exactly 0 in
/// float, and computing it went through libm's underflow path (at batch 256 on Beauty, where
/// most of a row's keys are padding, expf and its underflow handler were ~15% of the reasoning
/// time).
RR_CPU_KERNEL void attendOne(const float* q, const float* keys, const float* values, int64_t rowStride,
                             const float* bias, int64_t W, const float* const* kOwn, const float* const* vOwn,
                             int64_t offset, int64_t t, int64_t dh, float scale, float* scores, float* out) {
  constexpr float kPadding = kMaskedScore / 2;
  float top = -std::numeric_limits<float>::max();
  for (int64_t j = 0; j < W; ++j) {
    if (bias[j] <= kPadding) continue;
    const float* k = keys + j * rowStride;
    float dotp = 0;
    for (int64_t c = 0; c < dh; ++c) dotp += q[c] * k[c];
    scores[j] = dotp * scale + bias[j];
    top = scores[j] > top ? scores[j] : top;
  }
  for (int64_t s = 0; s < t; ++s) {
    const float* k = kOwn[s] + offset;
    float dotp = 0;
    for (int64_t c = 0; c < dh; ++c) dotp += q[c] * k[c];
    scores[W + s] = dotp * scale;
    top = scores[W + s] > top ? scores[W + s] : top;
  }
  float sum = 0;
  for (int64_t j = 0; j < W; ++j)
    if (bias[j] > kPadding) sum += (scores[j] = std::exp(scores[j] - top));
  for (int64_t s = 0; s < t; ++s) sum += (scores[W + s] = std::exp(scores[W + s] - top));
  const float norm = 1.0f / sum;
  for (int64_t j = 0; j < W; ++j) {
    if (bias[j] <= kPadding) continue;
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

/// Raw pointers of one layer's parameters, the matrices as nn::Linear stores them ([out, in]).
struct LayerWeights {
  const float *wqkv, *bqkv, *wo, *bo, *ln1w, *ln1b, *ln2w, *ln2b, *w1, *b1, *w2, *b2;
  float eps1, eps2;
  int64_t heads, ffn;
  bool preNorm;
};

LayerWeights weightsOf(TransformerLayerImpl& layer) {
  auto& a = *layer.attn;
  // The twelve tensors read below, named directly: layer.parameters() builds an ordered dict of
  // qualified names, and a batch-1 PLR pass took 43.5 µs with it, 30–33 without (2-core AMD EPYC).
  for (const torch::Tensor* p : {&a.inProj->weight, &a.inProj->bias, &a.outProj->weight, &a.outProj->bias,
                                 &layer.ln1->weight, &layer.ln1->bias, &layer.ln2->weight, &layer.ln2->bias,
                                 &layer.ff1->weight, &layer.ff1->bias, &layer.ff2->weight, &layer.ff2->bias})
    TORCH_CHECK(p->defined() && p->device().is_cpu() && p->scalar_type() == torch::kFloat && p->is_contiguous(),
                "fused reasoning step: the backbone's layer parameters must be contiguous CPU float32 tensors");
  LayerWeights w{};
  w.wqkv = a.inProj->weight.data_ptr<float>();
  w.bqkv = a.inProj->bias.data_ptr<float>();
  w.wo = a.outProj->weight.data_ptr<float>();
  w.bo = a.outProj->bias.data_ptr<float>();
  w.ln1w = layer.ln1->weight.data_ptr<float>();
  w.ln1b = layer.ln1->bias.data_ptr<float>();
  w.ln2w = layer.ln2->weight.data_ptr<float>();
  w.ln2b = layer.ln2->bias.data_ptr<float>();
  w.w1 = layer.ff1->weight.data_ptr<float>();
  w.b1 = layer.ff1->bias.data_ptr<float>();
  w.w2 = layer.ff2->weight.data_ptr<float>();
  w.b2 = layer.ff2->bias.data_ptr<float>();
  w.eps1 = static_cast<float>(layer.ln1->options.eps());
  w.eps2 = static_cast<float>(layer.ln2->options.eps());
  w.heads = a.heads();
  w.ffn = layer.ff1->weight.size(0);
  w.preNorm = layer.options().preNorm;
  return w;
}

}  // namespace

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

void setFusedStepIsa(CpuIsa isa) { gIsa.store(isa); }

bool fusedStepApplies(const SasrecEncoderImpl& encoder, const torch::Tensor& like, bool captureAttention) {
  if (!fusedStepEnabled() || captureAttention || torch::GradMode::is_enabled() || encoder.is_training()) return false;
  // The model's tensors share one device and dtype, so `like` stands for the parameters; their
  // layout is checked when the step reads them (weightsOf).
  return like.device().is_cpu() && like.scalar_type() == torch::kFloat;
}

namespace {

/// Where one layer of one step reads and writes: the item keys/values [B,H,W,dh] (strides sb,
/// sh, sw; last dim dense), the key-padding bias [B,W], the streams' own keys/values of steps
/// 1..t (t pointers to [B,M,d] blocks, the last being this step's kNew/vNew).
struct LayerIo {
  const float *kItems, *vItems;
  int64_t sb, sh, sw;
  const float* bias;
  int64_t W;
  const float* const* kOwn;
  const float* const* vOwn;
  int64_t t;
  float *kNew, *vNew;
};

/// The item keys/values of ctx's layer i, readable in place (contiguous copies only when the
/// last dim is not dense or keys and values differ in layout).
std::pair<torch::Tensor, torch::Tensor> itemKeysValues(const ItemContext& ctx, size_t i) {
  auto k = ctx.keys[i], v = ctx.values[i];
  if (k.stride(3) != 1 || v.stride(3) != 1 || k.strides() != v.strides()) return {k.contiguous(), v.contiguous()};
  return {k, v};
}

/// One layer of a reasoning step on x (B·M rows of d floats), in place; stores the rows' new
/// keys/values at io.kNew/io.vNew.
void runLayer(TransformerLayerImpl& layer, const LayerWeights& w, const LayerIo& io, AffineFn affine,
              float* xp, int64_t B, int64_t M, int64_t d) {
  const int64_t H = w.heads, dh = d / H, F = w.ffn, W = io.W, t = io.t;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  // Batch row b's M streams: keeps their new keys/values for later steps and adds their
  // attention outputs to att [M, d]; qkv [M, 3d] holds the streams' projections.
  auto attendRow = [&](int64_t b, const float* qkv, float* att, float* scores) {
    for (int64_t m = 0; m < M; ++m) {
      const int64_t row = b * M + m;
      const float* qm = qkv + m * 3 * d;
      std::copy(qm + d, qm + 2 * d, io.kNew + row * d);
      std::copy(qm + 2 * d, qm + 3 * d, io.vNew + row * d);
      // Per head: the row's cached item keys, then this stream's own tokens 1..t.
      for (int64_t h = 0; h < H; ++h)
        attendOne(qm + h * dh, io.kItems + b * io.sb + h * io.sh, io.vItems + b * io.sb + h * io.sh, io.sw,
                  io.bias + b * W, W, io.kOwn, io.vOwn, row * d + h * dh, t, dh, scale, scores, att + m * d + h * dh);
    }
  };
  if (B * M > kFusedStepMaxRows) {
    // Larger batches: the same step with the four products as BLAS GEMMs over all B·M rows
    // (OpenBLAS's threads); attention, LayerNorm, GELU and the residuals in the same loops as
    // the per-row variant below.
    const int64_t R = B * M;
    auto X = torch::from_blob(xp, {R, d}, torch::TensorOptions().dtype(torch::kFloat));  // updated in place
    auto normalised = [&](const float* gain, const float* shift, float eps) {  // pre-LN inputs
      auto c = X.clone();
      layerNormRows(c.data_ptr<float>(), gain, shift, R, d, eps);
      return c;
    };
    auto in = w.preNorm ? normalised(w.ln1w, w.ln1b, w.eps1) : X;
    const auto qkv = torch::addmm(layer.attn->inProj->bias, in, layer.attn->inProj->weight.t());  // [R, 3d]
    auto att = torch::zeros({R, d}, X.options());
    const float* qkvp = qkv.data_ptr<float>();
    float* attp = att.data_ptr<float>();
    at::parallel_for(0, B, 16, [&](int64_t b0, int64_t b1) {
      std::vector<float> scores(static_cast<size_t>(W + t));
      for (int64_t b = b0; b < b1; ++b) attendRow(b, qkvp + b * M * 3 * d, attp + b * M * d, scores.data());
    });
    X.add_(torch::addmm(layer.attn->outProj->bias, att, layer.attn->outProj->weight.t()));
    if (!w.preNorm) layerNormRows(xp, w.ln1w, w.ln1b, R, d, w.eps1);
    in = w.preNorm ? normalised(w.ln2w, w.ln2b, w.eps2) : X;
    const auto hid = geluOfFresh(torch::addmm(layer.ff1->bias, in, layer.ff1->weight.t()));  // [R, F]
    X.add_(torch::addmm(layer.ff2->bias, hid, layer.ff2->weight.t()));
    if (!w.preNorm) layerNormRows(xp, w.ln2w, w.ln2b, R, d, w.eps2);
    return;
  }
  // Batch rows are independent and go to threads; a row's M streams share each weight load.
  // The per-row buffers are the thread's own, kept between calls (no allocation per request).
  at::parallel_for(0, B, std::max<int64_t>(1, kFusedStepMaxRows / (4 * M)), [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> scratch;
    scratch.resize(std::max(scratch.size(), static_cast<size_t>(M * (6 * d + F) + W + t)));
    float* in = scratch.data();      // [M, d] layer inputs (normalised for pre-LN)
    float* qkv = in + M * d;         // [M, 3d]
    float* att = qkv + M * 3 * d;    // [M, d]
    float* proj = att + M * d;       // [M, d]
    float* hid = proj + M * d;       // [M, F]
    float* scores = hid + M * F;     // [W + t]
    for (int64_t b = b0; b < b1; ++b) {
      float* xb = xp + b * M * d;  // the row's M streams, [M, d]
      std::copy(xb, xb + M * d, in);
      if (w.preNorm) layerNormRows(in, w.ln1w, w.ln1b, M, d, w.eps1);
      affine(w.wqkv, w.bqkv, in, qkv, M, 3 * d, d);
      std::fill(att, att + M * d, 0.0f);
      attendRow(b, qkv, att, scores);
      affine(w.wo, w.bo, att, proj, M, d, d);
      // Attention residual (post-LN: LN1(x + a); pre-LN: x + a), then the feed-forward half.
      for (int64_t k = 0; k < M * d; ++k) xb[k] += proj[k];
      if (!w.preNorm) layerNormRows(xb, w.ln1w, w.ln1b, M, d, w.eps1);
      std::copy(xb, xb + M * d, in);
      if (w.preNorm) layerNormRows(in, w.ln2w, w.ln2b, M, d, w.eps2);
      affine(w.w1, w.b1, in, hid, M, F, d);
      geluInPlace(hid, M * F);
      affine(w.w2, w.b2, hid, proj, M, d, F);
      for (int64_t k = 0; k < M * d; ++k) xb[k] += proj[k];
      if (!w.preNorm) layerNormRows(xb, w.ln2w, w.ln2b, M, d, w.eps2);
    }
  });
}

}  // namespace

/// Everything a pass reads on every step, gathered once.
struct FusedReasoningPass::State {
  SasrecEncoderImpl* encoder = nullptr;
  std::vector<LayerWeights> weights;
  std::vector<torch::Tensor> keep;  // the item keys/values and key bias read below
  std::vector<LayerIo> io;          // per layer; t, kNew and vNew set per step
  std::vector<std::vector<float*>> kOwn, vOwn;  // per layer: steps 1..maxSteps
  std::unique_ptr<float[]> kv;      // [layers, maxSteps, 2, B·M·d]: the reasoning tokens' keys/values
  AffineFn affine = nullptr;        // the products' vector build
  int64_t B = 0, M = 0, d = 0, maxSteps = 0, steps = 0;
};

FusedReasoningPass::FusedReasoningPass(SasrecEncoderImpl& encoder, const ItemContext& ctx,
                                       int64_t streams, int64_t maxSteps)
    : s_(std::make_unique<State>()) {
  State& s = *s_;
  const size_t n = encoder.layers->size();
  s.encoder = &encoder;
  s.B = ctx.h0.size(0);
  s.M = streams;
  s.d = encoder.d();
  s.maxSteps = maxSteps;
  s.affine = affineFor(gIsa.load());
  const int64_t W = ctx.width;
  TORCH_CHECK(ctx.keyBias.numel() == s.B * W && ctx.keys.size() == n, "fused reasoning pass: a context of ",
              s.B, " rows and ", ctx.keys.size(), " layers does not fit the backbone's ", n);
  const auto keyBias = ctx.keyBias.contiguous();
  s.keep.push_back(keyBias);
  const int64_t block = s.B * s.M * s.d;
  s.kv.reset(new float[static_cast<size_t>(n * maxSteps * 2 * block)]);
  s.kOwn.assign(n, std::vector<float*>(static_cast<size_t>(maxSteps)));
  s.vOwn = s.kOwn;
  for (size_t i = 0; i < n; ++i) {
    auto& layer = *encoder.layers->ptr<TransformerLayerImpl>(i);
    s.weights.push_back(weightsOf(layer));
    const auto [k, v] = itemKeysValues(ctx, i);
    s.keep.push_back(k);
    s.keep.push_back(v);
    for (int64_t t = 0; t < maxSteps; ++t) {
      float* kt = s.kv.get() + ((static_cast<int64_t>(i) * maxSteps + t) * 2) * block;
      s.kOwn[i][static_cast<size_t>(t)] = kt;
      s.vOwn[i][static_cast<size_t>(t)] = kt + block;
    }
    s.io.push_back(LayerIo{k.data_ptr<float>(), v.data_ptr<float>(), k.stride(0), k.stride(1), k.stride(2),
                           keyBias.data_ptr<float>(), W, s.kOwn[i].data(), s.vOwn[i].data(), 0, nullptr, nullptr});
  }
}

FusedReasoningPass::~FusedReasoningPass() = default;

void FusedReasoningPass::step(float* x) {
  State& s = *s_;
  TORCH_CHECK(s.steps < s.maxSteps, "fused reasoning pass: step ", s.steps + 1, " of at most ", s.maxSteps);
  const int64_t t = ++s.steps;
  for (size_t i = 0; i < s.io.size(); ++i) {
    LayerIo io = s.io[i];
    io.t = t;
    io.kNew = s.kOwn[i][static_cast<size_t>(t - 1)];
    io.vNew = s.vOwn[i][static_cast<size_t>(t - 1)];
    runLayer(*s.encoder->layers->ptr<TransformerLayerImpl>(i), s.weights[i], io, s.affine, x, s.B, s.M, s.d);
  }
}

}  // namespace rr
