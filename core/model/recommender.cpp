#include "core/model/recommender.h"

#include "core/errors.h"
#include "core/model/scoring.h"

#include <map>
#include <mutex>

namespace rr {

ReasoningTrace RecommenderImpl::trace(const Batch& batch, bool) {
  ReasoningTrace t;
  t.final = represent(batch);
  t.states = t.final.unsqueeze(1).unsqueeze(1);
  return t;
}

double RecommenderImpl::trainingFlopsPerSample(double seqLen, double targets) const {
  const auto table = const_cast<RecommenderImpl*>(this)->itemTable();
  const double ranking = rankingFlops(static_cast<double>(table.size(1)), static_cast<double>(table.size(0) - 1));
  return 3.0 * (flopsPerSample(seqLen) - ranking + targets * ranking);
}

SequentialRecommenderImpl::SequentialRecommenderImpl(Encoder encoder, double temperature)
    : RecommenderImpl(temperature), encoder_(std::move(encoder)) {
  register_module("encoder", encoder_);
}

LossOutput SequentialRecommenderImpl::loss(const Batch& batch, const LossContext&) {
  LossOutput out;
  const double scale = 1.0 / temperature_;
  if (batch.targets.defined() && encoder_->causal()) {
    auto H = encoder_->encode(batch.items, batch.positionOffset());
    auto sel = batch.targets.gt(0);
    auto h = H.index({sel});
    auto t = batch.targets.index({sel});
    out.total = fullSoftmaxCrossEntropy(h, itemTable(), t, scale);
  } else {
    EncodeOptions o;
    o.lastOnly = true;
    auto h = encoder_->encode(batch.items, batch.positionOffset(), o).squeeze(1);
    out.total = fullSoftmaxCrossEntropy(h, itemTable(), batch.target, scale);
  }
  out.add("ce", out.total);
  return out;
}

torch::Tensor SequentialRecommenderImpl::represent(const Batch& batch) {
  EncodeOptions o;
  o.lastOnly = true;
  return encoder_->encode(batch.items, batch.positionOffset(), o).squeeze(1);
}

ReasoningTrace SequentialRecommenderImpl::trace(const Batch& batch, bool withAttention) {
  ReasoningTrace t;
  std::vector<torch::Tensor> weights;
  EncodeOptions o;
  o.lastOnly = true;
  if (withAttention) o.hooks.weights = &weights;
  t.final = encoder_->encode(batch.items, batch.positionOffset(), o).squeeze(1);
  t.states = t.final.unsqueeze(1).unsqueeze(1);
  for (size_t layer = 0; layer < weights.size(); ++layer) {
    AttentionRecord r;
    r.layer = static_cast<int>(layer);
    auto w = weights[layer];  // [B,h,Lq,Lk]; the last query is the one that ranks
    r.weights = w.select(2, w.size(2) - 1);
    r.itemKeys = static_cast<int>(w.size(3));
    t.attention.push_back(r);
  }
  return t;
}

double SequentialRecommenderImpl::flopsPerSample(double seqLen) const {
  const auto& s = encoder_->spec();
  return encoder_->flopsPerSequence(seqLen) + rankingFlops(s.layer.d, s.numItems);
}

namespace {
std::map<std::string, RecommenderFactory>& registry() {
  static std::map<std::string, RecommenderFactory> r{
      {"none", [](const RunConfig& cfg, int numItems) -> Recommender {
         auto spec = BackboneSpec::fromConfig(cfg, numItems);
         return std::make_shared<SequentialRecommenderImpl>(makeEncoder(spec),
                                                            cfg.getDouble(QStringLiteral("model.temperature")));
       }}};
  return r;
}
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void registerRecommender(const std::string& reasonerKind, RecommenderFactory factory) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry()[reasonerKind] = std::move(factory);
}

Recommender buildRecommender(const RunConfig& cfg, int numItems) {
  const std::string kind = cfg.getString(QStringLiteral("model.reasoner.kind")).toStdString();
  RecommenderFactory f;
  {
    std::lock_guard<std::mutex> lock(registryMutex());
    auto it = registry().find(kind);
    if (it == registry().end())
      throw ConfigError(QStringLiteral("model.reasoner.kind"),
                        QStringLiteral("reasoner '%1' is not available in this build").arg(QString::fromStdString(kind)));
    f = it->second;
  }
  return f(cfg, numItems);
}

}  // namespace rr
