#include "core/model/rearec_reasoner.h"

#include "core/model/backbones.h"
#include "core/model/cpu_kernels.h"
#include "core/model/fused_step.h"
#include "core/model/scoring.h"

#include <cmath>

namespace rr {

RearecReasonerImpl::RearecReasonerImpl(Encoder encoder, const RunConfig& cfg, Mode mode)
    : RecommenderImpl(cfg.getDouble(QStringLiteral("model.temperature"))),
      encoder_(std::move(encoder)),
      stack_(*encoder_),
      mode_(mode),
      steps_(cfg.getInt(QStringLiteral("model.reasoner.steps"))),
      evalSteps_(cfg.getInt(QStringLiteral("model.reasoner.eval_steps"))),
      alpha_(cfg.getDouble(QStringLiteral("model.reasoner.prl_alpha"))),
      noise_(cfg.getDouble(QStringLiteral("model.reasoner.prl_noise"))),
      rclWeight_(cfg.getDouble(QStringLiteral("train.rcl_weight"))),
      rclTemperature_(cfg.getDouble(QStringLiteral("train.rcl_temperature"))),
      divWeight_(cfg.getDouble(QStringLiteral("train.div_weight"))),
      divReward_(cfg.getString(QStringLiteral("train.div_sign")) == QLatin1String("reward")),
      warmup_(cfg.getInt(QStringLiteral("model.reasoner.prl_warmup"))) {
  register_module("encoder", encoder_);
  const int d = encoder_->d();
  rpe = register_module("rpe", torch::nn::Embedding(steps_, d));
  inputNorm = register_module("input_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-12)));
  inputDrop = register_module("input_drop", torch::nn::Dropout(cfg.getDouble(QStringLiteral("model.reasoner.input_dropout"))));
  torch::NoGradGuard ng;
  rpe->weight.normal_(0, encoder_->spec().layer.initStd);
}

ItemContext RearecReasonerImpl::context(const Batch& batch, const AttentionHooks& hooks) {
  auto [items, offset] = predictionInput(*encoder_, batch);
  return stack_.encode(items, offset, hooks);
}

torch::Tensor RearecReasonerImpl::stepInput(int t, const torch::Tensor& previous) {
  // RPE has T rows; a deeper evaluation (depth sweep) reuses the last trained row.
  const int64_t row = std::min<int64_t>(t - 1, steps_ - 1);
  return inputDrop(inputNorm(previous + rpe->weight[row]));
}

std::vector<torch::Tensor> RearecReasonerImpl::reason(const ItemContext& ctx, int steps, double noiseStd,
                                                      std::vector<StepAttention>* attention) {
  // Inference on the CPU: the whole pass in plain loops (fused_step.h).
  if (attention == nullptr && noiseStd == 0 && steps > 0 && fusedStepApplies(stack_.encoder(), ctx.h0, false))
    return reasonFused(ctx, steps);
  std::vector<torch::Tensor> states{ctx.h0};
  ReasoningCache cache(stack_.layerCount());
  for (int t = 1; t <= steps; ++t) {
    auto x = stepInput(t, states.back().unsqueeze(1));  // [B,1,d]
    if (noiseStd > 0) x = x + torch::randn_like(x) * noiseStd;
    states.push_back(stack_.step(ctx, cache, x, {}, attention).squeeze(1));
  }
  return states;
}

std::vector<torch::Tensor> RearecReasonerImpl::reasonFused(const ItemContext& ctx, int steps) {
  // reason() without LibTorch calls per step: the step inputs LN(h_{t-1} + RPE[t]) (dropout is
  // off in inference) and the steps write into one [T, B, d] buffer.
  const auto h0 = ctx.h0.contiguous();
  const int64_t B = h0.size(0), d = h0.size(1), slab = B * d;
  const auto r = rpe->weight.contiguous(), gain = inputNorm->weight.contiguous(), shift = inputNorm->bias.contiguous();
  const float eps = static_cast<float>(inputNorm->options.eps());
  auto all = torch::empty({steps, B, d}, h0.options());
  float* sp = all.data_ptr<float>();
  FusedReasoningPass fused(stack_.encoder(), ctx, 1, steps);
  for (int64_t t = 1; t <= steps; ++t) {
    // RPE has T rows; a deeper evaluation (depth sweep) reuses the last trained row.
    const float* rt = r.data_ptr<float>() + std::min<int64_t>(t - 1, steps_ - 1) * d;
    const float* previous = t == 1 ? h0.data_ptr<float>() : sp + (t - 2) * slab;
    float* x = sp + (t - 1) * slab;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < d; ++k) x[b * d + k] = previous[b * d + k] + rt[k];
    layerNormRows(x, gain.data_ptr<float>(), shift.data_ptr<float>(), B, d, eps);
    fused.step(x);
  }
  std::vector<torch::Tensor> states{ctx.h0};
  for (int64_t t = 0; t < steps; ++t) states.push_back(all[t]);
  return states;
}

torch::Tensor RearecReasonerImpl::rankingState(const std::vector<torch::Tensor>& states) const {
  if (mode_ == Mode::Progressive) return states.back();
  const auto& first = states.front();
  if (fusedStepEnabled() && !torch::GradMode::is_enabled() && first.device().is_cpu() &&
      first.scalar_type() == torch::kFloat && first.dim() == 2) {
    // Inference on the CPU: the mean in one loop (stack + mean were ~20 us at batch 1).
    auto mean = torch::zeros_like(first, at::MemoryFormat::Contiguous);
    float* out = mean.data_ptr<float>();
    const int64_t n = mean.numel();
    for (const auto& s : states) {
      const auto c = s.contiguous();
      const float* p = c.data_ptr<float>();
      for (int64_t i = 0; i < n; ++i) out[i] += p[i];
    }
    const float inv = 1.0f / static_cast<float>(states.size());
    for (int64_t i = 0; i < n; ++i) out[i] *= inv;
    return mean;
  }
  return torch::stack(states, 0).mean(0);
}

LossOutput RearecReasonerImpl::loss(const Batch& batch, const LossContext& ctx) {
  LossOutput out;
  const double scale = 1.0 / temperature_;
  const auto table = itemTable();
  const ItemContext c = context(batch);
  const auto states = reason(c, steps_);
  if (mode_ == Mode::Ensemble) {
    auto ce = fullSoftmaxCrossEntropy(rankingState(states), table, batch.target, scale);
    out.total = ce;
    out.add("ce", ce);
    if (divWeight_ > 0) {
      auto kl = pairwiseKlDiversity(torch::stack(states, 0), table, scale);
      out.total = divReward_ ? out.total - divWeight_ * kl : out.total + divWeight_ * kl;
      out.add("div_kl", kl);
    }
    return out;
  }
  // Progressive temperature: step t's logits are divided by τ·α^(T−t).
  torch::Tensor ce;
  for (int t = 0; t <= steps_; ++t) {
    const double tau = temperature_ * std::pow(alpha_, steps_ - t);
    auto term = fullSoftmaxCrossEntropy(states[static_cast<size_t>(t)], table, batch.target, 1.0 / tau);
    ce = ce.defined() ? ce + term : term;
  }
  out.total = ce;
  out.add("ce", ce);
  if (rclWeight_ > 0 && ctx.epoch > warmup_) {
    // Second view: same cached context, noisy reasoning inputs; InfoNCE per reasoning step.
    const auto noisy = reason(c, steps_, noise_);
    auto clean = torch::stack(std::vector<torch::Tensor>(states.begin() + 1, states.end()), 0);
    auto other = torch::stack(std::vector<torch::Tensor>(noisy.begin() + 1, noisy.end()), 0);
    auto rcl = symmetricInfoNce(clean, other, rclTemperature_);
    out.total = out.total + rclWeight_ * rcl;
    out.add("rcl", rcl);
  }
  return out;
}

torch::Tensor RearecReasonerImpl::represent(const Batch& batch) {
  return rankingState(reason(context(batch), evalSteps()));
}

ReasoningTrace RearecReasonerImpl::trace(const Batch& batch, bool withAttention) {
  ReasoningTrace tr;
  std::vector<torch::Tensor> encoderWeights;
  std::vector<StepAttention> stepWeights;
  AttentionHooks hooks;
  if (withAttention) hooks.weights = &encoderWeights;
  const ItemContext c = context(batch, hooks);
  const auto states = reason(c, evalSteps(), 0, withAttention ? &stepWeights : nullptr);
  tr.states = torch::stack(states, 1).unsqueeze(2);  // [B, T+1, 1, d]
  tr.final = rankingState(states);
  // Every step's state is trained to rank (PRL directly, ERL through the mean and the KL term).
  tr.candidate.assign(states.size(), std::vector<bool>{true});
  for (size_t l = 0; l < encoderWeights.size(); ++l) {
    AttentionRecord r;
    r.step = 0;
    r.layer = static_cast<int>(l);
    r.weights = encoderWeights[l].squeeze(2);
    r.itemKeys = c.width;
    tr.attention.push_back(r);
  }
  for (const auto& s : stepWeights) {
    AttentionRecord r;
    r.step = s.step;
    r.layer = s.layer;
    r.weights = s.probs.select(2, 0);  // [B,h,W+t]
    r.itemKeys = c.width;
    tr.attention.push_back(r);
  }
  return tr;
}

std::vector<torch::Tensor> RearecReasonerImpl::uncachedStates(const Batch& batch, int steps) {
  auto [items, offset] = predictionInput(*encoder_, batch);
  return stack_.uncachedReference(items, offset, 1, steps,
                                  [this](int t, const torch::Tensor& prev) { return stepInput(t, prev); });
}

double RearecReasonerImpl::flopsPerSample(double seqLen) const {
  const auto& s = encoder_->spec();
  double f = encoder_->flopsPerSequence(seqLen);
  const double width = std::min<double>(seqLen + (s.name == "bert4rec" ? 1 : 0), s.maxLen);
  for (int t = 1; t <= evalSteps(); ++t) f += stack_.tokenFlops(width + t);
  return f + rankingFlops(s.layer.d, s.numItems);
}

double RearecReasonerImpl::trainingFlopsPerSample(double seqLen, double) const {
  const auto& s = encoder_->spec();
  const double ranking = rankingFlops(s.layer.d, s.numItems);
  const double body = flopsPerSample(seqLen) - ranking;
  double extra = 0;
  if (mode_ == Mode::Ensemble) extra = divWeight_ > 0 ? (steps_ + 1) * ranking : 0;  // KL over T+1 states
  else extra = steps_ * ranking;  // T+1 progressive CE terms instead of one
  const double width = std::min<double>(seqLen, s.maxLen);
  double noisy = 0;
  if (mode_ == Mode::Progressive && rclWeight_ > 0)
    for (int t = 1; t <= steps_; ++t) noisy += stack_.tokenFlops(width + t);
  return 3.0 * (body + ranking + extra + noisy);
}

namespace {
const bool kRegistered = [] {
  registerRecommender("erl", [](const RunConfig& cfg, int numItems) -> Recommender {
    return std::make_shared<RearecReasonerImpl>(makeEncoder(BackboneSpec::fromConfig(cfg, numItems)), cfg,
                                                RearecReasonerImpl::Mode::Ensemble);
  });
  registerRecommender("prl", [](const RunConfig& cfg, int numItems) -> Recommender {
    return std::make_shared<RearecReasonerImpl>(makeEncoder(BackboneSpec::fromConfig(cfg, numItems)), cfg,
                                                RearecReasonerImpl::Mode::Progressive);
  });
  return true;
}();
}  // namespace

}  // namespace rr
