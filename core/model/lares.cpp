#include "core/model/lares.h"
#include "core/model/latent_reasoning.h"

#include "core/errors.h"
#include "core/model/fmlp_encoder.h"
#include "core/model/scoring.h"

#include <algorithm>
#include <cmath>

namespace rr {
namespace {

constexpr double kT0TruncateSigmas = 3.0;  // T_0 ~ truncated normal cut at ±3σ₁ (LARES code)
constexpr int kT0RedrawRounds = 8;         // redraws of out-of-range entries before clamping

LaresOptions::Combine parseCombine(const QString& s) {
  if (s == QLatin1String("add")) return LaresOptions::Combine::Add;
  if (s == QLatin1String("concat")) return LaresOptions::Combine::Concat;
  if (s == QLatin1String("gated")) return LaresOptions::Combine::Gated;
  throw ConfigError(QStringLiteral("model.reasoner.combine"), QStringLiteral("'%1' is not one of add, concat, gated").arg(s));
}

/// Generator state of the device a tensor lives on (dropout masks come from it).
at::Generator deviceGenerator(const torch::Tensor& t) {
  return t.device().is_cpu() ? at::detail::getDefaultCPUGenerator() : at::globalContext().defaultGenerator(t.device());
}

}  // namespace

/// One reasoning step whose activations are not kept: forward runs without a graph, backward
/// re-runs the step with the generator state of the forward (same dropout masks) and
/// back-propagates through it, accumulating the parameters' gradients directly.
struct RecomputedStep : public torch::autograd::Function<RecomputedStep> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t, const torch::Tensor& h,
                               const torch::Tensor& bias, int64_t self) {
    auto* model = reinterpret_cast<LaresReasonerImpl*>(self);
    at::Generator gen = deviceGenerator(t);
    torch::Tensor rng;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      rng = gen.get_state();
    }
    ctx->saved_data["rng"] = rng;
    ctx->saved_data["self"] = self;
    ctx->save_for_backward({t, h, bias});
    torch::NoGradGuard ng;
    return model->stepForward(t, h, bias.numel() > 0 ? bias : torch::Tensor(), {}, false);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto* model = reinterpret_cast<LaresReasonerImpl*>(ctx->saved_data["self"].toInt());
    auto saved = ctx->get_saved_variables();
    auto t = saved[0].detach().requires_grad_(true);
    auto h = saved[1].detach().requires_grad_(true);
    at::Generator gen = deviceGenerator(t);
    torch::Tensor now;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      now = gen.get_state();
      gen.set_state(ctx->saved_data["rng"].toTensor());
    }
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = model->stepForward(t, h, saved[2].numel() > 0 ? saved[2] : torch::Tensor(), {}, false);
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(now);
    }
    torch::autograd::backward({out}, {grads[0]});
    return {t.grad(), h.grad(), torch::Tensor(), torch::Tensor()};
  }
};

// ---------------------------------------------------------------- step sampler

int StepSampler::cap() const { return std::max(1, static_cast<int>(std::lround(capFactor * mean))); }

StepSampler::Kind StepSampler::parse(const QString& name) {
  if (name == QLatin1String("lognormal_poisson")) return Kind::LognormalPoisson;
  if (name == QLatin1String("constant")) return Kind::Constant;
  if (name == QLatin1String("uniform")) return Kind::Uniform;
  throw ConfigError(QStringLiteral("model.reasoner.sampler"),
                    QStringLiteral("'%1' is not one of lognormal_poisson, constant, uniform").arg(name));
}

std::vector<int> StepSampler::sample(int n) const {
  std::vector<int> out(static_cast<size_t>(n), mean);
  if (kind == Kind::Constant || n == 0) return out;
  torch::NoGradGuard ng;
  torch::Tensor k;
  if (kind == Kind::LognormalPoisson) {
    auto xi = torch::randn({n}, torch::kDouble) * sigma + (std::log(static_cast<double>(mean)) - sigma * sigma / 2);
    k = torch::poisson(xi.exp()) + 1;
  } else {
    k = torch::randint(1, 2 * mean, {n}, torch::kDouble);
  }
  k = k.clamp(1, cap()).to(torch::kInt);
  const int* p = k.data_ptr<int>();
  std::copy(p, p + n, out.begin());
  return out;
}

