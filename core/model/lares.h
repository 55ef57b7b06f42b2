#pragma once
/// \file
/// \brief LARES depth-recurrent latent reasoning (SPEC §3.3), its hybrid with PLR's streams
/// (§3.5), the step-count samplers and the SPT alignment losses (§4.1). Internal to core
/// (LibTorch).

#include "core/model/recommender.h"

#include <random>

namespace rr {

/// \brief How the training step count k is drawn, once per batch (or per rollout in RPT).
struct StepSampler {
  enum class Kind { LognormalPoisson, Constant, Uniform };
  Kind kind = Kind::LognormalPoisson;
  int mean = 4;            ///< k̄
  double sigma = 0.5;      ///< σ₂ of the log-normal
  double capFactor = 3.0;  ///< k <= round(capFactor·k̄)

  /// Largest k the sampler can return.
  int cap() const;
  /// n draws from the global torch generator (so seeds and resumed runs reproduce them):
  /// lognormal_poisson: ξ ~ N(log k̄ − σ₂²/2, σ₂²), k = Poisson(e^ξ) + 1, capped (E[k] ≈ k̄ + 1);
  /// constant: k̄; uniform: uniform on {1, ..., 2k̄ − 1} (mean k̄), capped.
  std::vector<int> sample(int n) const;
  int sampleOne() const { return sample(1)[0]; }
  /// "lognormal_poisson" | "constant" | "uniform"; ConfigError("model.reasoner.sampler") otherwise.
  static Kind parse(const QString& name);
};

/// Symmetric InfoNCE for TLA and SLA: symmetricInfoNce() in latent_reasoning.h with one group.

/// \brief For TLA: target item -> the training samples (prefixes) that predict it. Built once
/// per dataset from the training part of the split.
class PositiveIndex {
 public:
  void build(const SequenceData& data, const DataSplit& split);
  /// Training samples whose target is `item` (empty for unseen items).
  const std::vector<TrainUnit>& samplesFor(int item) const;
  bool empty() const { return byItem_.empty(); }
  /// One positive per row: a uniformly drawn sample with the same target, preferring one of a
  /// different user; rows whose target has no other sample get their own input (fallback =
  /// a second stochastic view of x). `draws` are uniform numbers in [0,1), one per row.
  /// Returns [B, W'] left-padded items (W' <= maxLen) and, per row, whether a real positive
  /// (not the fallback) was found.
  std::pair<torch::Tensor, std::vector<bool>> positives(const Batch& batch, const BatchBuilder& builder,
                                                        const std::vector<double>& draws) const;

 private:
  std::vector<std::vector<TrainUnit>> byItem_;
};

/// \brief Options of a LARES / hybrid model, read from a run configuration.
struct LaresOptions {
  enum class Combine { Add, Concat, Gated };
  int preLayers = 2;
  int coreLayers = 2;
  int steps = 4;          ///< k̄: mean training steps and default evaluation depth
  int evalSteps = 0;      ///< 0 = steps
  int streams = 1;        ///< M (1 = LARES, > 1 = hybrid)
  bool gate = true;       ///< hybrid: gated (true) or mean (false) stream combination
  double triggerStd = 0.02;  ///< hybrid: std of the trigger tokens' initial draw
  Combine combine = Combine::Add;
  bool t0RandomAtEval = false;
  double t0Std = 1.0;
  double t0Scale = 3.0;
  StepSampler sampler;
  double tlaWeight = 0.1, slaWeight = 0.5;
  /// Hybrid (streams > 1) only, PLR's objectives (SPEC §3.5): RCL between the two views'
  /// states of every step and stream, and the diversity term over all step × stream states.
  double rclWeight = 0.0, rclTemperature = 1.0, divWeight = 0.0;
  bool divReward = true;
  double tlaTemperature = 1.0, slaTemperature = 1.0;
  bool tlaCosine = false;
  bool recomputeSteps = true;  ///< training: recompute each step's core block in backward
  static LaresOptions fromConfig(const RunConfig& cfg);
};

/// \brief The result of one recurrence over a batch of R rows.
struct LaresPass {
  torch::Tensor h0;                 ///< [R, d] pre-block output at the last position
  torch::Tensor gate;               ///< [R, M] stream weights (undefined when M = 1)
  /// steps[s-1]: [n_s, d] ranking representation after step s (streams combined) of the first
  /// n_s rows (the rows still running at step s; all R with a common step count).
  std::vector<torch::Tensor> steps;
  std::vector<torch::Tensor> streamSteps;  ///< steps[s-1] per stream: [n_s, M, d]
  std::vector<int64_t> active;             ///< n_s per step
  torch::Tensor allTokens;  ///< [R, W, d] final states of every position (only when asked)
  std::vector<int> attentionStepMarks;     ///< hooks.weights size after each step (0 = pre-block)
  /// Each row's representation after its own last step: [R, d].
  torch::Tensor final() const;
};

/// \brief LARES (M = 1) and the hybrid (M > 1): a pre-block A of L1 backbone layers encodes
/// the items once, H = A(E_u + E_p); a core block C of L2 layers is applied k times to all
/// tokens, T_i = C(LN(f(T_{i-1}, H))), f = add | concat | gated, starting from a truncated
/// normal T_0 (× scale; zero or random at evaluation). The ranking representation of step i is
/// T_i[:, -1]; the hybrid runs M trigger-perturbed streams T_{0,m} = T_0 + τ_m folded into the
/// batch (row r·M + m) and combines their last positions with g = softmax(W_g h_0 + b_g) or a
/// mean. The number of parameters does not depend on the depth.
///
/// Trace: states[:, 0] is the pre-block's last position h_0 (the same for every stream; not a
/// ranking candidate); states[:, s] for s = 1..k is T_s[:, -1] per stream.
class LaresReasonerImpl : public RecommenderImpl {
 public:
  LaresReasonerImpl(Encoder encoder, LaresOptions options, TargetMode targets, double temperature);

