#pragma once
/// \file
/// \brief ReaRec's autoregressive latent reasoning, ERL and PRL (SPEC §3.2), on a KV-cached
/// Transformer backbone (SASRec or BERT4Rec). Internal to core (LibTorch).

#include "core/model/latent_reasoning.h"
#include "core/model/recommender.h"

#include <torch/torch.h>

namespace rr {

/// \brief Step 0 is the encoder pass (h_0 = H[:, -1]); step t >= 1 appends one token
/// LN(h_{t-1} + RPE[t]) (dropout model.reasoner.input_dropout) that attends to the cached item
/// tokens and the earlier reasoning tokens, so a step costs one token per layer.
/// ERL ranks with the mean of h_0..h_T and is trained with CE minus λ·(mean pairwise KL between
/// the steps' item distributions, one side detached; sign configurable).
/// PRL ranks with h_T and is trained with the progressive loss Σ_t CE(h_t; τ·α^(T−t)) for
/// t = 0..T, plus (after prl_warmup epochs) an InfoNCE between every step's state and that of a
/// second pass over the same cached context whose reasoning inputs get Gaussian noise γ.
class RearecReasonerImpl : public RecommenderImpl {
 public:
  enum class Mode { Ensemble, Progressive };
  RearecReasonerImpl(Encoder encoder, const RunConfig& cfg, Mode mode);

  LossOutput loss(const Batch& batch, const LossContext& ctx) override;
  torch::Tensor represent(const Batch& batch) override;
  ReasoningTrace trace(const Batch& batch, bool withAttention) override;
  torch::Tensor itemTable() override { return encoder_->itemTable(); }
  double flopsPerSample(double seqLen) const override;
  double trainingFlopsPerSample(double seqLen, double targets) const override;
  void setEvalSteps(int steps) override { evalSteps_ = steps; }
  int evalSteps() const override { return evalSteps_ > 0 ? evalSteps_ : steps_; }
  void beginEpoch(const LossContext& ctx) override { epoch_ = ctx.epoch; }

  /// h_0..h_T ([B,d] each) for `steps` steps; noiseStd > 0 adds Gaussian noise to every
  /// reasoning input. Uses (and extends) nothing but the given context.
  std::vector<torch::Tensor> reason(const ItemContext& ctx, int steps, double noiseStd = 0,
                                    std::vector<StepAttention>* attention = nullptr);
  /// The encoder pass with KV cache for a batch (BERT4Rec: with [MASK] appended).
  ItemContext context(const Batch& batch, const AttentionHooks& hooks = {});
  /// The step input for step t (1-based) from the previous state [B,M,d] (M = 1 here).
  torch::Tensor stepInput(int t, const torch::Tensor& previous);
  /// Uncached reference of h_1..h_T (tests): see CachedTransformer::uncachedReference.
  std::vector<torch::Tensor> uncachedStates(const Batch& batch, int steps);
  Mode mode() const { return mode_; }

  torch::nn::Embedding rpe{nullptr};
  torch::nn::LayerNorm inputNorm{nullptr};
  torch::nn::Dropout inputDrop{nullptr};

 private:
  /// reason() for CPU inference (fusedStepApplies): step inputs and steps in plain loops.
  std::vector<torch::Tensor> reasonFused(const ItemContext& ctx, int steps);
  torch::Tensor rankingState(const std::vector<torch::Tensor>& states) const;
  Encoder encoder_;
  CachedTransformer stack_;
  Mode mode_;
  int steps_, evalSteps_;
  double alpha_, noise_, rclWeight_, rclTemperature_, divWeight_;
  bool divReward_;
  int warmup_;
  int epoch_ = 1;
};

}  // namespace rr