// ---------------------------------------------------------------- losses

// ---------------------------------------------------------------- positive index

void PositiveIndex::build(const SequenceData& data, const DataSplit& split) {
  byItem_.assign(static_cast<size_t>(data.numItems) + 1, {});
  for (int u = 0; u < data.numUsers(); ++u) {
    const auto& seq = data.sequences[static_cast<size_t>(u)];
    const int end = split.trainEnd[static_cast<size_t>(u)];
    for (int j = 1; j < end; ++j) byItem_[static_cast<size_t>(seq[static_cast<size_t>(j)])].push_back(TrainUnit{u, j + 1});
  }
}

const std::vector<TrainUnit>& PositiveIndex::samplesFor(int item) const {
  static const std::vector<TrainUnit> none;
  if (item < 0 || static_cast<size_t>(item) >= byItem_.size()) return none;
  return byItem_[static_cast<size_t>(item)];
}

std::pair<torch::Tensor, std::vector<bool>> PositiveIndex::positives(const Batch& batch, const BatchBuilder& builder,
                                                                     const std::vector<double>& draws) const {
  const int64_t B = batch.size();
  auto target = batch.target.to(torch::kCPU).contiguous();
  auto users = batch.users.to(torch::kCPU).contiguous();
  const int64_t* tp = target.data_ptr<int64_t>();
  const int64_t* up = users.data_ptr<int64_t>();
  std::vector<TrainUnit> chosen(static_cast<size_t>(B));
  std::vector<bool> found(static_cast<size_t>(B), false);
  for (int64_t b = 0; b < B; ++b) {
    const auto& list = samplesFor(static_cast<int>(tp[b]));
    const size_t n = list.size();
    size_t j = std::min(n > 0 ? n - 1 : 0, static_cast<size_t>(draws[static_cast<size_t>(b)] * static_cast<double>(n)));
    // Prefer another user's sample: step to the next entry when the draw hit the same user.
    for (size_t tries = 0; n > 1 && tries < n && list[j].user == up[b]; ++tries) j = (j + 1) % n;
    if (n > 0 && list[j].user != up[b]) {
      chosen[static_cast<size_t>(b)] = list[j];
      found[static_cast<size_t>(b)] = true;
    }
  }
  // Rows without a positive reuse their own input; build the others from the index.
  std::vector<TrainUnit> units;
  std::vector<int64_t> rowsWithPositive;
  for (int64_t b = 0; b < B; ++b)
    if (found[static_cast<size_t>(b)]) {
      rowsWithPositive.push_back(static_cast<int64_t>(units.size()));
      units.push_back(chosen[static_cast<size_t>(b)]);
    }
  auto xItems = batch.items.to(torch::kCPU).contiguous();
  const int64_t Wx = xItems.size(1);
  int64_t W = Wx;
  torch::Tensor posItems;
  if (!units.empty()) {
    posItems = builder.trainBatch(units, rowsWithPositive, TargetMode::Last).items.contiguous();
    W = std::max(W, posItems.size(1));
  }
  auto out = torch::zeros({B, W}, torch::kLong);
  int64_t* op = out.data_ptr<int64_t>();
  const int64_t* xp = xItems.data_ptr<int64_t>();
  const int64_t* pp = posItems.defined() ? posItems.data_ptr<int64_t>() : nullptr;
  const int64_t Wp = posItems.defined() ? posItems.size(1) : 0;
  int64_t next = 0;
  for (int64_t b = 0; b < B; ++b) {  // right-align each row (left padding)
    const bool pos = found[static_cast<size_t>(b)];
    const int64_t w = pos ? Wp : Wx;
    const int64_t* src = pos ? pp + (next++) * Wp : xp + b * Wx;
    std::copy(src, src + w, op + b * W + (W - w));
  }
  return {out.to(batch.items.device()), found};
}

