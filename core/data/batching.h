#pragma once
/// \file
/// \brief Tensors from sequences: left-padded, truncated to max_len, trimmed to the longest row
/// of each batch, and epoch orders that group similar lengths. Internal to core (LibTorch).

#include "core/data/sequence_data.h"
#include "core/data/split.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rr {

/// \brief One batch. items is [B, W] with W <= maxLen: the most recent item of every row is in
/// column W-1 and its absolute position in the max_len window is maxLen-1, so position ids are
/// maxLen-W .. maxLen-1 (positionOffset = maxLen - W).
struct Batch {
  torch::Tensor items;    ///< [B, W] int64 input items, 0 = padding
  torch::Tensor targets;  ///< [B, W] int64 next item per position (0 = no loss); AllPositions only
  torch::Tensor target;   ///< [B] int64 target of the last position
  torch::Tensor users;    ///< [B] int64 dense user ids
  std::vector<int64_t> rows;  ///< indices into the unit / case list the batch came from
  int maxLen = 0;
  int64_t size() const { return items.defined() ? items.size(0) : 0; }
  int width() const { return items.defined() ? static_cast<int>(items.size(1)) : 0; }
  int positionOffset() const { return maxLen - width(); }
  Batch to(const torch::Device& device) const;
};

/// \brief Builds batches from a dataset's sequences (kept by reference; must outlive it).
class BatchBuilder {
 public:
  BatchBuilder(const SequenceData& data, int maxLen);
  int maxLen() const { return maxLen_; }
  const SequenceData& data() const { return *data_; }

  /// Input length (after truncation) of a training unit / evaluation case.
  int unitLength(const TrainUnit& u) const;
  int caseLength(const EvalCase& c) const;

  /// Training batch of units[indices]. AllPositions fills `targets`; both modes fill `target`.
  Batch trainBatch(const std::vector<TrainUnit>& units, const std::vector<int64_t>& indices,
                   TargetMode mode) const;
  /// Evaluation batch: input = the last maxLen history items of each case, target = its item.
  Batch evalBatch(const std::vector<EvalCase>& cases, const std::vector<int64_t>& indices) const;
  /// Items a case's user has interacted with before the target (full history, not truncated),
  /// as (row, item) index pairs for masking: returns {rowIndex [K], itemIndex [K]} int64.
  std::pair<torch::Tensor, torch::Tensor> historyIndex(const std::vector<EvalCase>& cases,
                                                       const std::vector<int64_t>& indices) const;

 private:
  const SequenceData* data_;
  int maxLen_;
};

/// \brief The batches of one epoch: a seeded shuffle; with bucketing, pools of 32 batches are
/// sorted by length before being cut, then the batch order is shuffled again, so padding is
/// trimmed while every epoch still sees a fresh order. Deterministic for (lengths, seed).
std::vector<std::vector<int64_t>> epochBatches(const std::vector<int>& lengths, int batchSize,
                                               bool bucketing, uint64_t seed);

/// \brief Batches for evaluation: sorted by length (order does not matter for metrics).
std::vector<std::vector<int64_t>> evalBatches(const std::vector<int>& lengths, int batchSize);

/// Stateless seed mixing (SplitMix64) for per-epoch / per-stage seeds.
uint64_t mixSeed(uint64_t a, uint64_t b);

}  // namespace rr
