#pragma once
/// \file
/// \brief Full-ranking evaluation over all N items (SPEC §5). Internal to core (LibTorch).

#include "core/data/batching.h"
#include "core/eval/metrics.h"
#include "core/model/recommender.h"

#include <QMap>
#include <QString>
#include <QVector>
#include <functional>
#include <vector>

namespace rr {

enum class HistoryMask { None, ExcludeSeen };
/// "none" | "exclude_seen"; throws ConfigError("eval.history_mask", ...) otherwise.
HistoryMask parseHistoryMask(const QString& name);

struct EvalOptions {
  HistoryMask historyMask = HistoryMask::None;
  int batchSize = 1024;
  QVector<int> ks{5, 10, 20, 50};
  /// Batches ranked at once by evaluate() on the CPU, each on its own thread with one BLAS
  /// thread. 0 = auto: the applied thread split's OpenBLAS count when LibTorch's own pool is 1
  /// (RR_EVAL_WORKERS=n in the environment overrides it); 1 = one batch at a time.
  int workers = 0;
  static EvalOptions fromConfig(const RunConfig& cfg);
};

struct EvalResult {
  std::vector<int32_t> ranks;     ///< per case, in the order of the case list
  QMap<QString, double> metrics;  ///< metricsFromRanks(ranks, ks)
  double seconds = 0;
  double casesPerSecond = 0;
};

/// Progress callback (cases done, total); may throw CancelledError to stop.
using EvalProgress = std::function<void(int64_t, int64_t)>;

/// \brief Ranks every case's target among all N items. The padding column is never ranked;
/// ties count against the target (a constant scorer gets the worst rank, not the best);
/// non-finite scores throw RunError. Batches are grouped by history length so padding is
/// trimmed. Deterministic for a fixed model and thread count.
///
/// On the CPU, evaluate() ranks several batches at once (EvalOptions::workers), each worker
/// with single-threaded BLAS: with the default split (LibTorch 1 thread, OpenBLAS all cores) the
/// attention, LayerNorm, GELU and rank counting otherwise run on one core while OpenBLAS's other
/// threads wait. The batches are the same either way, but the workers score without the BLAS
/// (fused_ranking.h), so a near-tie's rank can differ from a one-at-a-time run's.
class FullRankingEvaluator {
 public:
  FullRankingEvaluator(const BatchBuilder& builder, EvalOptions options, torch::Device device);

  /// Puts the model in eval mode (restoring its mode afterwards) and ranks all cases.
  EvalResult evaluate(RecommenderImpl& model, const std::vector<EvalCase>& cases,
                      const EvalProgress& progress = {}) const;

  /// \brief Ranks for C candidate representations per case at once (oracle ceiling, depth
  /// analyses): represent(batch) returns [B, C, d]; the result is [C][case]. The model's mode is
  /// the caller's business.
  std::vector<std::vector<int32_t>> ranksForCandidates(
      const std::function<torch::Tensor(const Batch&)>& represent, const torch::Tensor& table,
      const std::vector<EvalCase>& cases, const EvalProgress& progress = {}) const;

  /// 0-based ranks [B] of `target` [B] in scores [B, N+1] (column 0 ignored), with optional
  /// history masking (rows/items index pairs). Exposed for tests and analyses.
  static torch::Tensor ranksFromScores(torch::Tensor scores, const torch::Tensor& target,
                                       const torch::Tensor& maskRows = {},
                                       const torch::Tensor& maskItems = {});

  const EvalOptions& options() const { return options_; }

  /// The number of batches evaluate() ranks at once on `device` (see EvalOptions::workers).
  int workersFor(torch::Device device) const;

 private:
  std::vector<std::vector<int32_t>> rankBatches(const std::function<torch::Tensor(const Batch&)>& represent,
                                                const torch::Tensor& table, const std::vector<EvalCase>& cases,
                                                const EvalProgress& progress, int workers) const;

  const BatchBuilder& builder_;
  EvalOptions options_;
  torch::Device device_;
};

}  // namespace rr
