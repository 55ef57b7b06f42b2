#include "core/model/layers.h"

#include "core/model/cpu_kernels.h"
#include "core/model/small_matmul.h"

#include <cmath>

namespace rr {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int d, int heads, double attnDropout)
    : d_(d), heads_(heads) {
  TORCH_CHECK(d % heads == 0, "model.d (", d, ") must be divisible by model.heads (", heads, ")");
  inProj = register_module("in_proj", torch::nn::Linear(d, 3 * d));
  outProj = register_module("out_proj", torch::nn::Linear(d, d));
  attnDrop = register_module("attn_drop", torch::nn::Dropout(attnDropout));
}

torch::Tensor MultiHeadAttentionImpl::projectQuery(const torch::Tensor& x) const {
  return torch::nn::functional::linear(x, inProj->weight.narrow(0, 0, d_), inProj->bias.narrow(0, 0, d_));
}

std::pair<torch::Tensor, torch::Tensor> MultiHeadAttentionImpl::projectKeyValue(const torch::Tensor& x) const {
  auto kv = torch::nn::functional::linear(x, inProj->weight.narrow(0, d_, 2 * d_),
                                          inProj->bias.narrow(0, d_, 2 * d_));
  auto parts = kv.chunk(2, -1);
  return {parts[0], parts[1]};
}

torch::Tensor MultiHeadAttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v, const torch::Tensor& bias,
                                             const AttentionHooks& hooks) {
  const int64_t B = k.size(0), Lk = k.size(1), dh = d_ / heads_;
  auto kh = k.view({B, Lk, heads_, dh}).transpose(1, 2);  // [B,h,Lk,dh]
  auto vh = v.view({B, Lk, heads_, dh}).transpose(1, 2);
  return attendHeads(q, kh, vh, bias, hooks);
}

torch::Tensor MultiHeadAttentionImpl::attendHeads(const torch::Tensor& q, const torch::Tensor& kh,
                                                  const torch::Tensor& vh, const torch::Tensor& bias,
                                                  const AttentionHooks& hooks) {
  const int64_t B = q.size(0), Lq = q.size(1), dh = d_ / heads_;
  auto qh = q.view({B, Lq, heads_, dh}).transpose(1, 2);  // [B,h,Lq,dh]
  auto scores = batchedMatmulNT(qh, kh).mul_(1.0 / std::sqrt(static_cast<double>(dh)));
  // Score dropout before the mask, which a dropped (zeroed) masked score would lift.
  if (hooks.scoreDropout > 0 && is_training())
    scores = torch::dropout(scores, hooks.scoreDropout, true);
  if (bias.defined()) scores = scores + bias;
  auto probs = torch::softmax(scores, -1);
  if (hooks.weights) hooks.weights->push_back(probs.detach());
  probs = attnDrop(probs);
  auto out = batchedMatmulNN(probs, vh).transpose(1, 2).reshape({B, Lq, d_});
  return outProj(out);
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& kv,
                                              const torch::Tensor& bias, const AttentionHooks& hooks) {
  if (q.is_same(kv)) {
    auto qkv = inProj(q).chunk(3, -1);
    return attend(qkv[0], qkv[1], qkv[2], bias, hooks);
  }
  auto [k, v] = projectKeyValue(kv);
  return attend(projectQuery(q), k, v, bias, hooks);
}

TransformerLayerImpl::TransformerLayerImpl(const LayerOptions& o) : opt_(o) {
  attn = register_module("attn", MultiHeadAttention(o.d, o.heads, o.attnDropout));
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d}).eps(1e-12)));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d}).eps(1e-12)));
  ff1 = register_module("ff1", torch::nn::Linear(o.d, o.ffn));
  ff2 = register_module("ff2", torch::nn::Linear(o.ffn, o.d));
  drop = register_module("drop", torch::nn::Dropout(o.dropout));
}

torch::Tensor TransformerLayerImpl::attentionResidual(const torch::Tensor& x, const torch::Tensor& attnOut) {
  return opt_.preNorm ? x + drop(attnOut) : ln1(x + drop(attnOut));
}

torch::Tensor TransformerLayerImpl::feedForward(const torch::Tensor& h) {
  // (geluOfFresh: in place on ff1's fresh output when no gradient is recorded)
  if (opt_.preNorm) return h + drop(ff2(geluOfFresh(ff1(ln2(h)))));
  return ln2(h + drop(ff2(geluOfFresh(ff1(h)))));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& bias,
                                            const AttentionHooks& hooks, bool lastOnly) {
  const torch::Tensor in = opt_.preNorm ? ln1(x) : x;
  torch::Tensor a;
  torch::Tensor residual = x;
  if (lastOnly) {
    const int64_t L = x.size(1);
    auto q = in.narrow(1, L - 1, 1);
    auto [k, v] = attn->projectKeyValue(in);
    // A key-padding-only bias (bidirectional backbones) is [B,1,1,L] and applies to any query.
    auto b = bias.defined() && bias.size(2) > 1 ? bias.narrow(2, L - 1, 1) : bias;
    a = attn->attend(attn->projectQuery(q), k, v, b, hooks);
    residual = x.narrow(1, L - 1, 1);
  } else {
    a = attn->forward(in, in, bias, hooks);
  }
  return feedForward(attentionResidual(residual, a));
}

torch::Tensor TransformerLayerImpl::forwardCross(const torch::Tensor& q, const torch::Tensor& kv,
                                                 const torch::Tensor& bias, const AttentionHooks& hooks) {
  const torch::Tensor qin = opt_.preNorm ? ln1(q) : q;
  const torch::Tensor kvin = opt_.preNorm ? ln1(kv) : kv;
  auto [k, v] = attn->projectKeyValue(kvin);
  auto a = attn->attend(attn->projectQuery(qin), k, v, bias, hooks);
  return feedForward(attentionResidual(q, a));
}

torch::Tensor attentionBias(const torch::Tensor& items, bool causal) {
  const int64_t L = items.size(1);
  auto keyPad = items.eq(0).unsqueeze(1).unsqueeze(1);  // [B,1,1,L]
  torch::Tensor masked = keyPad;
  if (causal) {
    auto future = torch::ones({L, L}, items.options().dtype(torch::kBool)).triu(1);  // j > i
    masked = masked.logical_or(future.unsqueeze(0).unsqueeze(0));
  }
  return torch::zeros(masked.sizes(), items.options().dtype(torch::kFloat))
      .masked_fill_(masked, kMaskedScore);
}

void initWeights(torch::nn::Module& module, double std) {
  torch::NoGradGuard ng;
  auto initOne = [std](torch::nn::Module& m) {
    if (auto* lin = dynamic_cast<torch::nn::LinearImpl*>(&m)) {
      lin->weight.normal_(0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = dynamic_cast<torch::nn::EmbeddingImpl*>(&m)) {
      emb->weight.normal_(0, std);
    } else if (auto* ln = dynamic_cast<torch::nn::LayerNormImpl*>(&m)) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  };
  // Works inside constructors too (the module is not yet owned by a shared_ptr there).
  initOne(module);
  for (auto& child : module.modules(/*include_self=*/false)) initOne(*child);
}

int64_t parameterCount(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

double transformerLayerFlops(const LayerOptions& o, double L, double Lk) {
  const double d = o.d, f = o.ffn;
  const double qProj = 2 * L * d * d, kvProj = 2 * 2 * Lk * d * d, out = 2 * L * d * d;
  const double scores = 2 * L * Lk * d, mix = 2 * L * Lk * d;
  const double ffn = 2 * 2 * L * d * f;
  return qProj + kvProj + out + scores + mix + ffn;
}

}  // namespace rr
