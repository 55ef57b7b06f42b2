#pragma once
/// \file
/// \brief PLR: parallel latent reasoning streams (SPEC §3.4) on a KV-cached Transformer backbone
/// (SASRec or BERT4Rec). Internal to core (LibTorch).

#include "core/model/latent_reasoning.h"
#include "core/model/recommender.h"

#include <torch/torch.h>

namespace rr {

/// \brief The states of one PLR forward pass.
struct PlrPass {
  ItemContext context;
  std::vector<torch::Tensor> states;  ///< h_{t,·} for t = 1..T, each [B, M, d]
  torch::Tensor gate;                 ///< [B, M] stream weights (uniform for aggregate = mean)
  torch::Tensor zRea;                 ///< [B, d] Σ_m g_m z_m with z_m = mean_t h_{t,m}
  std::vector<StepAttention> attention;  ///< when requested: probs [B,h,M,W+t] per step/layer
};

/// \brief M learnable trigger tokens τ_m start M streams at h_0 + τ_m. At step t the query of
/// stream m is h_{t−1,m} + r_t (r: reasoning position embeddings); it attends to the cached
/// item tokens (shared by all streams) and to its own earlier reasoning tokens only. All M
/// streams are one batched computation. z_m = mean_t h_{t,m} (t = 1..T; with pool_h0 also h_0,
/// as ERL pools its steps); a gate softmax(W_g h_0 + b_g)
/// (or a plain mean) mixes them into z_rea.
/// Training predicts from z_rea only: L = CE(z_rea) + w_rcl·L_RCL ∓ λ·L_div, where L_RCL is a
/// symmetric cosine InfoNCE between the h_{t,m} of two reasoning passes with independent
/// representation dropout (p_rep, on step inputs) and attention-score dropout (p_attn), averaged
/// over T·M, and L_div is the mean pairwise KL between the T·M states' item distributions
/// (one side detached). train.div_sign = reward subtracts it (pushes the states apart; default),
/// penalty adds it as printed in the paper's Eq. 11 (pulls them together).
/// The two RCL views share one encoder pass and its KV cache (the views differ in the
/// reasoning, which is what the loss aligns); the encoder keeps its own dropout.
/// Ranking uses h_0 + z_rea (inference = dual) or z_rea (reasoning).
class PlrReasonerImpl : public RecommenderImpl {
 public:
  PlrReasonerImpl(Encoder encoder, const RunConfig& cfg);

  LossOutput loss(const Batch& batch, const LossContext& ctx) override;
  torch::Tensor represent(const Batch& batch) override;
  ReasoningTrace trace(const Batch& batch, bool withAttention) override;
  torch::Tensor itemTable() override { return encoder_->itemTable(); }
  double flopsPerSample(double seqLen) const override;
  double trainingFlopsPerSample(double seqLen, double targets) const override;
  void setEvalSteps(int steps) override { evalSteps_ = steps; }
  int evalSteps() const override { return evalSteps_ > 0 ? evalSteps_ : steps_; }

  /// The encoder pass with KV cache (BERT4Rec: with [MASK] appended).
  ItemContext context(const Batch& batch, const AttentionHooks& hooks = {});
  /// Reasoning over a context: `steps` steps of all streams (dropouts active in train mode).
  PlrPass reason(ItemContext ctx, int steps, bool withAttention = false);
  /// reason() for inference on the CPU (fused_step.h): the same results without
  /// per-operation dispatch. Used by reason() when it applies; public for tests.
  PlrPass reasonFused(ItemContext ctx, int steps);
  /// Step t's inputs from the previous states [B,M,d]: h_{t−1} + r_t, representation dropout.
  torch::Tensor stepInput(int t, const torch::Tensor& previous);
  /// Uncached reference of h_1..h_T ([B,M,d] each), one stream at a time (tests).
  std::vector<torch::Tensor> uncachedStates(const Batch& batch, int steps);
  /// The ranking representation for a pass (dual: h_0 + z_rea).
  torch::Tensor rankingState(const PlrPass& pass) const;
  int streams() const { return streams_; }

  torch::Tensor triggers;  ///< [M, d]
  torch::nn::Embedding rpe{nullptr};  ///< r_t, T rows
  torch::nn::Linear gateProj{nullptr};  ///< W_g, b_g: d -> M
  torch::nn::Dropout repDrop{nullptr};

 private:
  Encoder encoder_;
  CachedTransformer stack_;
  int streams_, steps_, evalSteps_;
  bool useGate_, poolH0_, dual_;
  double attnScoreDropout_, rclWeight_, rclTemperature_, divWeight_;
  bool divReward_;
};

}  // namespace rr