  LossOutput loss(const Batch& batch, const LossContext& ctx) override;
  torch::Tensor represent(const Batch& batch) override;
  ReasoningTrace trace(const Batch& batch, bool withAttention) override;
  torch::Tensor itemTable() override { return encoder_->itemTable(); }
  double flopsPerSample(double seqLen) const override;
  double trainingFlopsPerSample(double seqLen, double targets) const override;
  void setEvalSteps(int steps) override { evalStepsOverride_ = steps; }
  int evalSteps() const override;
  void prepareTraining(const SequenceData& data, const DataSplit& split, const BatchBuilder& builder) override;

  /// The recurrence over items [R, W] (left-padded; positions offset..). `active[s-1]` = rows
  /// still running at step s (non-increasing; rows must be ordered by step count, longest
  /// first). T0: [R·M, W, d] initial state or undefined (drawn: random in training mode, per
  /// t0_eval in eval mode). allTokens: also return every position's final state (needs a common
  /// step count). hooks may capture attention.
  LaresPass recur(const torch::Tensor& items, int positionOffset, const std::vector<int64_t>& active,
                  const torch::Tensor& T0 = {}, bool allTokens = false, const AttentionHooks& hooks = {});
  /// Final states [P, d] of left-padded rows [P, W] after k steps, computed in length groups
  /// (each trimmed to its longest row), returned in the input's row order. SPT runs the
  /// TLA positives this way: one long positive would otherwise pad the whole batch to max_len.
  torch::Tensor finalStatesByLength(const torch::Tensor& items, int maxLen, int k);
  /// A random initial state [rows, W, d] (truncated normal × scale), without triggers.
  torch::Tensor drawT0(int64_t rows, int64_t width) const;
  /// Forces random T_0 in evaluation mode (RPT data selection); restores t0_eval when false.
  void setRandomT0AtEval(bool random) { forceRandomT0_ = random; }
  /// Sets the p of every dropout module (RPT trains with 0.1).
  void setDropout(double p);

  const LaresOptions& options() const { return opt_; }
  const Encoder& encoder() const { return encoder_; }
  int streams() const { return opt_.streams; }

  /// One reasoning step on state t and encoded items h (rows already folded):
  /// C(LN(f(t, h))); [n, W, d], or [n, 1, d] with lastOnly.
  torch::Tensor stepForward(const torch::Tensor& t, const torch::Tensor& h, const torch::Tensor& bias,
                            const AttentionHooks& hooks, bool lastOnly);

  /// The SPT loss parts on precomputed representations (exposed for tests):
  /// TLA = InfoNCE(p_view2, p_pos); SLA = InfoNCE(t_b[:, -1], t_k[:, -1]).
  torch::Tensor tlaLoss(const torch::Tensor& view, const torch::Tensor& positive) const;
  torch::Tensor slaLoss(const torch::Tensor& intermediate, const torch::Tensor& last) const;

 private:
  torch::Tensor combineStreams(const torch::Tensor& perStream, const torch::Tensor& gate) const;
  torch::Tensor applyCore(const torch::Tensor& x, const torch::Tensor& bias, const AttentionHooks& hooks,
                          bool lastOnlyAtEnd);

  Encoder encoder_;  ///< its own layers are the pre-block
  LaresOptions opt_;
  TargetMode targets_;
  torch::nn::ModuleList core_{nullptr};
  torch::nn::LayerNorm stepNorm_{nullptr};
  torch::nn::Linear concat_{nullptr};
  torch::Tensor gatedW_;    ///< [d] for combine = gated
  torch::Tensor triggers_;  ///< [M, d] for M > 1
  torch::nn::Linear gateLinear_{nullptr};
  int evalStepsOverride_ = 0;
  bool forceRandomT0_ = false;
  PositiveIndex positives_;
  const BatchBuilder* builder_ = nullptr;
};


/// \brief The hybrid reasoner (SPEC §3.5) is LARES with M > 1 gated streams.
using HybridReasonerImpl = LaresReasonerImpl;

}  // namespace rr