// ---------------------------------------------------------------- options

LaresOptions LaresOptions::fromConfig(const RunConfig& cfg) {
  LaresOptions o;
  o.preLayers = cfg.getInt(QStringLiteral("model.reasoner.pre_layers"));
  o.coreLayers = cfg.getInt(QStringLiteral("model.reasoner.core_layers"));
  o.steps = cfg.getInt(QStringLiteral("model.reasoner.steps"));
  o.evalSteps = cfg.getInt(QStringLiteral("model.reasoner.eval_steps"));
  const bool hybrid = cfg.getString(QStringLiteral("model.reasoner.kind")) == QLatin1String("hybrid");
  o.streams = hybrid ? cfg.getInt(QStringLiteral("model.reasoner.streams")) : 1;
  o.gate = cfg.getString(QStringLiteral("model.reasoner.aggregate")) == QLatin1String("gate");
  o.triggerStd = cfg.getDouble(QStringLiteral("model.reasoner.trigger_std"));
  o.combine = parseCombine(cfg.getString(QStringLiteral("model.reasoner.combine")));
  o.t0RandomAtEval = cfg.getString(QStringLiteral("model.reasoner.t0_eval")) == QLatin1String("random");
  o.t0Std = cfg.getDouble(QStringLiteral("model.reasoner.t0_std"));
  o.t0Scale = cfg.getDouble(QStringLiteral("model.reasoner.t0_scale"));
  o.sampler.kind = StepSampler::parse(cfg.getString(QStringLiteral("model.reasoner.sampler")));
  o.sampler.mean = o.steps;
  o.sampler.sigma = cfg.getDouble(QStringLiteral("model.reasoner.sampler_sigma"));
  o.sampler.capFactor = cfg.getDouble(QStringLiteral("model.reasoner.max_steps_factor"));
  o.tlaWeight = cfg.getDouble(QStringLiteral("train.tla_weight"));
  o.slaWeight = cfg.getDouble(QStringLiteral("train.sla_weight"));
  o.tlaTemperature = cfg.getDouble(QStringLiteral("train.tla_temperature"));
  o.slaTemperature = cfg.getDouble(QStringLiteral("train.sla_temperature"));
  o.tlaCosine = cfg.getString(QStringLiteral("train.tla_similarity")) == QLatin1String("cosine");
  o.recomputeSteps = cfg.getBool(QStringLiteral("model.reasoner.recompute_steps"));
  if (hybrid) {
    o.rclWeight = cfg.getDouble(QStringLiteral("train.rcl_weight"));
    o.rclTemperature = cfg.getDouble(QStringLiteral("train.rcl_temperature"));
    o.divWeight = cfg.getDouble(QStringLiteral("train.div_weight"));
    o.divReward = cfg.getString(QStringLiteral("train.div_sign")) == QLatin1String("reward");
  }
  return o;
}

// ---------------------------------------------------------------- model

