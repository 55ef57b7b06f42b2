#include "core/data/batching.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace rr {
namespace {

constexpr int kBucketPoolBatches = 32;  // batches per length-sorted pool when bucketing

// Deterministic shuffle (std::shuffle's algorithm is unspecified across standard libraries).
void shuffleInPlace(std::vector<int64_t>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

template <class T>
void shuffleVectors(std::vector<T>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace

uint64_t mixSeed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Batch Batch::to(const torch::Device& device) const {
  if (items.device() == device) return *this;
  Batch b = *this;
  b.items = items.to(device);
  if (targets.defined()) b.targets = targets.to(device);
  if (target.defined()) b.target = target.to(device);
  if (users.defined()) b.users = users.to(device);
  return b;
}

BatchBuilder::BatchBuilder(const SequenceData& data, int maxLen) : data_(&data), maxLen_(maxLen) {}

int BatchBuilder::unitLength(const TrainUnit& u) const { return std::min(u.end - 1, maxLen_); }
int BatchBuilder::caseLength(const EvalCase& c) const { return std::min(c.pos, maxLen_); }

Batch BatchBuilder::trainBatch(const std::vector<TrainUnit>& units,
                               const std::vector<int64_t>& indices, TargetMode mode) const {
  const int64_t B = static_cast<int64_t>(indices.size());
  int W = 1;
  for (int64_t r : indices) W = std::max(W, unitLength(units[r]));
  auto items = torch::zeros({B, W}, torch::kLong);
  auto target = torch::zeros({B}, torch::kLong);
  auto users = torch::zeros({B}, torch::kLong);
  torch::Tensor targets;
  if (mode == TargetMode::AllPositions) targets = torch::zeros({B, W}, torch::kLong);
  auto* it = items.data_ptr<int64_t>();
  auto* tg = target.data_ptr<int64_t>();
  auto* us = users.data_ptr<int64_t>();
  int64_t* tgs = targets.defined() ? targets.data_ptr<int64_t>() : nullptr;
  for (int64_t b = 0; b < B; ++b) {
    const TrainUnit& u = units[indices[b]];
    const auto& seq = data_->sequences[u.user];
    const int len = unitLength(u);
    const int inputEnd = u.end - 1;  // input = seq[inputEnd-len, inputEnd)
    for (int j = 0; j < len; ++j) {
      const int src = inputEnd - len + j;
      it[b * W + (W - len + j)] = seq[src];
      if (tgs) tgs[b * W + (W - len + j)] = seq[src + 1];
    }
    tg[b] = seq[u.end - 1];
    us[b] = u.user;
  }
  Batch batch;
  batch.items = items;
  batch.targets = targets;
  batch.target = target;
  batch.users = users;
  batch.rows = indices;
  batch.maxLen = maxLen_;
  return batch;
}

Batch BatchBuilder::evalBatch(const std::vector<EvalCase>& cases,
                              const std::vector<int64_t>& indices) const {
  const int64_t B = static_cast<int64_t>(indices.size());
  int W = 1;
  for (int64_t r : indices) W = std::max(W, caseLength(cases[r]));
  auto items = torch::zeros({B, W}, torch::kLong);
  auto target = torch::zeros({B}, torch::kLong);
  auto users = torch::zeros({B}, torch::kLong);
  auto* it = items.data_ptr<int64_t>();
  auto* tg = target.data_ptr<int64_t>();
  auto* us = users.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const EvalCase& c = cases[indices[b]];
    const auto& seq = data_->sequences[c.user];
    const int len = caseLength(c);
    for (int j = 0; j < len; ++j) it[b * W + (W - len + j)] = seq[c.pos - len + j];
    tg[b] = seq[c.pos];
    us[b] = c.user;
  }
  Batch batch;
  batch.items = items;
  batch.target = target;
  batch.users = users;
  batch.rows = indices;
  batch.maxLen = maxLen_;
  return batch;
}

std::pair<torch::Tensor, torch::Tensor> BatchBuilder::historyIndex(
    const std::vector<EvalCase>& cases, const std::vector<int64_t>& indices) const {
  std::vector<int64_t> rowIdx, itemIdx;
  for (size_t b = 0; b < indices.size(); ++b) {
    const EvalCase& c = cases[indices[b]];
    const auto& seq = data_->sequences[c.user];
    for (int j = 0; j < c.pos; ++j) {
      rowIdx.push_back(static_cast<int64_t>(b));
      itemIdx.push_back(seq[j]);
    }
  }
  const auto n = static_cast<int64_t>(rowIdx.size());
  return {torch::from_blob(rowIdx.data(), {n}, torch::kLong).clone(),
          torch::from_blob(itemIdx.data(), {n}, torch::kLong).clone()};
}

std::vector<std::vector<int64_t>> epochBatches(const std::vector<int>& lengths, int batchSize,
                                               bool bucketing, uint64_t seed) {
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  shuffleInPlace(order, mixSeed(seed, 1));
  const size_t bs = static_cast<size_t>(std::max(1, batchSize));
  if (bucketing) {
    const size_t pool = bs * kBucketPoolBatches;
    for (size_t start = 0; start < order.size(); start += pool) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
      const auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + pool));
      std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (size_t start = 0; start < order.size(); start += bs)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + bs)));
  if (bucketing) shuffleVectors(batches, mixSeed(seed, 2));
  return batches;
}

std::vector<std::vector<int64_t>> evalBatches(const std::vector<int>& lengths, int batchSize) {
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<int64_t>> batches;
  const size_t bs = static_cast<size_t>(std::max(1, batchSize));
  for (size_t start = 0; start < order.size(); start += bs)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + bs)));
  return batches;
}

}  // namespace rr
