#pragma once
/// \file
/// \brief RPT: GRPO reinforcement post-training of LARES / hybrid models (SPEC §4.2), and the
/// pieces of its objective as functions for tests. Internal to core (LibTorch).

#include "core/model/lares.h"
#include "core/train/trainer.h"

namespace rr {

/// \brief Per-row target log-probabilities log softmax(h·Eᵀ·scale)[target] over all items 1..N,
/// and the 0-based rank of the target (ties count against it, as the evaluator does).
/// Chunked like the training cross-entropy: logits never exist for more than 1024 rows at once;
/// the backward pass recomputes them. h [P,d], table [N+1,d], targets [P] in 1..N.
/// Returns {logp [P] (differentiable w.r.t. h and the table), rank [P] int64}.
std::pair<torch::Tensor, torch::Tensor> targetLogProbs(const torch::Tensor& h, const torch::Tensor& table,
                                                       const torch::Tensor& targets, double scale = 1.0);

/// \brief The same for the item each row ranks first (the top_ranked policy ablation).
torch::Tensor topRankedLogProbs(const torch::Tensor& h, const torch::Tensor& table, double scale = 1.0);

/// \brief Reward of a 0-based rank: "ndcg@K" = 1/log2(rank+2) when rank < K, "recall@K" =
/// [rank < K]. Throws ConfigError("rpt.reward") for other names.
torch::Tensor rankReward(const torch::Tensor& rank, const QString& metric);

/// \brief Group-normalised advantages: rewards [B, G] -> (r − mean_G) / (std_G + 1e-4), with
/// the unbiased (G − 1) standard deviation of each group.
torch::Tensor groupAdvantages(const torch::Tensor& rewards);

/// \brief k3 estimator of KL(π_θ || π_ref) per sample: exp(ref − logp) − (ref − logp) − 1 (>= 0).
torch::Tensor klK3(const torch::Tensor& logp, const torch::Tensor& refLogp);

/// \brief Step-level k3 KL of each rollout (rpt.kl_level = step): the k3 estimate of every
/// reasoning step's log-probability, averaged over the rollout's steps, as GRPO takes it per
/// token. stepLogp/stepRefLogp [P] hold one entry per (rollout, step); rows [P] names the
/// rollout (0..R−1) of each. Returns [R]; a rollout with no entry gets 0.
torch::Tensor stepKlK3(const torch::Tensor& stepLogp, const torch::Tensor& stepRefLogp, const torch::Tensor& rows,
                       int64_t R);

/// \brief The per-sample GRPO terms. ratio ρ = exp(logp − oldLogp).
struct GrpoTerms {
  torch::Tensor loss;          ///< scalar: −mean(min(ρA, clip(ρ)A) − β·KL)
  torch::Tensor kl;            ///< scalar mean KL
  torch::Tensor clipFraction;  ///< scalar: share of samples where the clipped term was chosen
};
/// kl [R] is each rollout's KL estimate to the reference: klK3() of the summed log-probabilities
/// (rollout level) or stepKlK3() (step level).
GrpoTerms grpoObjective(const torch::Tensor& logp, const torch::Tensor& oldLogp, const torch::Tensor& kl,
                        const torch::Tensor& advantages, double clipEps, double beta);

/// \brief GRPO post-training (stage "rpt"). Starts from the weights in the model (the job loads
/// the best SPT checkpoint); a frozen copy is the reference policy. prepare() selects the
/// training samples whose target ranks in the top rpt.select_top_k in any of
/// rpt.select_passes evaluation-mode passes with random T₀; the selection and the reference
/// weights are saved beside the stage's checkpoints so a resumed stage continues exactly.
/// Each batch of rpt.batch_size inputs is rolled out G times in ONE forward (G folded into the
/// batch, each rollout with its own dropout, T₀ and step count; rows sorted by step count so
/// finished rollouts drop out of later steps).
class GrpoTrainer : public StageTrainer {
 public:
  explicit GrpoTrainer(StageEnv env);
  ~GrpoTrainer() override;
  /// Optimisation steps per second on all training samples (no selection); samplesPerSecond =
  /// input sequences, targetsPerSecond = rollouts.
  TrainBenchFigures benchmark(double seconds) override;

  /// One GRPO batch on units rows: rollouts, rewards, update(s). Public for tests.
  struct StepStats {
    double rewardMean = 0, rewardStd = 0, advantageStd = 0, kl = 0, clipFraction = 0, loss = 0;
  };
  StepStats grpoStep(const std::vector<TrainUnit>& units, const std::vector<int64_t>& rows, int epoch);
  /// Builds the reference policy as a frozen copy of the model's current weights.
  void makeReference();
  const std::vector<TrainUnit>& selected() const { return selected_; }

 protected:
  void prepare() override;
  void trainEpoch(int epoch) override;

 private:
  LaresReasonerImpl& lares() const;
  /// A batch of rollouts scored by a policy (rows sorted by steps, longest first).
  struct RolloutScores {
    torch::Tensor logp;      ///< [R] the rollout's log-probability, summed over its steps
    torch::Tensor rank;      ///< [R] the target's rank at the rollout's last step
    torch::Tensor stepLogp;  ///< [P] per (rollout, step)
    torch::Tensor rows;      ///< [P] rollout of each stepLogp entry
  };
  RolloutScores rolloutLogProbs(LaresReasonerImpl& model, const Batch& batch, const std::vector<int64_t>& active,
                                const torch::Tensor& T0);
  /// Each rollout's KL to the reference at the configured level (rpt.kl_level).
  torch::Tensor rolloutKl(const RolloutScores& policy, const RolloutScores& reference) const;
  std::vector<TrainUnit> select();

  Recommender reference_;
  std::vector<TrainUnit> selected_;
  std::vector<int> selectedLengths_;
  int rollouts_ = 4;
  int updates_ = 1;
  double beta_ = 1.0, clipEps_ = 0.2, dropout_ = 0.1;
  int topK_ = 100, passes_ = 3;
  QString reward_, policy_;
  bool stepKl_ = false;
  bool positiveOnly_ = false;
};

}  // namespace rr
