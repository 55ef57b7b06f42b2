#include "core/model/fmlp_encoder.h"

#include "core/model/cpu_kernels.h"

#include <cmath>

namespace rr {

FilterLayerImpl::FilterLayerImpl(const LayerOptions& o, int maxLen) : maxLen_(maxLen) {
  const int freqs = maxLen / 2 + 1;
  // FMLP-Rec initialises the complex filter with N(0, 0.02) real and imaginary parts.
  weight = register_parameter("filter", torch::randn({1, freqs, o.d, 2}) * 0.02);
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d}).eps(1e-12)));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d}).eps(1e-12)));
  ff1 = register_module("ff1", torch::nn::Linear(o.d, o.ffn));
  ff2 = register_module("ff2", torch::nn::Linear(o.ffn, o.d));
  drop = register_module("drop", torch::nn::Dropout(o.dropout));
}

torch::Tensor FilterLayerImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.size(1) == maxLen_, "FilterLayer: input width ", x.size(1), " != max_len ", maxLen_);
  auto f = torch::fft::rfft(x, maxLen_, /*dim=*/1, "ortho");
  f = f * torch::view_as_complex(weight);
  auto y = torch::fft::irfft(f, maxLen_, /*dim=*/1, "ortho");
  auto h = ln1(x + drop(y));
  return ln2(h + drop(ff2(geluOfFresh(ff1(h)))));
}

double FilterLayerImpl::flops(const LayerOptions& o, double L) {
  const double fft = 2 * 5.0 * L * std::log2(std::max(2.0, L)) * o.d;
  const double product = 6.0 * (L / 2 + 1) * o.d;
  const double ffn = 2 * 2 * L * o.d * o.ffn;
  return fft + product + ffn;
}

torch::Tensor padToMaxLen(const torch::Tensor& items, int maxLen) {
  const int64_t W = items.size(1);
  if (W >= maxLen) return items;
  return torch::constant_pad_nd(items, {maxLen - W, 0}, 0);
}

FmlpEncoderImpl::FmlpEncoderImpl(BackboneSpec spec) : EncoderImpl(std::move(spec)) {
  stem.registerOn(*this, spec_, spec_.numItems + 1);
  layers = register_module("layers", makeLayers(spec_.layers));
  initWeights(*this, spec_.layer.initStd);
  stem.zeroPadding();
}

torch::nn::ModuleList FmlpEncoderImpl::makeLayers(int count) const {
  torch::nn::ModuleList list;
  for (int i = 0; i < count; ++i) {
    FilterLayer layer(spec_.layer, spec_.maxLen);
    initWeights(*layer, spec_.layer.initStd);
    list->push_back(layer);
  }
  return list;
}

torch::Tensor FmlpEncoderImpl::applyLayer(torch::nn::Module& layer, const torch::Tensor& x, const torch::Tensor&,
                                          const AttentionHooks&) {
  return static_cast<FilterLayerImpl&>(layer).forward(x);
}

torch::Tensor FmlpEncoderImpl::embed(const torch::Tensor& items, int positionOffset) { return stem(items, positionOffset); }

torch::Tensor FmlpEncoderImpl::encode(const torch::Tensor& items, int, const EncodeOptions& options) {
  const int64_t W = items.size(1);
  auto full = padToMaxLen(items, spec_.maxLen);
  auto x = embed(full, 0);
  for (size_t i = 0; i < layers->size(); ++i) x = layers->ptr<FilterLayerImpl>(i)->forward(x);
  if (options.lastOnly) return x.narrow(1, x.size(1) - 1, 1);
  return x.narrow(1, x.size(1) - W, W);
}

torch::Tensor FmlpEncoderImpl::itemTable() { return stem.itemEmb->weight; }

double FmlpEncoderImpl::flopsPerSequence(double) const {
  // The filter always runs over max_len positions.
  return spec_.layers * FilterLayerImpl::flops(spec_.layer, spec_.maxLen);
}

namespace {
// Registered at load time (core is a shared library).
const bool kRegistered = [] {
  registerEncoder("fmlprec", [](const BackboneSpec& s) -> Encoder { return std::make_shared<FmlpEncoderImpl>(s); });
  return true;
}();
}  // namespace

}  // namespace rr
