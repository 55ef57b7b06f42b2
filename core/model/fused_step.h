#pragma once
/// \file
/// \brief The cached reasoning steps of a Transformer backbone (CachedTransformer::step()) as
/// C++ loops, for inference on the CPU (serving requests, evaluation). Internal to core
/// (LibTorch).
///
/// Why: at batch 1 a reasoning step is 2 layers × ~30 LibTorch calls on one token per stream,
/// and each call costs microseconds of dispatch for a few thousand multiply-adds. PLR (M 2,
/// T 2) answered a request in 1.84× SASRec's time while adding ~10% of its FLOPs. This path
/// does the same arithmetic (LayerNorm, q/k/v projection, attention over the cached item
/// keys and the stream's own tokens, output projection, GELU feed-forward) without dispatch.
/// Up to kFusedStepMaxRows rows everything is one loop per row; larger batches (evaluation)
/// run the four products as BLAS GEMMs and the rest in loops, which took PLR's reasoning
/// over 1,024 evaluation users from ~22 to ~13 ms (2-core AMD EPYC).
/// The products read the layers' own matrices ([out, in], as nn::Linear keeps them), which the
/// encoder has just read for the same request. Transposed copies, used before, doubled the
/// weights a request touches, and between requests the caches are cold (scoring streams the
/// 3 MB item table): on 1,000 Beauty requests interleaved with SASRec's, PLR took a median
/// 1.08× SASRec's time with the copies against 1.06× without, lower in each of five
/// alternating rounds (three later rounds: 1.06–1.08 against 1.06–1.07; 2-core AMD EPYC).
/// PLR's and ReaRec's reason() use it when fusedStepApplies(); results equal
/// CachedTransformer::step() to float rounding and the GELU's erf approximation (3·10⁻⁷);
/// tests require a max abs difference < 1e-5.

#include "core/model/cpu_kernels.h"
#include "core/model/latent_reasoning.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace rr {

/// Rows (batch × streams) up to which the fused step multiplies the weights row by row in its
/// own kernels. Above it the products are BLAS GEMMs (multi-threaded, amortised dispatch).
constexpr int64_t kFusedStepMaxRows = 64;

/// Whether the fused step is switched on (default; RR_FUSED_STEP=0 in the environment turns it
/// off, for side-by-side benchmarks). setFusedStepEnabled() overrides it (tests).
bool fusedStepEnabled();
void setFusedStepEnabled(bool on);

/// Which vector build of the step's products passes made from now on use: Auto (default) is
/// the best the CPU has; tests name each build the CPU supports. The other loops (attention,
/// LayerNorm, GELU) are compiled for every build and picked by the loader.
void setFusedStepIsa(CpuIsa isa);

/// Whether a step whose inputs are like `like` may take the fused path: enabled, no gradient
/// recorded, layers in eval mode, CPU float32, no attention capture. (The layers' parameters
/// are checked to be contiguous CPU float32 when a step reads them.)
bool fusedStepApplies(const SasrecEncoderImpl& encoder, const torch::Tensor& like, bool captureAttention);

/// \brief A fused reasoning pass over a context's B rows × M streams: the steps of
/// CachedTransformer::step() without attention capture or dropout. Weights, the item
/// keys/values and every step's reasoning keys/values are gathered or allocated once here, so
/// a step makes no LibTorch calls on the per-row path (at batch 1, per-step tensors, views and
/// scratch were ~40% of PLR's reasoning time).
class FusedReasoningPass {
 public:
  /// ctx (and the encoder's weights) must outlive the pass; at most maxSteps steps.
  FusedReasoningPass(SasrecEncoderImpl& encoder, const ItemContext& ctx, int64_t streams, int64_t maxSteps);
  ~FusedReasoningPass();
  FusedReasoningPass(const FusedReasoningPass&) = delete;
  FusedReasoningPass& operator=(const FusedReasoningPass&) = delete;
  /// The next step on x, a contiguous buffer of B·M·d floats, overwritten with its output.
  void step(float* x);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace rr
