#pragma once
/// \file
/// \brief Shared machinery of the autoregressive latent reasoners (ReaRec ERL/PRL, SPEC §3.2;
/// PLR, §3.4): the encoder pass that keeps every layer's item keys/values (the KV cache), one
/// cached reasoning step for M isolated streams at once, an uncached reference computation for
/// tests, and the two auxiliary losses (pairwise-KL diversity, two-view InfoNCE).
/// Internal to core (LibTorch).

#include "core/model/encoder.h"
#include "core/model/layers.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

namespace rr {

/// \brief The item tokens' keys and values of every layer, computed once per sequence and
/// reused by every reasoning step and stream. Heads are already split: [B, heads, W, d/heads],
/// contiguous except for batches of up to kFusedStepMaxRows rows (strided views there).
struct ItemContext {
  std::vector<torch::Tensor> keys, values;  ///< per layer
  torch::Tensor keyBias;                    ///< [B,1,1,W]: 0, or kMaskedScore for padding
  torch::Tensor h0;                         ///< [B,d] the encoder's last position
  int width = 0;                            ///< W
};

/// \brief Keys/values of the reasoning tokens appended so far: [layer][step] -> [B, M, d].
/// Each stream m only ever sees column m, which is what isolates the streams.
struct ReasoningCache {
  std::vector<std::vector<torch::Tensor>> keys, values;
  explicit ReasoningCache(size_t layers = 0) : keys(layers), values(layers) {}
  int steps() const { return keys.empty() ? 0 : static_cast<int>(keys.front().size()); }
};

/// \brief Attention probabilities of one reasoning step and layer: [B, heads, M, W + t]
/// (item keys first, then the stream's own reasoning tokens 1..t).
struct StepAttention {
  int step = 0;
  int layer = 0;
  torch::Tensor probs;
};

/// \brief Runs a Transformer backbone (SASRec or BERT4Rec) with KV caching. The backbone must
/// be a SasrecEncoderImpl (or derived); anything else is a configuration error.
class CachedTransformer {
 public:
  explicit CachedTransformer(EncoderImpl& encoder);
  /// The encoder pass: H's last position and every layer's item keys/values. Only the last
  /// position is computed as a query in the final layer (exact). hooks.weights, when set,
  /// receives each layer's [B,h,1,W] attention of the last position.
  ItemContext encode(const torch::Tensor& items, int positionOffset, const AttentionHooks& hooks = {});
  /// One reasoning step for inputs x [B, M, d] (one token per stream): every layer appends the
  /// step's keys/values to `cache` and attends to the cached item tokens plus the stream's own
  /// reasoning tokens. Costs one token per stream per layer. Returns [B, M, d].
  /// hooks.scoreDropout applies to these attention scores; attention (optional) receives the
  /// probabilities of every layer.
  torch::Tensor step(const ItemContext& ctx, ReasoningCache& cache, const torch::Tensor& x,
                     const AttentionHooks& hooks = {}, std::vector<StepAttention>* attention = nullptr);
  /// Reference without any cache, for tests: for each stream separately, the whole sequence
  /// [items, r_1..r_t] is re-encoded at every step with a mask that lets items see items (as
  /// the backbone does) and reasoning token t see the items and reasoning tokens 1..t.
  /// makeInput(t, previous [B,M,d]) -> step input [B,M,d] (t is 1-based; previous = h_0 for
  /// t = 1, broadcast to M). Returns the states h_1..h_T, each [B,M,d].
  std::vector<torch::Tensor> uncachedReference(
      const torch::Tensor& items, int positionOffset, int streams, int steps,
      const std::function<torch::Tensor(int, const torch::Tensor&)>& makeInput);
  size_t layerCount() const;
  int d() const;
  SasrecEncoderImpl& encoder() const { return *enc_; }
  /// Analytic forward FLOPs of one reasoning token attending to `keys` keys, all layers.
  double tokenFlops(double keys) const;

 private:
  SasrecEncoderImpl* enc_;
};

/// \brief Mean pairwise KL between the item distributions of S reasoning states:
/// states [S, B, d], p_s = softmax(h_s·Eᵀ·scale) over items 1..N of table [N+1, d];
/// returns mean over rows and ordered pairs i≠j of KL(p_j || sg(p_i)) (sg = detached).
/// Fused and chunked like fullSoftmaxCrossEntropy: a terminal training loss whose gradients
/// are computed in the forward pass, so memory stays at one chunk of rows. S must be >= 2.
torch::Tensor pairwiseKlDiversity(const torch::Tensor& states, const torch::Tensor& table, double scale = 1.0);

/// \brief Symmetric in-batch InfoNCE between two views a, b [G, B, d] (G independent groups,
/// e.g. reasoning steps × streams): for each group, logits_ij = sim(a_i, b_j)/τ with cosine
/// (or dot) similarity, loss = (CE(logits, diag) + CE(logitsᵀ, diag)) / 2; mean over groups.
torch::Tensor symmetricInfoNce(const torch::Tensor& a, const torch::Tensor& b, double temperature,
                               bool cosine = true);

}  // namespace rr