LaresReasonerImpl::LaresReasonerImpl(Encoder encoder, LaresOptions options, TargetMode targets, double temperature)
    : RecommenderImpl(temperature), encoder_(std::move(encoder)), opt_(std::move(options)), targets_(targets) {
  if (targets_ == TargetMode::AllPositions && !encoder_->causal())
    throw ConfigError(QStringLiteral("train.targets"),
                      QStringLiteral("all_positions needs a causal backbone; '%1' mixes all positions, use last")
                          .arg(QString::fromStdString(encoder_->spec().name)));
  register_module("encoder", encoder_);
  const int d = encoder_->d();
  core_ = register_module("core", encoder_->makeLayers(opt_.coreLayers));
  stepNorm_ = register_module("step_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-12)));
  if (opt_.combine == LaresOptions::Combine::Concat) {
    concat_ = register_module("combine", torch::nn::Linear(2 * d, d));
    initWeights(*concat_, encoder_->spec().layer.initStd);
  }
  if (opt_.combine == LaresOptions::Combine::Gated) gatedW_ = register_parameter("combine_gate", torch::zeros({d}));
  if (opt_.streams > 1) {
    triggers_ = register_parameter("triggers", torch::randn({opt_.streams, d}) * opt_.triggerStd);
    if (opt_.gate) {
      gateLinear_ = register_module("gate", torch::nn::Linear(d, opt_.streams));
      initWeights(*gateLinear_, encoder_->spec().layer.initStd);
    }
  }
}

int LaresReasonerImpl::evalSteps() const {
  if (evalStepsOverride_ > 0) return evalStepsOverride_;
  return opt_.evalSteps > 0 ? opt_.evalSteps : opt_.steps;
}

void LaresReasonerImpl::prepareTraining(const SequenceData& data, const DataSplit& split, const BatchBuilder& builder) {
  positives_.build(data, split);
  builder_ = &builder;
}

void LaresReasonerImpl::setDropout(double p) {
  for (auto& m : modules(/*include_self=*/false))
    if (auto* d = dynamic_cast<torch::nn::DropoutImpl*>(m.get())) d->options.p(p);
}

torch::Tensor LaresReasonerImpl::drawT0(int64_t rows, int64_t width) const {
  torch::NoGradGuard ng;
  auto t = torch::randn({rows, width, encoder_->d()}, torch::TensorOptions().device(stepNorm_->weight.device()));
  for (int round = 0; round < kT0RedrawRounds; ++round) {
    auto out = t.abs() > kT0TruncateSigmas;
    if (!out.any().item<bool>()) break;
    t = torch::where(out, torch::randn_like(t), t);
  }
  t.clamp_(-kT0TruncateSigmas, kT0TruncateSigmas);
  return t.mul_(opt_.t0Std * opt_.t0Scale);
}

torch::Tensor LaresReasonerImpl::applyCore(const torch::Tensor& x, const torch::Tensor& bias, const AttentionHooks& hooks,
                                           bool lastOnlyAtEnd) {
  torch::Tensor y = x;
  const size_t n = core_->size();
  for (size_t i = 0; i < n; ++i) {
    auto& layer = *core_[i];
    if (lastOnlyAtEnd && i + 1 == n)
      if (auto* tl = dynamic_cast<TransformerLayerImpl*>(&layer)) return tl->forward(y, bias, hooks, /*lastOnly=*/true);
    y = encoder_->applyLayer(layer, y, bias, hooks);
  }
  return lastOnlyAtEnd ? y.narrow(1, y.size(1) - 1, 1) : y;
}

torch::Tensor LaresReasonerImpl::stepForward(const torch::Tensor& t, const torch::Tensor& h, const torch::Tensor& bias,
                                             const AttentionHooks& hooks, bool lastOnly) {
  torch::Tensor mixed;
  switch (opt_.combine) {
    case LaresOptions::Combine::Add: mixed = (t + h) * 0.5; break;
    case LaresOptions::Combine::Concat: mixed = concat_(torch::cat({t, h}, -1)); break;
    case LaresOptions::Combine::Gated: {
      auto g = torch::sigmoid(gatedW_);
      mixed = g * t + (1 - g) * h;
      break;
    }
  }
  return applyCore(stepNorm_(mixed), bias, hooks, lastOnly);
}

torch::Tensor LaresReasonerImpl::combineStreams(const torch::Tensor& perStream, const torch::Tensor& gate) const {
  // perStream [n, M, d]; gate [n, M] or undefined.
  if (opt_.streams == 1) return perStream.select(1, 0);
  if (gate.defined()) return (perStream * gate.unsqueeze(-1)).sum(1);
  return perStream.mean(1);
}

torch::Tensor LaresPass::final() const {
  // Rows are ordered by step count (longest first): rows with k = s are [active[s], active[s-1]).
  const size_t K = steps.size();
  if (K == 0) return h0;
  if (active.front() == active.back()) return steps.back();
  std::vector<torch::Tensor> parts;
  for (size_t s = K; s >= 1; --s) {
    const int64_t hi = active[s - 1];
    const int64_t lo = s < K ? active[s] : 0;
    if (hi > lo) parts.push_back(steps[s - 1].narrow(0, lo, hi - lo));
  }
  return torch::cat(parts, 0);
}

LaresPass LaresReasonerImpl::recur(const torch::Tensor& items, int positionOffset, const std::vector<int64_t>& active,
                                   const torch::Tensor& T0in, bool allTokens, const AttentionHooks& hooks) {
  const int M = opt_.streams;
  const int64_t R = items.size(0);
  const bool filter = !encoder_->causal();  // FMLP-Rec: the filter needs the full max_len width
  torch::Tensor x = filter ? padToMaxLen(items, encoder_->spec().maxLen) : items;
  const int offset = filter ? 0 : positionOffset;
  const int64_t W = x.size(1);
  LaresPass pass;
  pass.active = active;
  EncodeOptions eo;
  eo.hooks = hooks;
  torch::Tensor H = encoder_->encode(x, offset, eo);  // pre-block = the encoder's own layers
  if (hooks.weights) pass.attentionStepMarks.push_back(static_cast<int>(hooks.weights->size()));
  pass.h0 = H.select(1, W - 1);
  if (M > 1 && opt_.gate) pass.gate = torch::softmax(gateLinear_(pass.h0), -1);
  torch::Tensor bias = filter ? torch::Tensor() : attentionBias(x, /*causal=*/true);
  if (M > 1) {  // fold streams into the batch: row r·M + m
    H = H.repeat_interleave(M, 0);
    if (bias.defined()) bias = bias.repeat_interleave(M, 0);
  }
  torch::Tensor T;
  if (T0in.defined()) {
    T = filter ? torch::constant_pad_nd(T0in, {0, 0, W - T0in.size(1), 0}, 0) : T0in;
  } else if (is_training() || opt_.t0RandomAtEval || forceRandomT0_) {
    T = drawT0(R * M, W);
  } else {
    T = torch::zeros({R * M, W, encoder_->d()}, H.options());
  }
  if (M > 1) T = T + triggers_.repeat({R, 1}).unsqueeze(1);

  const size_t K = active.size();
  const bool lastOnlyAtEnd = !allTokens && !is_training() && !filter;
  for (size_t s = 1; s <= K; ++s) {
    const int64_t n = active[s - 1] * M;
    auto t = n == T.size(0) ? T : T.narrow(0, 0, n);
    auto h = n == H.size(0) ? H : H.narrow(0, 0, n);
    auto b = bias.defined() && n != bias.size(0) ? bias.narrow(0, 0, n) : bias;
    const bool lastOnly = lastOnlyAtEnd && s == K;
    const bool recompute = opt_.recomputeSteps && is_training() && torch::GradMode::is_enabled() && !hooks.weights;
    // (autograd functions take defined tensors only: no bias = an empty placeholder)
    auto out = recompute ? RecomputedStep::apply(t, h, b.defined() ? b : torch::empty({0}, h.options()),
                                                 reinterpret_cast<int64_t>(this))
                         : stepForward(t, h, b, hooks, lastOnly);
    if (hooks.weights) pass.attentionStepMarks.push_back(static_cast<int>(hooks.weights->size()));
    auto last = out.select(1, out.size(1) - 1).reshape({active[s - 1], M, -1});
    pass.streamSteps.push_back(last);
    auto g = pass.gate.defined() && active[s - 1] != R ? pass.gate.narrow(0, 0, active[s - 1]) : pass.gate;
    pass.steps.push_back(combineStreams(last, g));
    if (!lastOnly) T = n == T.size(0) ? out : torch::cat({out, T.narrow(0, n, T.size(0) - n)}, 0);
  }
  if (allTokens) {
    TORCH_CHECK(active.front() == active.back(), "allTokens needs a common step count");
    auto allT = T.reshape({R, M, W, -1});
    if (M == 1) {
      pass.allTokens = allT.select(1, 0);
    } else if (pass.gate.defined()) {
      // Each position uses the gate of its own prefix: softmax(W_g H[:, i]).
      auto gAll = torch::softmax(gateLinear_(H.view({R, M, W, -1}).select(1, 0)), -1);  // [R,W,M]
      pass.allTokens = (allT * gAll.permute({0, 2, 1}).unsqueeze(-1)).sum(1);
    } else {
      pass.allTokens = allT.mean(1);
    }
    if (filter) pass.allTokens = pass.allTokens.narrow(1, W - items.size(1), items.size(1));
  }
  return pass;
}

torch::Tensor LaresReasonerImpl::tlaLoss(const torch::Tensor& view, const torch::Tensor& positive) const {
  return symmetricInfoNce(view.unsqueeze(0), positive.unsqueeze(0), opt_.tlaTemperature, opt_.tlaCosine);
}

torch::Tensor LaresReasonerImpl::slaLoss(const torch::Tensor& intermediate, const torch::Tensor& last) const {
  return symmetricInfoNce(intermediate.unsqueeze(0), last.unsqueeze(0), opt_.slaTemperature, /*cosine=*/false);
}

torch::Tensor LaresReasonerImpl::finalStatesByLength(const torch::Tensor& items, int maxLen, int k) {
  // Rows sorted by length and cut into groups, each trimmed to its own longest row: positions
  // are right-aligned and padding is masked, so a row's states do not depend on its group.
  constexpr int64_t kGroups = 4;
  const int64_t P = items.size(0), W = items.size(1);
  auto lengths = items.gt(0).sum(1).to(torch::kCPU);
  auto order = lengths.argsort().contiguous();
  const int64_t* op = order.data_ptr<int64_t>();
  const int64_t* lp = lengths.data_ptr<int64_t>();
  const int64_t per = (P + kGroups - 1) / kGroups;
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < P; begin += per) {
    const int64_t end = std::min(P, begin + per);
    const int64_t w = std::max<int64_t>(1, lp[op[end - 1]]);  // sorted ascending: the last is the longest
    auto idx = order.slice(0, begin, end).to(items.device());
    auto group = items.index_select(0, idx).narrow(1, W - w, w);
    parts.push_back(recur(group, maxLen - static_cast<int>(w), std::vector<int64_t>(static_cast<size_t>(k), end - begin))
                        .steps.back());
  }
  return torch::cat(parts, 0).index_select(0, order.argsort().to(items.device()));
}

