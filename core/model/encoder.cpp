#include "core/model/encoder.h"

#include "core/errors.h"

#include <map>
#include <mutex>

namespace rr {

BackboneSpec BackboneSpec::fromConfig(const RunConfig& cfg, int numItems) {
  BackboneSpec s;
  s.name = cfg.getString(QStringLiteral("model.backbone")).toStdString();
  s.numItems = numItems;
  s.maxLen = cfg.getInt(QStringLiteral("data.max_len"));
  s.layers = cfg.getInt(QStringLiteral("model.layers"));
  s.layer.d = cfg.getInt(QStringLiteral("model.d"));
  s.layer.heads = cfg.getInt(QStringLiteral("model.heads"));
  const int ffn = cfg.getInt(QStringLiteral("model.ffn"));
  s.layer.ffn = ffn > 0 ? ffn : 4 * s.layer.d;
  s.layer.dropout = cfg.getDouble(QStringLiteral("model.dropout"));
  s.layer.attnDropout = cfg.getDouble(QStringLiteral("model.attn_dropout"));
  s.layer.preNorm = cfg.getString(QStringLiteral("model.norm")) == QLatin1String("pre");
  s.layer.initStd = cfg.getDouble(QStringLiteral("model.init_std"));
  s.maskRatio = cfg.getDouble(QStringLiteral("model.mask_ratio"));
  return s;
}

torch::nn::ModuleList EncoderImpl::makeLayers(int) const {
  throw ConfigError(QStringLiteral("model.backbone"),
                    QStringLiteral("backbone '%1' has no stackable layers for this reasoner")
                        .arg(QString::fromStdString(spec_.name)));
}

torch::Tensor EncoderImpl::applyLayer(torch::nn::Module&, const torch::Tensor&, const torch::Tensor&,
                                      const AttentionHooks&) {
  throw ConfigError(QStringLiteral("model.backbone"),
                    QStringLiteral("backbone '%1' has no stackable layers").arg(QString::fromStdString(spec_.name)));
}

SasrecEncoderImpl::SasrecEncoderImpl(BackboneSpec spec, bool causal, int extraRows)
    : EncoderImpl(std::move(spec)), causal_(causal), tableRows_(spec_.numItems + 1 + extraRows) {
  stem.registerOn(*this, spec_, tableRows_);
  layers = register_module("layers", makeLayers(spec_.layers));
  initWeights(*this, spec_.layer.initStd);
  stem.zeroPadding();
}

torch::nn::ModuleList SasrecEncoderImpl::makeLayers(int count) const {
  torch::nn::ModuleList list;
  for (int i = 0; i < count; ++i) {
    TransformerLayer layer(spec_.layer);
    initWeights(*layer, spec_.layer.initStd);
    list->push_back(layer);
  }
  return list;
}

torch::Tensor SasrecEncoderImpl::applyLayer(torch::nn::Module& layer, const torch::Tensor& x,
                                            const torch::Tensor& bias, const AttentionHooks& hooks) {
  return static_cast<TransformerLayerImpl&>(layer).forward(x, bias, hooks);
}

void EmbeddingStem::registerOn(torch::nn::Module& owner, const BackboneSpec& spec, int64_t tableRows) {
  const int d = spec.layer.d;
  itemEmb = owner.register_module("item_emb", torch::nn::Embedding(torch::nn::EmbeddingOptions(tableRows, d).padding_idx(0)));
  posEmb = owner.register_module("pos_emb", torch::nn::Embedding(spec.maxLen, d));
  embLn = owner.register_module("emb_ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-12)));
  embDrop = owner.register_module("emb_drop", torch::nn::Dropout(spec.layer.dropout));
}

void EmbeddingStem::zeroPadding() {
  torch::NoGradGuard ng;
  itemEmb->weight[0].zero_();
}

torch::Tensor EmbeddingStem::operator()(const torch::Tensor& items, int positionOffset) {
  const int64_t W = items.size(1);
  auto pos = torch::arange(positionOffset, positionOffset + W, items.options());
  return embDrop(embLn(itemEmb(items) + posEmb(pos).unsqueeze(0)));
}

torch::Tensor SasrecEncoderImpl::embed(const torch::Tensor& items, int positionOffset) { return stem(items, positionOffset); }

torch::Tensor SasrecEncoderImpl::encode(const torch::Tensor& items, int positionOffset,
                                        const EncodeOptions& options) {
  auto x = embed(items, positionOffset);
  auto bias = attentionBias(items, causal_);
  const size_t n = layers->size();
  for (size_t i = 0; i < n; ++i) {
    auto& layer = *layers->ptr<TransformerLayerImpl>(i);
    const bool last = options.lastOnly && i + 1 == n;
    x = layer.forward(x, bias, options.hooks, last);
  }
  if (options.lastOnly && n == 0) x = x.narrow(1, x.size(1) - 1, 1);
  return x;
}

torch::Tensor SasrecEncoderImpl::itemTable() { return stem.itemEmb->weight.narrow(0, 0, spec_.numItems + 1); }

double SasrecEncoderImpl::flopsPerSequence(double L) const {
  return spec_.layers * transformerLayerFlops(spec_.layer, L, L);
}

namespace {
std::map<std::string, EncoderFactory>& encoderRegistry() {
  static std::map<std::string, EncoderFactory> registry{
      {"sasrec", [](const BackboneSpec& s) -> Encoder { return std::make_shared<SasrecEncoderImpl>(s); }}};
  return registry;
}
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void registerEncoder(const std::string& name, EncoderFactory factory) {
  std::lock_guard<std::mutex> lock(registryMutex());
  encoderRegistry()[name] = std::move(factory);
}

Encoder makeEncoder(const BackboneSpec& spec) {
  std::lock_guard<std::mutex> lock(registryMutex());
  auto it = encoderRegistry().find(spec.name);
  if (it == encoderRegistry().end())
    throw ConfigError(QStringLiteral("model.backbone"),
                      QStringLiteral("backbone '%1' is not available in this build").arg(QString::fromStdString(spec.name)));
  return it->second(spec);
}

}  // namespace rr
