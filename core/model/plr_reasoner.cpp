#include "core/model/plr_reasoner.h"

#include "core/model/backbones.h"
#include "core/model/fused_step.h"
#include "core/model/scoring.h"

#include <algorithm>

namespace rr {

PlrReasonerImpl::PlrReasonerImpl(Encoder encoder, const RunConfig& cfg)
    : RecommenderImpl(cfg.getDouble(QStringLiteral("model.temperature"))),
      encoder_(std::move(encoder)),
      stack_(*encoder_),
      streams_(cfg.getInt(QStringLiteral("model.reasoner.streams"))),
      steps_(cfg.getInt(QStringLiteral("model.reasoner.steps"))),
      evalSteps_(cfg.getInt(QStringLiteral("model.reasoner.eval_steps"))),
      useGate_(cfg.getString(QStringLiteral("model.reasoner.aggregate")) == QLatin1String("gate")),
      poolH0_(cfg.getBool(QStringLiteral("model.reasoner.pool_h0"))),
      dual_(cfg.getString(QStringLiteral("model.reasoner.inference")) == QLatin1String("dual")),
      attnScoreDropout_(cfg.getDouble(QStringLiteral("model.reasoner.attn_score_dropout"))),
      rclWeight_(cfg.getDouble(QStringLiteral("train.rcl_weight"))),
      rclTemperature_(cfg.getDouble(QStringLiteral("train.rcl_temperature"))),
      divWeight_(cfg.getDouble(QStringLiteral("train.div_weight"))),
      divReward_(cfg.getString(QStringLiteral("train.div_sign")) == QLatin1String("reward")) {
  register_module("encoder", encoder_);
  const int d = encoder_->d();
  const double initStd = encoder_->spec().layer.initStd;
  triggers = register_parameter(
      "triggers", torch::randn({streams_, d}) * cfg.getDouble(QStringLiteral("model.reasoner.trigger_std")));
  rpe = register_module("rpe", torch::nn::Embedding(steps_, d));
  gateProj = register_module("gate", torch::nn::Linear(d, streams_));
  repDrop = register_module("rep_drop", torch::nn::Dropout(cfg.getDouble(QStringLiteral("model.reasoner.rep_dropout"))));
  torch::NoGradGuard ng;
  rpe->weight.normal_(0, initStd);
  gateProj->weight.normal_(0, initStd);
  gateProj->bias.zero_();
}

ItemContext PlrReasonerImpl::context(const Batch& batch, const AttentionHooks& hooks) {
  auto [items, offset] = predictionInput(*encoder_, batch);
  return stack_.encode(items, offset, hooks);
}

torch::Tensor PlrReasonerImpl::stepInput(int t, const torch::Tensor& previous) {
  // r has T rows; a deeper evaluation (depth sweep) reuses the last trained row.
  const int64_t row = std::min<int64_t>(t - 1, steps_ - 1);
  return repDrop(previous + rpe->weight[row]);
}

PlrPass PlrReasonerImpl::reason(ItemContext ctx, int steps, bool withAttention) {
  if (!withAttention && steps > 0 && !is_training() &&
      fusedStepApplies(stack_.encoder(), ctx.h0, false))
    return reasonFused(std::move(ctx), steps);
  PlrPass pass;
  const auto& h0 = ctx.h0;  // [B,d]
  auto previous = h0.unsqueeze(1) + triggers.unsqueeze(0);  // [B,M,d]: h_{0,m} = h_0 + τ_m
  ReasoningCache cache(stack_.layerCount());
  AttentionHooks hooks;
  hooks.scoreDropout = attnScoreDropout_;
  for (int t = 1; t <= steps; ++t) {
    previous = stack_.step(ctx, cache, stepInput(t, previous), hooks, withAttention ? &pass.attention : nullptr);
    pass.states.push_back(previous);
  }
  // z_m = mean_t h_{t,m} over t = 1..T, or over h_0, h_{1,m}..h_{T,m} with pool_h0.
  auto zm = torch::stack(pass.states, 0).sum(0);  // [B,M,d]
  zm = poolH0_ ? (zm + h0.unsqueeze(1)) / (steps + 1) : zm / steps;
  const int64_t B = h0.size(0);
  pass.gate = useGate_ ? torch::softmax(gateProj(h0), -1)
                       : torch::full({B, streams_}, 1.0 / streams_, h0.options());
  pass.zRea = (pass.gate.unsqueeze(-1) * zm).sum(1);
  pass.context = std::move(ctx);
  return pass;
}

PlrPass PlrReasonerImpl::reasonFused(ItemContext ctx, int steps) {
  // reason() in plain loops: the step inputs, the steps (fused_step.h), pooling and the gate.
  const auto h0 = ctx.h0.contiguous();
  const int64_t B = h0.size(0), d = h0.size(1), M = streams_, T = steps, slab = B * M * d;
  const auto trig = triggers.contiguous(), r = rpe->weight.contiguous();
  const float* h0p = h0.data_ptr<float>();
  const float* tp = trig.data_ptr<float>();
  auto all = torch::empty({T, B, M, d}, h0.options());
  float* sp = all.data_ptr<float>();
  FusedReasoningPass fused(stack_.encoder(), ctx, M, T);
  for (int64_t t = 1; t <= T; ++t) {
    // h_{t-1} + r_t with h_{0,m} = h_0 + τ_m; the last trained r serves deeper evaluations.
    const float* rt = r.data_ptr<float>() + std::min<int64_t>(t - 1, steps_ - 1) * d;
    float* x = sp + (t - 1) * slab;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t m = 0; m < M; ++m) {
        float* xr = x + (b * M + m) * d;
        if (t == 1) {
          for (int64_t k = 0; k < d; ++k) xr[k] = h0p[b * d + k] + tp[m * d + k] + rt[k];
        } else {
          const float* pr = xr - slab;
          for (int64_t k = 0; k < d; ++k) xr[k] = pr[k] + rt[k];
        }
      }
    fused.step(x);
  }
  PlrPass pass;
  for (int64_t t = 0; t < T; ++t) pass.states.push_back(all[t]);
  pass.gate = torch::empty({B, M}, h0.options());
  pass.zRea = torch::zeros({B, d}, h0.options());
  float* g = pass.gate.data_ptr<float>();
  float* z = pass.zRea.data_ptr<float>();
  const auto wg = gateProj->weight.contiguous(), bg = gateProj->bias.contiguous();
  const float* wgp = wg.data_ptr<float>();
  const float* bgp = bg.data_ptr<float>();
  const float pooled = static_cast<float>(poolH0_ ? T + 1 : T);
  for (int64_t b = 0; b < B; ++b) {
    float* gb = g + b * M;
    if (useGate_) {  // softmax(W_g h_0 + b_g)
      float top = -INFINITY;
      for (int64_t m = 0; m < M; ++m) {
        float a = bgp[m];
        for (int64_t k = 0; k < d; ++k) a += wgp[m * d + k] * h0p[b * d + k];
        top = std::max(top, gb[m] = a);
      }
      float sum = 0;
      for (int64_t m = 0; m < M; ++m) sum += (gb[m] = std::exp(gb[m] - top));
      for (int64_t m = 0; m < M; ++m) gb[m] /= sum;
    } else {
      for (int64_t m = 0; m < M; ++m) gb[m] = 1.0f / static_cast<float>(M);
    }
    // z_rea = Σ_m g_m mean_t h_{t,m}; with pool_h0 h_0 joins every stream's mean, and Σ_m g_m = 1.
    if (poolH0_)
      for (int64_t k = 0; k < d; ++k) z[b * d + k] = h0p[b * d + k] / pooled;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t m = 0; m < M; ++m) {
        const float w = gb[m] / pooled;
        const float* h = sp + t * slab + (b * M + m) * d;
        for (int64_t k = 0; k < d; ++k) z[b * d + k] += w * h[k];
      }
  }
  pass.context = std::move(ctx);
  return pass;
}