LossOutput LaresReasonerImpl::loss(const Batch& batch, const LossContext&) {
  LossOutput out;
  const int64_t B = batch.size();
  const int k = opt_.sampler.sampleOne();
  const bool tla = opt_.tlaWeight > 0 && builder_ != nullptr && B > 1;
  const bool sla = opt_.slaWeight > 0 && k > 1 && B > 1;
  const bool all = targets_ == TargetMode::AllPositions && batch.targets.defined();
  const bool rcl = opt_.streams > 1 && opt_.rclWeight > 0 && B > 1;
  const bool div = opt_.streams > 1 && opt_.divWeight > 0;

  // x and its second stochastic view run as one batch at the batch's width, with the same k.
  const torch::Tensor items = tla || rcl ? torch::cat({batch.items, batch.items}, 0) : batch.items;
  const int offset = batch.maxLen - static_cast<int>(items.size(1));
  LaresPass pass = recur(items, offset, std::vector<int64_t>(static_cast<size_t>(k), items.size(0)), {}, all);
  const double scale = 1.0 / temperature_;
  auto p = pass.steps.back();  // [B or 2B, d]
  torch::Tensor ce;
  if (all) {
    auto Z = pass.allTokens.narrow(0, 0, B);
    auto sel = batch.targets.gt(0);
    ce = fullSoftmaxCrossEntropy(Z.index({sel}), itemTable(), batch.targets.index({sel}), scale);
  } else {
    ce = fullSoftmaxCrossEntropy(p.narrow(0, 0, B), itemTable(), batch.target, scale);
  }
  out.add("ce", ce);
  out.total = ce;
  if (tla) {
    // The positives x⁺ (other users' samples with the same target) have their own lengths; run
    // them grouped by length so one long positive does not pad the whole batch to max_len.
    auto draws = torch::rand({B}, torch::kDouble);
    std::vector<double> d(static_cast<size_t>(B));
    std::copy(draws.data_ptr<double>(), draws.data_ptr<double>() + B, d.begin());
    auto pos = positives_.positives(batch, *builder_, d).first;
    auto l = tlaLoss(p.narrow(0, B, B), finalStatesByLength(pos, batch.maxLen, k));
    out.add("tla", l);
    out.total = out.total + opt_.tlaWeight * l;
  }
  if (sla) {
    const int b = static_cast<int>(torch::randint(1, k, {1}, torch::kLong).item<int64_t>());
    auto l = slaLoss(pass.steps[static_cast<size_t>(b - 1)].narrow(0, 0, B), p.narrow(0, 0, B));
    out.add("sla", l);
    out.total = out.total + opt_.slaWeight * l;
  }
  if (rcl || div) {
    // Every step's per-stream states of view 1 (rows [0, B)) and view 2 (rows [B, 2B)) as
    // [k·M, B, d]: one group per (step, stream), as PLR's RCL and diversity term use them.
    std::vector<torch::Tensor> v1, v2;
    for (const auto& s : pass.streamSteps) {  // [R, M, d]
      v1.push_back(s.narrow(0, 0, B).transpose(0, 1));
      if (rcl) v2.push_back(s.narrow(0, B, B).transpose(0, 1));
    }
    auto states = torch::cat(v1, 0);
    if (rcl) {
      auto l = symmetricInfoNce(states, torch::cat(v2, 0), opt_.rclTemperature);
      out.add("rcl", l);
      out.total = out.total + opt_.rclWeight * l;
    }
    if (div) {
      auto kl = pairwiseKlDiversity(states, itemTable(), scale);
      out.add("div_kl", kl);
      out.total = opt_.divReward ? out.total - opt_.divWeight * kl : out.total + opt_.divWeight * kl;
    }
  }
  out.add("steps", torch::full({}, static_cast<double>(k)));
  return out;
}

