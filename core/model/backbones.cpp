#include "core/model/backbones.h"

#include "core/model/scoring.h"

namespace rr {

// ---------------------------------------------------------------- BERT4Rec

Bert4RecEncoderImpl::Bert4RecEncoderImpl(BackboneSpec spec)
    : SasrecEncoderImpl(std::move(spec), /*causal=*/false, /*extraRows=*/1) {}

std::pair<torch::Tensor, int> Bert4RecEncoderImpl::withMaskAppended(const torch::Tensor& items) const {
  auto mask = torch::full({items.size(0), 1}, maskId(), items.options());
  auto x = torch::cat({items, mask}, 1);
  if (x.size(1) > spec_.maxLen) x = x.narrow(1, x.size(1) - spec_.maxLen, spec_.maxLen);
  return {x, spec_.maxLen - static_cast<int>(x.size(1))};
}

std::pair<torch::Tensor, torch::Tensor> Bert4RecEncoderImpl::clozeMask(const torch::Tensor& seq) const {
  auto real = seq.gt(0);
  auto pick = torch::rand(seq.sizes(), seq.options().dtype(torch::kFloat)).lt(spec_.maskRatio).logical_and_(real);
  // Rows where nothing was drawn get their most recent item masked (always a real item).
  auto none = pick.any(1).logical_not();
  pick.select(1, seq.size(1) - 1).logical_or_(none);
  auto input = seq.masked_fill(pick, maskId());
  auto labels = seq.masked_fill(pick.logical_not(), 0);
  return {input, labels};
}

double Bert4RecEncoderImpl::flopsPerSequence(double L) const {
  return SasrecEncoderImpl::flopsPerSequence(std::min<double>(L + 1, spec_.maxLen));
}

// ---------------------------------------------------------------- GRU4Rec

Gru4RecEncoderImpl::Gru4RecEncoderImpl(BackboneSpec spec) : EncoderImpl(std::move(spec)) {
  const int d = spec_.layer.d;
  itemEmb = register_module("item_emb", torch::nn::Embedding(torch::nn::EmbeddingOptions(spec_.numItems + 1, d).padding_idx(0)));
  embDrop = register_module("emb_drop", torch::nn::Dropout(spec_.layer.dropout));
  cells = register_module("gru", torch::nn::ModuleList());
  for (int i = 0; i < spec_.layers; ++i) cells->push_back(torch::nn::GRUCell(d, d));
  proj = register_module("proj", torch::nn::Linear(d, d));
  torch::NoGradGuard ng;
  itemEmb->weight.normal_(0, spec_.layer.initStd);
  itemEmb->weight[0].zero_();
  // GRU weights keep PyTorch's uniform default (as RecBole's xavier-free GRU4Rec); the
  // projection gets the backbone's normal initialisation.
  proj->weight.normal_(0, spec_.layer.initStd);
  proj->bias.zero_();
}

torch::Tensor Gru4RecEncoderImpl::embed(const torch::Tensor& items, int) { return embDrop(itemEmb(items)); }

torch::Tensor Gru4RecEncoderImpl::encode(const torch::Tensor& items, int positionOffset, const EncodeOptions& options) {
  auto x = embed(items, positionOffset);  // [B,W,d]
  const int64_t B = items.size(0), W = items.size(1);
  auto live = items.gt(0).unsqueeze(-1);  // [B,W,1]
  for (size_t l = 0; l < cells->size(); ++l) {
    auto& cell = *cells->ptr<torch::nn::GRUCellImpl>(l);
    auto h = torch::zeros({B, spec_.layer.d}, x.options());
    std::vector<torch::Tensor> outs;
    outs.reserve(static_cast<size_t>(W));
    for (int64_t t = 0; t < W; ++t) {
      h = torch::where(live.select(1, t), cell.forward(x.select(1, t), h), h);
      outs.push_back(h);
    }
    x = torch::stack(outs, 1);
  }
  if (options.lastOnly) x = x.narrow(1, W - 1, 1);
  return proj(x);
}

torch::Tensor Gru4RecEncoderImpl::itemTable() { return itemEmb->weight; }

double Gru4RecEncoderImpl::flopsPerSequence(double L) const {
  const double d = spec_.layer.d;
  return spec_.layers * L * 2.0 * 6.0 * d * d + L * 2.0 * d * d;  // 3 gates x (input + hidden) GEMVs
}

std::pair<torch::Tensor, int> predictionInput(EncoderImpl& encoder, const Batch& batch) {
  if (auto* bert = dynamic_cast<Bert4RecEncoderImpl*>(&encoder)) return bert->withMaskAppended(batch.items);
  return {batch.items, batch.positionOffset()};
}

// ---------------------------------------------------------------- Cloze model

ClozeRecommenderImpl::ClozeRecommenderImpl(std::shared_ptr<Bert4RecEncoderImpl> encoder, double temperature)
    : SequentialRecommenderImpl(encoder, temperature), bert_(std::move(encoder)) {}

LossOutput ClozeRecommenderImpl::loss(const Batch& batch, const LossContext&) {
  // The full training sequence: the input plus its last target, trimmed to max_len.
  auto seq = torch::cat({batch.items, batch.target.unsqueeze(1)}, 1);
  const int maxLen = bert_->spec().maxLen;
  if (seq.size(1) > maxLen) seq = seq.narrow(1, seq.size(1) - maxLen, maxLen);
  auto [input, labels] = bert_->clozeMask(seq);
  auto H = bert_->encode(input, maxLen - static_cast<int>(seq.size(1)));
  auto sel = labels.gt(0);
  LossOutput out;
  out.total = fullSoftmaxCrossEntropy(H.index({sel}), itemTable(), labels.index({sel}), 1.0 / temperature_);
  out.add("ce", out.total);
  return out;
}

Batch ClozeRecommenderImpl::masked(const Batch& batch) const {
  Batch b = batch;
  int offset = 0;
  std::tie(b.items, offset) = bert_->withMaskAppended(batch.items);
  b.maxLen = offset + static_cast<int>(b.items.size(1));
  return b;
}

torch::Tensor ClozeRecommenderImpl::represent(const Batch& batch) {
  return SequentialRecommenderImpl::represent(masked(batch));
}

ReasoningTrace ClozeRecommenderImpl::trace(const Batch& batch, bool withAttention) {
  return SequentialRecommenderImpl::trace(masked(batch), withAttention);
}

Recommender makeBackboneRecommender(const RunConfig& cfg, int numItems) {
  const auto spec = BackboneSpec::fromConfig(cfg, numItems);
  const double tau = cfg.getDouble(QStringLiteral("model.temperature"));
  if (spec.name == "bert4rec") return std::make_shared<ClozeRecommenderImpl>(std::make_shared<Bert4RecEncoderImpl>(spec), tau);
  return std::make_shared<SequentialRecommenderImpl>(makeEncoder(spec), tau);
}

namespace {
// Registered at load (core is a shared library). "none" is re-registered so that BERT4Rec alone
// gets its Cloze objective; every other backbone keeps the plain SequentialRecommender.
const bool kRegistered = [] {
  registerEncoder("bert4rec", [](const BackboneSpec& s) -> Encoder { return std::make_shared<Bert4RecEncoderImpl>(s); });
  registerEncoder("gru4rec", [](const BackboneSpec& s) -> Encoder { return std::make_shared<Gru4RecEncoderImpl>(s); });
  registerRecommender("none", makeBackboneRecommender);
  return true;
}();
}  // namespace

}  // namespace rr
