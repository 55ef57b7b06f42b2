#pragma once
/// \file
/// \brief Transformer building blocks shared by every backbone and reasoner (SPEC §2).
/// Internal to core (LibTorch).

#include <torch/torch.h>

#include <vector>

namespace rr {

/// Additive attention bias value for masked keys. Large but finite, so a query whose keys are
/// all masked (a padding position) gets a uniform row instead of NaN.
constexpr float kMaskedScore = -1e9f;

/// \brief Hyper-parameters of one Transformer-style layer.
struct LayerOptions {
  int d = 64;
  int heads = 2;
  int ffn = 256;               ///< inner width of the feed-forward block
  double dropout = 0.5;        ///< hidden dropout (residual branches, embeddings)
  double attnDropout = 0.5;    ///< dropout on attention probabilities
  bool preNorm = false;        ///< false: post-LN as in RecBole's SASRec
  double initStd = 0.02;
};

/// \brief Optional per-call outputs/inputs of attention layers.
struct AttentionHooks {
  /// When non-null, each layer appends its attention probabilities [B, heads, Lq, Lk].
  std::vector<torch::Tensor>* weights = nullptr;
  /// Extra dropout applied to the raw attention scores (PLR's p_attn for RCL views); 0 = off.
  double scoreDropout = 0.0;
};

/// \brief Multi-head attention with one fused input projection (d -> 3d).
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int d, int heads, double attnDropout);
  /// Self- or cross-attention: queries from q [B,Lq,d], keys/values from kv [B,Lk,d].
  /// bias: additive [B or 1, 1, Lq, Lk] (0 or kMaskedScore) or undefined.
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& kv, const torch::Tensor& bias,
                        const AttentionHooks& hooks = {});
  /// Projections, for callers that cache keys/values (ReaRec/PLR reasoning):
  torch::Tensor projectQuery(const torch::Tensor& x) const;                  ///< [B,L,d]
  std::pair<torch::Tensor, torch::Tensor> projectKeyValue(const torch::Tensor& x) const;
  /// Attention from already projected q [B,Lq,d], k/v [B,Lk,d]; returns the output projection.
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& bias, const AttentionHooks& hooks = {});
  /// The same with keys/values already split into heads, kh/vh [B,h,Lk,dh] (contiguous ones are
  /// read without a copy: the KV cache lays them out so once for the encoder and the reasoning).
  torch::Tensor attendHeads(const torch::Tensor& q, const torch::Tensor& kh, const torch::Tensor& vh,
                            const torch::Tensor& bias, const AttentionHooks& hooks = {});
  int heads() const { return heads_; }

  torch::nn::Linear inProj{nullptr};   ///< [3d, d]: rows 0..d-1 query, d..2d-1 key, 2d.. value
  torch::nn::Linear outProj{nullptr};
  torch::nn::Dropout attnDrop{nullptr};

 private:
  int d_, heads_;
};
TORCH_MODULE(MultiHeadAttention);

/// \brief Transformer encoder layer: attention + GELU feed-forward, post- or pre-LN.
class TransformerLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerLayerImpl(const LayerOptions& o);
  /// x [B,L,d]; bias [B|1,1,L,L]. With lastOnly, only the last position is computed as a query
  /// (keys/values still cover all positions) and the result is [B,1,d] — an exact shortcut for
  /// the final layer when only the last hidden state is needed.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias,
                        const AttentionHooks& hooks = {}, bool lastOnly = false);
  /// Queries `q` attend to keys/values `kv` (e.g. reasoning tokens to cached context); the
  /// residual stream is q. Used by reasoners that append tokens.
  torch::Tensor forwardCross(const torch::Tensor& q, const torch::Tensor& kv,
                             const torch::Tensor& bias, const AttentionHooks& hooks = {});
  /// The feed-forward half (with its residual and norm) applied to h.
  torch::Tensor feedForward(const torch::Tensor& h);
  /// The attention residual+norm given the attention output for residual stream x.
  torch::Tensor attentionResidual(const torch::Tensor& x, const torch::Tensor& attnOut);
  const LayerOptions& options() const { return opt_; }

  MultiHeadAttention attn{nullptr};
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear ff1{nullptr}, ff2{nullptr};
  torch::nn::Dropout drop{nullptr};

 private:
  LayerOptions opt_;
};
TORCH_MODULE(TransformerLayer);

/// \brief Key-padding + optional causal bias [B,1,L,L] for items [B,L] (0 = padding).
torch::Tensor attentionBias(const torch::Tensor& items, bool causal);

/// \brief Normal(0, std) for Linear/Embedding weights, zero biases, unit LayerNorm (RecBole).
void initWeights(torch::nn::Module& module, double std);

/// Number of trainable scalars of a module.
int64_t parameterCount(const torch::nn::Module& module);

/// \brief Analytic FLOPs (multiply-add = 2) of one Transformer layer for L query tokens
/// attending to Lk keys, forward only.
double transformerLayerFlops(const LayerOptions& o, double L, double Lk);

}  // namespace rr