torch::Tensor LaresReasonerImpl::represent(const Batch& batch) {
  LaresPass pass = recur(batch.items, batch.positionOffset(),
                         std::vector<int64_t>(static_cast<size_t>(evalSteps()), batch.size()));
  return pass.steps.back();
}

ReasoningTrace LaresReasonerImpl::trace(const Batch& batch, bool withAttention) {
  std::vector<torch::Tensor> weights;
  AttentionHooks hooks;
  if (withAttention) hooks.weights = &weights;
  const int K = evalSteps();
  const int64_t B = batch.size();
  const int M = opt_.streams;
  LaresPass pass = recur(batch.items, batch.positionOffset(), std::vector<int64_t>(static_cast<size_t>(K), B), {},
                         false, hooks);
  ReasoningTrace t;
  std::vector<torch::Tensor> states{pass.h0.unsqueeze(1).expand({B, M, pass.h0.size(1)})};
  for (const auto& s : pass.streamSteps) states.push_back(s);
  t.states = torch::stack(states, 1);  // [B, K+1, M, d]
  t.final = pass.steps.back();
  if (pass.gate.defined()) t.gate = pass.gate;
  t.candidate.assign(static_cast<size_t>(K) + 1, std::vector<bool>(static_cast<size_t>(M), true));
  t.candidate[0].assign(static_cast<size_t>(M), false);
  if (withAttention) {
    int begin = 0;
    for (size_t step = 0; step < pass.attentionStepMarks.size(); ++step) {
      const int end = pass.attentionStepMarks[step];
      for (int i = begin; i < end; ++i) {
        auto w = weights[static_cast<size_t>(i)];  // [rows, heads, Lq, Lk]; last query ranks
        auto lastQ = w.select(2, w.size(2) - 1);
        const int rowsPerItem = step == 0 ? 1 : M;
        for (int m = 0; m < rowsPerItem; ++m) {
          AttentionRecord r;
          r.step = static_cast<int>(step);
          r.stream = m;
          r.layer = i - begin;
          r.weights = rowsPerItem == 1 ? lastQ : lastQ.view({B, M, lastQ.size(1), lastQ.size(2)}).select(1, m);
          r.itemKeys = static_cast<int>(w.size(3));
          t.attention.push_back(r);
        }
      }
      begin = end;
    }
  }
  return t;
}

