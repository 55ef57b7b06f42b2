#include "core/model/latent_reasoning.h"

#include "core/errors.h"
#include "core/model/fused_step.h"
#include "core/model/small_matmul.h"

#include <algorithm>
#include <cmath>

namespace rr {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Rows x states of the [S, rows, N] log-probability buffer of the diversity term: 1,024 rows
// of 12k items = 50 MB, whatever the batch size and state count (4 states: 256 rows a chunk).
constexpr int64_t kKlChunkStateRows = 1024;

torch::Tensor splitHeads(const torch::Tensor& x, int heads) {  // [B,L,d] -> [B,h,L,dh]
  const int64_t B = x.size(0), L = x.size(1), d = x.size(2);
  return x.view({B, L, heads, d / heads}).transpose(1, 2);
}

/// Mean pairwise KL(p_j || sg(p_i)) as a terminal op. With g_j = S·log p_j − Σ_i log p_i, the
/// per-row value is Σ_j <p_j, g_j> / (S(S−1)) and its gradient with respect to the logits of
/// state j is p_j ⊙ (g_j − <p_j, g_j>) (the detached p_i contribute no gradient).
struct PairwiseKl : public torch::autograd::Function<PairwiseKl> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& items,
                               double scale) {
    torch::NoGradGuard ng;
    const int64_t S = h.size(0), B = h.size(1), d = h.size(2);
    const bool needH = h.requires_grad(), needItems = items.requires_grad();
    auto hd = h.detach(), itemsd = items.detach();
    torch::Tensor dh = needH ? torch::empty_like(hd) : torch::Tensor();
    torch::Tensor dItems = needItems ? torch::zeros_like(itemsd) : torch::Tensor();
    auto total = torch::zeros({}, h.options());
    const double norm = 1.0 / (static_cast<double>(S) * (S - 1) * B);
    const int64_t chunk = std::max<int64_t>(1, kKlChunkStateRows / S);
    for (int64_t start = 0; start < B; start += chunk) {
      const int64_t rows = std::min(chunk, B - start);
      auto hc = hd.narrow(1, start, rows).reshape({S * rows, d});
      auto logp = torch::log_softmax(torch::mm(hc, itemsd.t()).mul_(scale), 1).view({S, rows, -1});
      auto g = logp * static_cast<double>(S) - logp.sum(0, /*keepdim=*/true);
      auto p = logp.exp_();  // logp is not needed any more
      auto pg = (p * g).sum(2, /*keepdim=*/true);  // [S,rows,1]
      total.add_(pg.sum());
      if (!needH && !needItems) continue;
      auto grad = g.sub_(pg).mul_(p).mul_(norm * scale).view({S * rows, -1});  // dL/dlogits * scale
      if (needH) dh.narrow(1, start, rows).copy_(torch::mm(grad, itemsd).view({S, rows, d}));
      if (needItems) dItems.addmm_(grad.t(), hc);
    }
    ctx->saved_data["dh"] = dh;
    ctx->saved_data["dItems"] = dItems;
    return total * norm;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto g = grads[0];
    auto dh = ctx->saved_data["dh"].toTensor();
    auto dItems = ctx->saved_data["dItems"].toTensor();
    return {dh.defined() ? dh * g : torch::Tensor(), dItems.defined() ? dItems * g : torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

CachedTransformer::CachedTransformer(EncoderImpl& encoder)
    : enc_(dynamic_cast<SasrecEncoderImpl*>(&encoder)) {
  if (!enc_)
    throw ConfigError(QStringLiteral("model.backbone"),
                      QStringLiteral("backbone '%1' has no attention layers to reason with; use sasrec or bert4rec")
                          .arg(QString::fromStdString(encoder.spec().name)));
}

size_t CachedTransformer::layerCount() const { return enc_->layers->size(); }
int CachedTransformer::d() const { return enc_->d(); }

ItemContext CachedTransformer::encode(const torch::Tensor& items, int positionOffset, const AttentionHooks& hooks) {
  ItemContext ctx;
  const int64_t W = items.size(1);
  ctx.width = static_cast<int>(W);
  auto x = enc_->embed(items, positionOffset);
  auto bias = attentionBias(items, enc_->causal());
  const size_t n = layerCount();
  for (size_t i = 0; i < n; ++i) {
    auto& layer = *enc_->layers->ptr<TransformerLayerImpl>(i);
    auto& mha = *layer.attn;
    const torch::Tensor in = layer.options().preNorm ? layer.ln1(x) : x;
    torch::Tensor q, k, v, b = bias, residual = x;
    if (i + 1 == n) {  // only the last position is needed from the final layer
      q = mha.projectQuery(in.narrow(1, W - 1, 1));
      std::tie(k, v) = mha.projectKeyValue(in);
      if (bias.size(2) > 1) b = bias.narrow(2, W - 1, 1);  // [B,1,1,W] (bidirectional) fits any query
      residual = x.narrow(1, W - 1, 1);
    } else {
      auto qkv = mha.inProj(in).chunk(3, -1);
      q = qkv[0];
      k = qkv[1];
      v = qkv[2];
    }
    // Laid out [B,h,W,dh] contiguously once here: the encoder's own attention, every reasoning
    // step, stream and view read them, and the small-matrix kernels would otherwise copy them on
    // each read (at batch 2048, max_len 50, 26 MB a copy; four reads per layer in a PLR training
    // step). Batches of up to kFusedStepMaxRows rows keep the strided views: the fused step reads
    // them in place, and the copies would be a noticeable share of a one-request latency.
    const bool copy = items.size(0) > kFusedStepMaxRows;
    auto kh = splitHeads(k, mha.heads()), vh = splitHeads(v, mha.heads());
    if (copy) {
      kh = kh.contiguous();
      vh = vh.contiguous();
    }
    ctx.keys.push_back(kh);
    ctx.values.push_back(vh);
    AttentionHooks h;
    std::vector<torch::Tensor> w;
    if (hooks.weights) h.weights = &w;
    auto a = mha.attendHeads(q, kh, vh, b, h);  // the encoder's own attention reads the same layout
    if (hooks.weights) {  // the last query's row only: [B,h,1,W]
      auto last = w.front();
      hooks.weights->push_back(last.narrow(2, last.size(2) - 1, 1));
    }
    x = layer.feedForward(layer.attentionResidual(residual, a));
  }
  ctx.h0 = x.narrow(1, x.size(1) - 1, 1).squeeze(1);
  // The last query row of the encoder's bias is the key-padding bias: under the causal mask the
  // last position sees every key, and a bidirectional bias is [B,1,1,W] already. (Copied when
  // B > 1, so the context does not keep a training batch's [B,1,W,W] causal bias alive.)
  ctx.keyBias = bias.narrow(2, bias.size(2) - 1, 1).contiguous();
  return ctx;
}

torch::Tensor CachedTransformer::step(const ItemContext& ctx, ReasoningCache& cache, const torch::Tensor& input,
                                      const AttentionHooks& hooks, std::vector<StepAttention>* attention) {
  const size_t n = layerCount();
  if (cache.keys.size() != n) cache = ReasoningCache(n);
  const int64_t B = input.size(0), M = input.size(1), d = input.size(2);
  const int64_t W = ctx.width;
  const int stepIndex = cache.steps() + 1;
  auto x = input;
  for (size_t i = 0; i < n; ++i) {
    auto& layer = *enc_->layers->ptr<TransformerLayerImpl>(i);
    auto& mha = *layer.attn;
    const int64_t H = mha.heads(), dh = d / H;
    const torch::Tensor in = layer.options().preNorm ? layer.ln1(x) : x;
    auto qkv = mha.inProj(in).chunk(3, -1);  // one token per stream: [B,M,d] each
    cache.keys[i].push_back(qkv[1]);
    cache.values[i].push_back(qkv[2]);
    const int64_t t = static_cast<int64_t>(cache.keys[i].size());
    // Streams go in the query dimension against the shared item keys (no copy per stream) ...
    // (B·H tiny products: the batched small-matrix kernels, not one GEMM call per matrix)
    auto q = qkv[0].view({B, M, H, dh}).transpose(1, 2);  // [B,H,M,dh]
    auto sItems = batchedMatmulNT(q, ctx.keys[i]);        // [B,H,M,W]
    // ... and in the batch dimension against their own reasoning tokens (stream isolation);
    // t <= T keys per stream, so a broadcast product and a sum.
    auto kr = torch::stack(cache.keys[i], 2).view({B, M, t, H, dh}).permute({0, 3, 1, 2, 4});    // [B,H,M,t,dh]
    auto vr = torch::stack(cache.values[i], 2).view({B, M, t, H, dh}).permute({0, 3, 1, 2, 4});
    auto sReason = (q.unsqueeze(-2) * kr).sum(-1);  // [B,H,M,t]
    auto scores = torch::cat({sItems, sReason}, -1).mul_(1.0 / std::sqrt(static_cast<double>(dh)));
    // Score dropout before the padding mask: a dropped masked score would become 0 and let the
    // token attend to padding in training only.
    if (hooks.scoreDropout > 0 && mha.is_training()) scores = torch::dropout(scores, hooks.scoreDropout, true);
    scores = scores + torch::constant_pad_nd(ctx.keyBias, {0, t});  // [B,1,1,W+t]: no mask on own tokens
    auto probs = torch::softmax(scores, -1);
    if (attention) attention->push_back(StepAttention{stepIndex, static_cast<int>(i), probs.detach()});
    probs = mha.attnDrop(probs);
    auto out = batchedMatmulNN(probs.narrow(-1, 0, W), ctx.values[i]) +
               (probs.narrow(-1, W, t).unsqueeze(-1) * vr).sum(-2);  // [B,H,M,dh]
    out = mha.outProj(out.transpose(1, 2).reshape({B, M, d}));
    x = layer.feedForward(layer.attentionResidual(x, out));
  }
  return x;
}

std::vector<torch::Tensor> CachedTransformer::uncachedReference(
    const torch::Tensor& items, int positionOffset, int streams, int steps,
    const std::function<torch::Tensor(int, const torch::Tensor&)>& makeInput) {
  const int64_t B = items.size(0), W = items.size(1);
  auto xItems = enc_->embed(items, positionOffset);
  auto run = [&](const torch::Tensor& seq, const torch::Tensor& bias) {
    auto x = seq;
    for (size_t i = 0; i < layerCount(); ++i) x = enc_->layers->ptr<TransformerLayerImpl>(i)->forward(x, bias);
    return x;
  };
  auto itemBias = attentionBias(items, enc_->causal());  // [B,1,W,W]
  auto h0 = run(xItems, itemBias).select(1, W - 1);     // [B,d]
  std::vector<torch::Tensor> inputs, states;
  auto previous = h0.unsqueeze(1).expand({B, streams, h0.size(1)});
  auto keyPad = items.eq(0).view({B, 1, 1, W});
  for (int t = 1; t <= steps; ++t) {
    inputs.push_back(makeInput(t, previous));  // [B,M,d]
    std::vector<torch::Tensor> perStream;
    for (int m = 0; m < streams; ++m) {
      std::vector<torch::Tensor> parts{xItems};
      for (const auto& in : inputs) parts.push_back(in.select(1, m).unsqueeze(1));
      auto seq = torch::cat(parts, 1);  // [B, W+t, d]
      const int64_t Lt = W + t;
      // Masked (true) where a query may not look: items never see reasoning tokens; reasoning
      // token j sees non-padding items and reasoning tokens <= j.
      auto masked = torch::zeros({B, 1, Lt, Lt}, items.options().dtype(torch::kBool));
      masked.narrow(2, 0, W).narrow(3, 0, W).copy_(itemBias.eq(kMaskedScore));
      masked.narrow(2, 0, W).narrow(3, W, t).fill_(true);
      masked.narrow(2, W, t).narrow(3, 0, W).copy_(keyPad.expand({B, 1, t, W}));
      auto future = torch::ones({t, t}, masked.options()).triu(1);
      masked.narrow(2, W, t).narrow(3, W, t).copy_(future.view({1, 1, t, t}).expand({B, 1, t, t}));
      auto bias = torch::zeros({B, 1, Lt, Lt}, seq.options()).masked_fill_(masked, kMaskedScore);
      perStream.push_back(run(seq, bias).select(1, Lt - 1));
    }
    previous = torch::stack(perStream, 1);
    states.push_back(previous);
  }
  return states;
}

double CachedTransformer::tokenFlops(double keys) const {
  const auto& o = enc_->spec().layer;
  const double d = o.d, f = o.ffn;
  // q, k, v and output projections of one token, scores and mixing over `keys`, feed-forward.
  const double perLayer = 2 * 4 * d * d + 2 * 2 * keys * d + 2 * 2 * d * f;
  return static_cast<double>(layerCount()) * perLayer;
}

torch::Tensor pairwiseKlDiversity(const torch::Tensor& states, const torch::Tensor& table, double scale) {
  TORCH_CHECK(states.dim() == 3 && states.size(0) >= 2 && table.dim() == 2 && states.size(2) == table.size(1),
              "pairwiseKlDiversity: expected states [S>=2,B,d] and table [N+1,d]");
  return PairwiseKl::apply(states, table.narrow(0, 1, table.size(0) - 1), scale);
}

torch::Tensor symmetricInfoNce(const torch::Tensor& a, const torch::Tensor& b, double temperature, bool cosine) {
  TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes(), "symmetricInfoNce: expected two [G,B,d] views");
  auto x = a, y = b;
  if (cosine) {
    x = torch::nn::functional::normalize(a, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-8));
    y = torch::nn::functional::normalize(b, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-8));
  }
  const int64_t G = a.size(0), B = a.size(1);
  auto logits = torch::bmm(x, y.transpose(1, 2)).div(temperature);  // [G,B,B]
  auto labels = torch::arange(B, a.options().dtype(torch::kLong)).repeat({G});
  auto ab = torch::nn::functional::cross_entropy(logits.reshape({G * B, B}), labels);
  auto ba = torch::nn::functional::cross_entropy(logits.transpose(1, 2).reshape({G * B, B}), labels);
  return (ab + ba) * 0.5;
}

}  // namespace rr
