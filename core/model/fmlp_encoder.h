#pragma once
/// \file
/// \brief FMLP-Rec backbone (SPEC §2): Transformer layers whose self-attention is replaced by a
/// learnable frequency-domain filter. Internal to core (LibTorch).

#include "core/model/encoder.h"

namespace rr {

/// \brief One FMLP-Rec layer: rFFT (ortho) along the sequence, multiply by learnable complex
/// weights, irFFT, dropout, residual + LayerNorm, then the GELU feed-forward block (residual +
/// LN). The filter mixes all positions, so the layer is not causal; its input must have the
/// full max_len width the weights were made for.
class FilterLayerImpl : public torch::nn::Module {
 public:
  FilterLayerImpl(const LayerOptions& o, int maxLen);
  torch::Tensor forward(const torch::Tensor& x);
  /// Analytic forward FLOPs for a sequence of L tokens (FFT ≈ 5·L·log2 L per channel and
  /// direction, the complex product, and the feed-forward block).
  static double flops(const LayerOptions& o, double L);

  /// Real view of the complex filter: [1, maxLen/2+1, d, 2] (real, imaginary).
  torch::Tensor weight;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear ff1{nullptr}, ff2{nullptr};
  torch::nn::Dropout drop{nullptr};

 private:
  int maxLen_;
};
TORCH_MODULE(FilterLayer);

/// \brief FMLP-Rec: LN(item + position embedding), dropout, L filter layers. Inputs narrower
/// than max_len are left-padded to max_len (the filter weights are per frequency of max_len);
/// the output keeps the caller's width.
class FmlpEncoderImpl : public EncoderImpl {
 public:
  explicit FmlpEncoderImpl(BackboneSpec spec);
  torch::Tensor encode(const torch::Tensor& items, int positionOffset,
                       const EncodeOptions& options = {}) override;
  torch::Tensor embed(const torch::Tensor& items, int positionOffset) override;
  torch::Tensor itemTable() override;
  bool causal() const override { return false; }
  double flopsPerSequence(double L) const override;
  torch::nn::ModuleList makeLayers(int count) const override;
  /// x must be max_len wide (see padToMaxLen); bias and hooks are ignored (no attention).
  torch::Tensor applyLayer(torch::nn::Module& layer, const torch::Tensor& x, const torch::Tensor& bias,
                           const AttentionHooks& hooks) override;

  EmbeddingStem stem;
  torch::nn::ModuleList layers{nullptr};
};

/// Left-pads items [B,W] with 0 to [B,maxLen] (a no-op when already that wide).
torch::Tensor padToMaxLen(const torch::Tensor& items, int maxLen);

}  // namespace rr
