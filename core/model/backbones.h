#pragma once
/// \file
/// \brief The BERT4Rec and GRU4Rec backbones (SPEC §2) and BERT4Rec's Cloze-trained model.
/// Registered with the encoder registry at load. Internal to core (LibTorch).

#include "core/data/batching.h"
#include "core/model/encoder.h"
#include "core/model/recommender.h"

#include <torch/torch.h>

#include <utility>

namespace rr {

/// \brief BERT4Rec: SASRec's layers without the causal mask, one extra table row [MASK] = N+1.
/// It predicts the next item from a [MASK] appended after the history.
class Bert4RecEncoderImpl : public SasrecEncoderImpl {
 public:
  explicit Bert4RecEncoderImpl(BackboneSpec spec);
  int64_t maskId() const { return spec_.numItems + 1; }
  /// items [B,W] with [MASK] appended (the oldest column dropped when W = max_len) and the
  /// position offset of the result.
  std::pair<torch::Tensor, int> withMaskAppended(const torch::Tensor& items) const;
  /// Cloze corruption of full sequences seq [B,L] (0 = padding): each non-padding item is
  /// replaced by [MASK] with probability maskRatio; a row with nothing masked gets its last
  /// item masked. Returns {corrupted input, labels (the original item where masked, else 0)}.
  std::pair<torch::Tensor, torch::Tensor> clozeMask(const torch::Tensor& seq) const;
  double flopsPerSequence(double L) const override;  ///< includes the appended [MASK]
};

/// \brief GRU4Rec: item embedding, dropout, `layers` GRU layers of width d (padding steps leave
/// the state unchanged, so left padding is exact), and a linear projection to d.
class Gru4RecEncoderImpl : public EncoderImpl {
 public:
  explicit Gru4RecEncoderImpl(BackboneSpec spec);
  torch::Tensor encode(const torch::Tensor& items, int positionOffset, const EncodeOptions& options = {}) override;
  torch::Tensor embed(const torch::Tensor& items, int positionOffset) override;
  torch::Tensor itemTable() override;
  bool causal() const override { return true; }
  double flopsPerSequence(double L) const override;

  torch::nn::Embedding itemEmb{nullptr};
  torch::nn::Dropout embDrop{nullptr};
  torch::nn::ModuleList cells{nullptr};
  torch::nn::Linear proj{nullptr};
};

/// The items and position offset a backbone predicts the next item of `batch` from: the batch
/// itself, or for BERT4Rec the batch with [MASK] appended.
std::pair<torch::Tensor, int> predictionInput(EncoderImpl& encoder, const Batch& batch);

/// \brief BERT4Rec alone (reasoner none): Cloze training (SPEC §2), prediction at an appended
/// [MASK]. The training sequence is the batch's input plus its last target.
class ClozeRecommenderImpl : public SequentialRecommenderImpl {
 public:
  ClozeRecommenderImpl(std::shared_ptr<Bert4RecEncoderImpl> encoder, double temperature);
  LossOutput loss(const Batch& batch, const LossContext& ctx) override;
  torch::Tensor represent(const Batch& batch) override;
  ReasoningTrace trace(const Batch& batch, bool withAttention) override;

 private:
  Batch masked(const Batch& batch) const;
  std::shared_ptr<Bert4RecEncoderImpl> bert_;
};

/// The model for reasoner "none": SequentialRecommender, or ClozeRecommender for BERT4Rec.
Recommender makeBackboneRecommender(const RunConfig& cfg, int numItems);

}  // namespace rr