double LaresReasonerImpl::flopsPerSample(double seqLen) const {
  const auto& s = encoder_->spec();
  const bool filter = !encoder_->causal();
  const double L = filter ? s.maxLen : seqLen;
  const double layer = filter ? FilterLayerImpl::flops(s.layer, L) : transformerLayerFlops(s.layer, L, L);
  const double pre = opt_.preLayers * layer;
  const double core = static_cast<double>(evalSteps()) * opt_.streams * opt_.coreLayers * layer;
  return pre + core + rankingFlops(s.layer.d, s.numItems);
}

double LaresReasonerImpl::trainingFlopsPerSample(double seqLen, double targets) const {
  // Forward + backward ≈ 3× forward; with TLA three rows per sample ([x; x; x⁺]) at the mean
  // sampled depth (E[k] = k̄ + 1 for lognormal_poisson).
  const auto& s = encoder_->spec();
  const double ranking = rankingFlops(s.layer.d, s.numItems);
  const double meanK = opt_.sampler.kind == StepSampler::Kind::LognormalPoisson ? opt_.steps + 1.0 : opt_.steps;
  const bool filter = !encoder_->causal();
  const double L = filter ? s.maxLen : seqLen;
  const double layer = filter ? FilterLayerImpl::flops(s.layer, L) : transformerLayerFlops(s.layer, L, L);
  const double pass = opt_.preLayers * layer + meanK * opt_.streams * opt_.coreLayers * layer;
  const bool twoViews = opt_.tlaWeight > 0 || (opt_.streams > 1 && opt_.rclWeight > 0);
  const double rows = (twoViews ? 2.0 : 1.0) + (opt_.tlaWeight > 0 ? 1.0 : 0.0);
  const double kl = opt_.streams > 1 && opt_.divWeight > 0 ? meanK * opt_.streams * ranking : 0;
  return 3.0 * (rows * pass + targets * ranking + kl);
}

namespace {
Recommender makeLares(const RunConfig& cfg, int numItems) {
  auto spec = BackboneSpec::fromConfig(cfg, numItems);
  LaresOptions o = LaresOptions::fromConfig(cfg);
  spec.layers = o.preLayers;  // the backbone's own layers are the pre-block
  return std::make_shared<LaresReasonerImpl>(makeEncoder(spec), o,
                                             parseTargetMode(cfg.getString(QStringLiteral("train.targets"))),
                                             cfg.getDouble(QStringLiteral("model.temperature")));
}
const bool kRegistered = [] {
  registerRecommender("lares", makeLares);
  registerRecommender("hybrid", makeLares);
  return true;
}();
}  // namespace

}  // namespace rr