torch::Tensor PlrReasonerImpl::rankingState(const PlrPass& pass) const {
  return dual_ ? pass.context.h0 + pass.zRea : pass.zRea;
}

LossOutput PlrReasonerImpl::loss(const Batch& batch, const LossContext&) {
  LossOutput out;
  const double scale = 1.0 / temperature_;
  const auto table = itemTable();
  ItemContext ctx = context(batch);
  PlrPass view = reason(ctx, steps_);
  // Training reads z_rea only (the dual-process sum is for inference).
  auto ce = fullSoftmaxCrossEntropy(view.zRea, table, batch.target, scale);
  out.total = ce;
  out.add("ce", ce);
  auto states = torch::stack(view.states, 0);  // [T,B,M,d]
  const int64_t T = states.size(0), B = states.size(1), M = states.size(2), d = states.size(3);
  auto groups = states.permute({0, 2, 1, 3}).reshape({T * M, B, d});  // one group per (t, m)
  if (rclWeight_ > 0) {
    PlrPass other = reason(ctx, steps_);
    auto groups2 = torch::stack(other.states, 0).permute({0, 2, 1, 3}).reshape({T * M, B, d});
    auto rcl = symmetricInfoNce(groups, groups2, rclTemperature_);
    out.total = out.total + rclWeight_ * rcl;
    out.add("rcl", rcl);
  }
  if (divWeight_ > 0 && T * M >= 2) {
    auto kl = pairwiseKlDiversity(groups, table, scale);
    out.total = divReward_ ? out.total - divWeight_ * kl : out.total + divWeight_ * kl;
    out.add("div_kl", kl);
  }
  return out;
}

