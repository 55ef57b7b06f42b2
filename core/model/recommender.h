#pragma once
/// \file
/// \brief A recommender = backbone × reasoner (SPEC §3), behind one interface used by trainers,
/// the evaluator and the analyses. Internal to core (LibTorch).

#include "core/data/batching.h"
#include "core/model/encoder.h"
#include "core/project/run_config.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rr {

/// \brief Where in training a loss is computed (for warm-ups and schedules).
struct LossContext {
  std::string stage = "spt";
  int epoch = 1;       ///< 1-based
  int64_t step = 0;    ///< optimizer steps so far in the stage
};

/// \brief A training loss and its named components (detached, for logging).
struct LossOutput {
  torch::Tensor total;
  std::vector<std::pair<std::string, torch::Tensor>> parts;  ///< e.g. {"ce", ...}, {"tla", ...}
  void add(const std::string& name, const torch::Tensor& value) { parts.emplace_back(name, value.detach()); }
};

/// \brief Attention of one query token at one reasoning step / stream / layer.
struct AttentionRecord {
  int step = 0;      ///< 0 = encoder pass
  int stream = 0;
  int layer = 0;
  /// [B, heads, Lk] attention probabilities of the query token of interest over the keys
  /// (item positions first, then earlier reasoning tokens where the model has them).
  torch::Tensor weights;
  int itemKeys = 0;  ///< how many of the Lk keys are item positions
};

/// \brief Everything the analyses and the inspector need from one forward pass (eval mode).
struct ReasoningTrace {
  /// [B, S, M, d]: representation after reasoning step s (s = 0: before any reasoning, i.e. the
  /// encoder's last position) for stream m. Models without reasoning have S = M = 1.
  torch::Tensor states;
  torch::Tensor final;  ///< [B, d] the representation used for ranking
  torch::Tensor gate;   ///< [B, M] stream weights, undefined without a gate
  std::vector<AttentionRecord> attention;  ///< filled when requested
  /// Which states[:, s, m] rows are meaningful ranking candidates for the oracle ceiling
  /// (e.g. PLR ranks with h_0 + z; LARES with t_s[:, -1]); all true when empty.
  std::vector<std::vector<bool>> candidate;
};

/// \brief Base class of all models.
class RecommenderImpl : public torch::nn::Module {
 public:
  explicit RecommenderImpl(double temperature = 1.0) : temperature_(temperature) {}
  /// Training loss of one batch (module in train mode).
  virtual LossOutput loss(const Batch& batch, const LossContext& ctx) = 0;
  /// [B, d] ranking representation (module in eval mode, under NoGradGuard).
  virtual torch::Tensor represent(const Batch& batch) = 0;
  /// Per-step / per-stream states and optionally attention (eval mode). Default: one state.
  virtual ReasoningTrace trace(const Batch& batch, bool withAttention);
  /// [N+1, d] item table for scoring (row 0 = padding).
  virtual torch::Tensor itemTable() = 0;
  /// Analytic forward FLOPs per ranked sample, ranking over N items included, for a
  /// sequence of `seqLen` tokens at the evaluation depth.
  virtual double flopsPerSample(double seqLen) const = 0;
  /// Analytic FLOPs of one training sample (forward + backward ≈ 3x forward) with `targets`
  /// loss positions over all N items. Reasoners with extra passes (TLA views, RCL) override.
  virtual double trainingFlopsPerSample(double seqLen, double targets) const;
  /// Test-time depth override (LARES steps, ReaRec/PLR T); 0 restores the trained depth.
  virtual void setEvalSteps(int steps) {}
  virtual int evalSteps() const { return 0; }
  /// Called at the start of every epoch (schedules, warm-ups).
  virtual void beginEpoch(const LossContext& ctx) {}
  /// Called once by the training stage before the first batch, with the data it trains on
  /// (e.g. LARES builds its same-target positive index). The references outlive training.
  virtual void prepareTraining(const SequenceData& data, const DataSplit& split, const BatchBuilder& builder) {}

  /// [B, N+1] scores (column 0 included; the evaluator masks it).
  torch::Tensor scores(const Batch& batch) { return torch::mm(represent(batch), itemTable().t()); }
  double temperature() const { return temperature_; }

 protected:
  double temperature_;
};
using Recommender = std::shared_ptr<RecommenderImpl>;

/// \brief A backbone alone (reasoner "none", SPEC §3.1): z = H[:, -1].
/// AllPositions batches train every position (causal backbones); Last batches the last one.
class SequentialRecommenderImpl : public RecommenderImpl {
 public:
  SequentialRecommenderImpl(Encoder encoder, double temperature);
  LossOutput loss(const Batch& batch, const LossContext& ctx) override;
  torch::Tensor represent(const Batch& batch) override;
  ReasoningTrace trace(const Batch& batch, bool withAttention) override;
  torch::Tensor itemTable() override { return encoder_->itemTable(); }
  double flopsPerSample(double seqLen) const override;
  const Encoder& encoder() const { return encoder_; }

 protected:
  Encoder encoder_;
};

/// Factory of models by reasoner kind ("none", "erl", "prl", "lares", "plr", "hybrid").
using RecommenderFactory = std::function<Recommender(const RunConfig& cfg, int numItems)>;
void registerRecommender(const std::string& reasonerKind, RecommenderFactory factory);
/// Builds the model a configuration describes (validated config). Throws ConfigError
/// ("model.reasoner.kind", ...) for kinds not available in this build.
Recommender buildRecommender(const RunConfig& cfg, int numItems);

/// FLOPs of ranking one representation against N items (the logits GEMM).
inline double rankingFlops(double d, double numItems) { return 2.0 * d * numItems; }

}  // namespace rr
