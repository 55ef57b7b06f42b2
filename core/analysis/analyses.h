#pragma once
/// \file
/// \brief The analyses of SPEC §6 as functions of a trained model and its evaluation cases.
/// The jobs in analysis_job.h wrap them with a stored run; tests call them directly.
/// Internal to core (LibTorch). Thread: one worker thread; the model must be in eval mode.

#include "core/analysis/analysis_results.h"
#include "core/data/batching.h"
#include "core/eval/evaluator.h"
#include "core/model/recommender.h"

#include <functional>
#include <vector>

namespace rr {

/// Called between batches / passes (may throw CancelledError); fraction of this analysis done.
using AnalysisProgress = std::function<void(double fraction)>;

/// \brief Oracle ceiling (PLR §6.5.2): ranks the model's final representation and every
/// step/stream state the trace marks as a candidate, then takes per case the best rank.
/// The final representation is a candidate too, so oracle ≥ current always.
OracleRun oracleCeiling(RecommenderImpl& model, const FullRankingEvaluator& evaluator,
                        const std::vector<EvalCase>& cases, int k, const AnalysisProgress& progress = {});

/// \brief Cases whose histories lost round(fraction · length) items chosen at random (at least
/// one item kept), as a separate dataset: case i is user i of `out`, with its history (after
/// the drop) followed by its target. Deterministic for (seed); fraction 0 copies histories.
std::vector<EvalCase> dropHistoryItems(const SequenceData& data, const std::vector<EvalCase>& cases,
                                       double fraction, uint64_t seed, SequenceData* out);

/// \brief Robustness (PLR §6.5.1): NDCG@k and Recall@k after dropping each fraction of every
/// history, `repetitions` seeded draws per fraction (a 0 fraction is evaluated once: it is the
/// plain evaluation, exactly).
RobustnessRun robustnessCurve(RecommenderImpl& model, const SequenceData& data, int maxLen,
                              const EvalOptions& options, const torch::Device& device,
                              const std::vector<EvalCase>& cases, const QVector<double>& drops,
                              int repetitions, uint64_t seed, int k, const AnalysisProgress& progress = {});

/// \brief Test-time depth sweep (LARES §3.4.2): full evaluation at each step count through
/// setEvalSteps(); a model whose depth cannot change is evaluated once (supported = false).
/// The model's trained depth is restored afterwards.
DepthRun depthSweep(RecommenderImpl& model, const FullRankingEvaluator& evaluator,
                    const std::vector<EvalCase>& cases, const QVector<int>& steps,
                    const AnalysisProgress& progress = {});

/// \brief D(t) per step and the gate distribution over the cases.
DiversityRun streamDiversity(RecommenderImpl& model, const BatchBuilder& builder,
                             const std::vector<EvalCase>& cases, const torch::Device& device, int bins,
                             int batchSize = 512, const AnalysisProgress& progress = {});

/// \brief One case in detail: history with titles, attention maps per step/stream/layer/head,
/// the target's rank after every step and stream, gate weights and the top `topK` items.
InspectorData inspectCase(RecommenderImpl& model, const BatchBuilder& builder, const EvalOptions& options,
                          const std::vector<EvalCase>& cases, int caseIndex, const torch::Device& device,
                          int topK = 10);

/// \brief One model at one evaluation depth, for measureEfficiencySideBySide().
struct EfficiencyTarget {
  RecommenderImpl* model = nullptr;
  const BatchBuilder* builder = nullptr;
  const std::vector<EvalCase>* cases = nullptr;
  torch::Device device = torch::kCPU;
  int steps = 0;  ///< evaluation depth set before each of its requests; 0 = leave the model's own
};

/// \brief Parameters, FLOPs, latency (p50/p99 at batch 1 and 256), throughput and peak memory
/// of several targets, their requests interleaved in rounds:
/// each target in turn answers a block of 8 requests, the first untimed (it brings the model's
/// weights back into the caches, as a server answering only that model would have them), and
/// the first target of the round rotates. Timed request j of every target uses the same case
/// rows, so slow phases of a shared machine fall on every target alike, and each row's ratio
/// to target 0 (batch1Ratio, batch256Ratio) is the median of the per-request ratios, a paired
/// comparison. `repeats` timed requests at batch 1 and max(10, repeats/10) at batch 256 per
/// target, after one warm-up round; progress(f) gets the fraction done. Peak memory is the
/// process's after all of them. Each model's evaluation depth is restored.
std::vector<EfficiencyRow> measureEfficiencySideBySide(const std::vector<EfficiencyTarget>& targets, int repeats,
                                                       const std::function<void()>& checkCancel = {},
                                                       const std::function<void(double)>& progress = {});

/// \brief Milliseconds per ranking request (build the batch from `cases`, represent, score every
/// item, top 10), one entry per timed request after 3 untimed warm-ups; request r takes cases
/// r·batchSize … in turn. Runs under InferenceMode, as a server would. The bench and the
/// efficiency analysis both measure latency with this.
std::vector<double> timeRankingRequests(RecommenderImpl& model, const BatchBuilder& builder,
                                        const std::vector<EvalCase>& cases, const torch::Device& device,
                                        int batchSize, int repeats, const std::function<void()>& checkCancel = {});

/// \brief LibTorch operator calls that `fn` makes on this thread, counting only the outermost
/// ones (a composite operator that calls others counts once, as the model's code issued it).
/// On a GPU each such call costs host time and usually a kernel launch, whatever its size, so
/// at batch 1, where kernels are tiny, latency grows with this count rather than with FLOPs.
qint64 countOperatorCalls(const std::function<void()>& fn);

/// \brief Operator calls (countOperatorCalls) of one ranking request of `batchSize` cases as
/// timeRankingRequests makes it, after one untimed request; 0 without cases.
qint64 rankingRequestOperatorCalls(RecommenderImpl& model, const BatchBuilder& builder,
                                   const std::vector<EvalCase>& cases, const torch::Device& device, int batchSize);

/// Ranking-request latency in ms at batch 1 and batch 256, p50 and p99, and the operator calls
/// of a batch-1 request.
struct RankingLatency {
  double batch1P50 = 0, batch1P99 = 0;
  double batch256P50 = 0, batch256P99 = 0;
  qint64 batch1OperatorCalls = 0;
};

/// \brief `repeats` timed requests at batch 1 and max(10, repeats/10) at batch 256
/// (timeRankingRequests); all zero without cases. The bench and the efficiency analysis report these.
RankingLatency measureRankingLatency(RecommenderImpl& model, const BatchBuilder& builder,
                                     const std::vector<EvalCase>& cases, const torch::Device& device, int repeats,
                                     const std::function<void()>& checkCancel = {});

/// Percentile q in [0,1] with linear interpolation (0 for an empty sample).
double percentileOf(std::vector<double> values, double q);

}  // namespace rr