torch::Tensor PlrReasonerImpl::represent(const Batch& batch) {
  return rankingState(reason(context(batch), evalSteps()));
}

ReasoningTrace PlrReasonerImpl::trace(const Batch& batch, bool withAttention) {
  ReasoningTrace tr;
  std::vector<torch::Tensor> encoderWeights;
  AttentionHooks hooks;
  if (withAttention) hooks.weights = &encoderWeights;
  PlrPass pass = reason(context(batch, hooks), evalSteps(), withAttention);
  const auto& h0 = pass.context.h0;
  std::vector<torch::Tensor> rows{h0.unsqueeze(1).expand({h0.size(0), streams_, h0.size(1)})};
  rows.insert(rows.end(), pass.states.begin(), pass.states.end());
  tr.states = torch::stack(rows, 1);  // [B, T+1, M, d]; s = 0 is h_0 for every stream
  tr.final = rankingState(pass);
  tr.gate = pass.gate;
  tr.candidate.assign(rows.size(), std::vector<bool>(static_cast<size_t>(streams_), true));
  // h_0 is one state, repeated across the streams only to fill the tensor: one candidate.
  std::fill(tr.candidate[0].begin() + 1, tr.candidate[0].end(), false);
  const int W = pass.context.width;
  for (size_t l = 0; l < encoderWeights.size(); ++l) {
    AttentionRecord r;
    r.layer = static_cast<int>(l);
    r.weights = encoderWeights[l].squeeze(2);
    r.itemKeys = W;
    tr.attention.push_back(r);
  }
  for (const auto& s : pass.attention)
    for (int m = 0; m < streams_; ++m) {
      AttentionRecord r;
      r.step = s.step;
      r.stream = m;
      r.layer = s.layer;
      r.weights = s.probs.select(2, m);  // [B,h,W+t]: items, then this stream's own tokens
      r.itemKeys = W;
      tr.attention.push_back(r);
    }
  return tr;
}

std::vector<torch::Tensor> PlrReasonerImpl::uncachedStates(const Batch& batch, int steps) {
  auto [items, offset] = predictionInput(*encoder_, batch);
  return stack_.uncachedReference(items, offset, streams_, steps, [this](int t, const torch::Tensor& prev) {
    auto p = t == 1 ? prev + triggers.unsqueeze(0) : prev;
    return stepInput(t, p);
  });
}

double PlrReasonerImpl::flopsPerSample(double seqLen) const {
  const auto& s = encoder_->spec();
  double f = encoder_->flopsPerSequence(seqLen);
  const double width = std::min<double>(seqLen + (s.name == "bert4rec" ? 1 : 0), s.maxLen);
  for (int t = 1; t <= evalSteps(); ++t) f += streams_ * stack_.tokenFlops(width + t);
  f += 2.0 * s.layer.d * streams_;  // gate
  return f + rankingFlops(s.layer.d, s.numItems);
}

double PlrReasonerImpl::trainingFlopsPerSample(double seqLen, double) const {
  const auto& s = encoder_->spec();
  const double ranking = rankingFlops(s.layer.d, s.numItems);
  const double width = std::min<double>(seqLen, s.maxLen);
  double reasoning = 0;
  for (int t = 1; t <= steps_; ++t) reasoning += streams_ * stack_.tokenFlops(width + t);
  const double views = rclWeight_ > 0 ? 2 : 1;
  const double kl = divWeight_ > 0 && steps_ * streams_ >= 2 ? steps_ * streams_ * ranking : 0;
  return 3.0 * (encoder_->flopsPerSequence(seqLen) + views * reasoning + ranking + kl);
}

namespace {
const bool kRegistered = [] {
  registerRecommender("plr", [](const RunConfig& cfg, int numItems) -> Recommender {
    return std::make_shared<PlrReasonerImpl>(makeEncoder(BackboneSpec::fromConfig(cfg, numItems)), cfg);
  });
  return true;
}();
}  // namespace

}  // namespace rr
