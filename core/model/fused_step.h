#pragma once
/// \file
/// \brief One cached reasoning step of a Transformer backbone as C++ loops, for inference on
/// the CPU (serving requests, evaluation). Internal to core (LibTorch).
///
/// Why: at batch 1 a reasoning step is 2 layers × ~30 LibTorch calls on one token per stream,
/// and each call costs microseconds of dispatch for a few thousand multiply-adds. PLR (M 2,
/// T 2) answered a request in 1.84× SASRec's time while adding ~10% of its FLOPs. This path
/// does the same arithmetic (LayerNorm, q/k/v projection, attention over the cached item
/// keys and the stream's own tokens, output projection, GELU feed-forward) without dispatch.
/// Up to kFusedStepMaxRows rows everything is one loop per row; larger batches (evaluation)
/// run the four products as BLAS GEMMs and the rest in loops, which took PLR's reasoning
/// over 1,024 evaluation users from ~22 to ~13 ms (2-core AMD EPYC).
/// CachedTransformer::step() uses it when fusedStepApplies(); results equal the LibTorch
/// path to float rounding and the GELU's erf approximation (3·10⁻⁷); tests require a max abs
/// difference < 1e-5.

#include "core/model/latent_reasoning.h"

#include <torch/torch.h>

#include <mutex>
#include <utility>
#include <vector>

namespace rr {

/// \brief The fused step's copies of a backbone's layer matrices, transposed to [in, out] so
/// that the products stream rows of weights past register-held sums. Rebuilt whenever a
/// matrix changes (its storage or version counter moves: optimiser steps, checkpoint loads).
class FusedWeights {
 public:
  struct Layer {
    torch::Tensor qkv, out, ff1, ff2;  ///< in_proj, out_proj, ff1, ff2 weights, transposed
  };
  /// The current copies for `encoder` (thread-safe).
  std::vector<Layer> of(SasrecEncoderImpl& encoder);

 private:
  using Stamp = std::pair<const void*, int64_t>;
  std::mutex mutex_;
  std::vector<Stamp> stamps_;
  std::vector<Layer> layers_;
};

/// Rows (batch × streams) up to which the fused step multiplies the weights row by row in its
/// own kernels. Above it the products are BLAS GEMMs (multi-threaded, amortised dispatch).
constexpr int64_t kFusedStepMaxRows = 64;

/// Whether the fused step is switched on (default; RR_FUSED_STEP=0 in the environment turns it
/// off, for side-by-side benchmarks). setFusedStepEnabled() overrides it (tests).
bool fusedStepEnabled();
void setFusedStepEnabled(bool on);

/// Whether a step whose inputs are like `like` may take the fused path: enabled, no gradient
/// recorded, layers in eval mode, CPU float32, no attention capture. (The layers' parameters
/// are checked to be contiguous CPU float32 when FusedWeights copies them.)
bool fusedStepApplies(const SasrecEncoderImpl& encoder, const torch::Tensor& like, bool captureAttention);

/// The step of CachedTransformer::step() (same contract, no attention capture or dropout):
/// appends each layer's keys/values [B, M, d] to `cache` and returns [B, M, d].
torch::Tensor fusedReasoningStep(SasrecEncoderImpl& encoder, FusedWeights& weights, const ItemContext& ctx,
                                 ReasoningCache& cache, const torch::Tensor& x);
/// The same on a contiguous buffer x of B·M·d floats, overwritten with the step's output
/// (reasoners that fuse their step inputs and pooling too).
void fusedReasoningStepInPlace(SasrecEncoderImpl& encoder, FusedWeights& weights, const ItemContext& ctx,
                               ReasoningCache& cache, float* x, int64_t B, int64_t M);

}  // namespace rr
