#include "core/train/grpo.h"

#include "core/errors.h"
#include "core/model/scoring.h"
#include "core/train/checkpoint.h"

#include <QDataStream>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rr {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr int64_t kChunkRows = 1024;     // logits rows materialised at once (as scoring.cpp)
constexpr double kAdvantageEps = 1e-4;   // SPEC §4.2: A = (r − mean) / (std + 1e-4)
constexpr int kSelectBatch = 1024;
constexpr quint32 kSelectionMagic = 0x52505453;  // "RPTS"

/// log softmax(h·Eᵀ·scale)[cls] per row, chunked; backward recomputes the chunk's softmax.
struct TargetLogProb : public torch::autograd::Function<TargetLogProb> {
  static tensor_list forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& items,
                             const torch::Tensor& cls, double scale) {
    torch::NoGradGuard ng;
    const int64_t P = h.size(0);
    auto hd = h.detach(), itemsd = items.detach();
    auto logp = torch::empty({P}, h.options());
    auto lse = torch::empty({P}, h.options());
    auto rank = torch::empty({P}, cls.options());
    for (int64_t start = 0; start < P; start += kChunkRows) {
      const int64_t rows = std::min(kChunkRows, P - start);
      auto cc = cls.narrow(0, start, rows);
      auto p = torch::mm(hd.narrow(0, start, rows), itemsd.t());
      if (scale != 1.0) p.mul_(scale);
      auto picked = p.gather(1, cc.unsqueeze(1));
      rank.narrow(0, start, rows).copy_(p.ge(picked).sum(1) - 1);
      auto l = torch::logsumexp(p, 1);
      lse.narrow(0, start, rows).copy_(l);
      logp.narrow(0, start, rows).copy_(picked.squeeze(1) - l);
    }
    ctx->save_for_backward({hd, itemsd, cls, lse});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["needH"] = h.requires_grad();
    ctx->saved_data["needItems"] = items.requires_grad();
    ctx->mark_non_differentiable({rank});
    return {logp, rank};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    auto h = saved[0], items = saved[1], cls = saved[2], lse = saved[3];
    const double scale = ctx->saved_data["scale"].toDouble();
    const bool needH = ctx->saved_data["needH"].toBool(), needItems = ctx->saved_data["needItems"].toBool();
    auto g = grads[0];
    torch::Tensor dh = needH ? torch::empty_like(h) : torch::Tensor();
    torch::Tensor dItems = needItems ? torch::zeros_like(items) : torch::Tensor();
    if (g.defined()) {
      torch::NoGradGuard ng;
      const int64_t P = h.size(0);
      for (int64_t start = 0; start < P; start += kChunkRows) {
        const int64_t rows = std::min(kChunkRows, P - start);
        auto hc = h.narrow(0, start, rows);
        auto cc = cls.narrow(0, start, rows);
        auto gc = g.narrow(0, start, rows).unsqueeze(1);
        // d logp / d logits = scale·(onehot − softmax); times the incoming gradient per row.
        auto p = torch::mm(hc, items.t());
        if (scale != 1.0) p.mul_(scale);
        p.sub_(lse.narrow(0, start, rows).unsqueeze(1)).exp_().mul_(gc).neg_();
        p.scatter_add_(1, cc.unsqueeze(1), gc);
        if (scale != 1.0) p.mul_(scale);
        if (needH) {
          auto dst = dh.narrow(0, start, rows);
          torch::mm_out(dst, p, items);
        }
        if (needItems) dItems.addmm_(p.t(), hc);
      }
    } else {
      if (needH) dh.zero_();
    }
    return {dh, dItems, torch::Tensor(), torch::Tensor()};
  }
};

QString sidePath(const QString& lastCheckpoint, const QString& suffix) {
  QString p = lastCheckpoint;
  if (p.endsWith(QLatin1String("-last.pt"))) p.chop(8);
  return p + suffix;
}

struct RngStateGuard {  // restores the generator state it was built with
  torch::Tensor state = cpuRngState();
  ~RngStateGuard() { setCpuRngState(state); }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> targetLogProbs(const torch::Tensor& h, const torch::Tensor& table,
                                                       const torch::Tensor& targets, double scale) {
  TORCH_CHECK(h.dim() == 2 && table.dim() == 2 && h.size(1) == table.size(1), "targetLogProbs: shape mismatch");
  auto out = TargetLogProb::apply(h, table.narrow(0, 1, table.size(0) - 1), targets - 1, scale);
  return {out[0], out[1]};
}

torch::Tensor topRankedLogProbs(const torch::Tensor& h, const torch::Tensor& table, double scale) {
  torch::Tensor top;
  {
    torch::NoGradGuard ng;
    top = torch::empty({h.size(0)}, torch::TensorOptions().dtype(torch::kLong).device(h.device()));
    auto items = table.narrow(0, 1, table.size(0) - 1);
    for (int64_t start = 0; start < h.size(0); start += kChunkRows) {
      const int64_t rows = std::min(kChunkRows, h.size(0) - start);
      top.narrow(0, start, rows).copy_(torch::mm(h.narrow(0, start, rows), items.t()).argmax(1) + 1);
    }
  }
  return targetLogProbs(h, table, top, scale).first;
}

torch::Tensor rankReward(const torch::Tensor& rank, const QString& metric) {
  const QString kind = metric.section(QLatin1Char('@'), 0, 0);
  bool ok = false;
  const int K = metric.section(QLatin1Char('@'), 1, 1).toInt(&ok);
  if (!ok || K <= 0 || (kind != QLatin1String("ndcg") && kind != QLatin1String("recall")))
    throw ConfigError(QStringLiteral("rpt.reward"), QStringLiteral("'%1' is not ndcg@K or recall@K").arg(metric));
  auto r = rank.to(torch::kFloat);
  auto hit = rank.lt(K).to(torch::kFloat);
  if (kind == QLatin1String("recall")) return hit;
  return hit / torch::log2(r + 2.0);
}

torch::Tensor groupAdvantages(const torch::Tensor& rewards) {
  auto mean = rewards.mean(1, /*keepdim=*/true);
  auto std = rewards.std(1, /*unbiased=*/true, /*keepdim=*/true);
  return (rewards - mean) / (std + kAdvantageEps);
}

torch::Tensor klK3(const torch::Tensor& logp, const torch::Tensor& refLogp) {
  auto d = refLogp - logp;
  return torch::exp(d) - d - 1;
}

torch::Tensor stepKlK3(const torch::Tensor& stepLogp, const torch::Tensor& stepRefLogp, const torch::Tensor& rows,
                       int64_t R) {
  auto sum = torch::zeros({R}, stepLogp.options()).index_add(0, rows, klK3(stepLogp, stepRefLogp));
  auto count = torch::zeros({R}, stepLogp.options()).index_add(0, rows, torch::ones_like(stepLogp));
  return sum / count.clamp_min(1);
}

GrpoTerms grpoObjective(const torch::Tensor& logp, const torch::Tensor& oldLogp, const torch::Tensor& kl,
                        const torch::Tensor& advantages, double clipEps, double beta) {
  auto ratio = torch::exp(logp - oldLogp);
  auto unclipped = ratio * advantages;
  auto clipped = ratio.clamp(1 - clipEps, 1 + clipEps) * advantages;
  auto surrogate = torch::min(unclipped, clipped);
  GrpoTerms t;
  t.loss = -(surrogate - beta * kl).mean();
  t.kl = kl.mean().detach();
  t.clipFraction = clipped.lt(unclipped).to(torch::kFloat).mean().detach();
  return t;
}

GrpoTrainer::GrpoTrainer(StageEnv env) : StageTrainer(std::move(env)) {
  const RunConfig& c = env_.config;
  rollouts_ = c.getInt(QStringLiteral("rpt.rollouts"));
  updates_ = c.getInt(QStringLiteral("rpt.updates_per_batch"));
  beta_ = c.getDouble(QStringLiteral("rpt.beta"));
  clipEps_ = c.getDouble(QStringLiteral("rpt.clip_eps"));
  dropout_ = c.getDouble(QStringLiteral("rpt.dropout"));
  topK_ = c.getInt(QStringLiteral("rpt.select_top_k"));
  passes_ = c.getInt(QStringLiteral("rpt.select_passes"));
  reward_ = c.getString(QStringLiteral("rpt.reward"));
  policy_ = c.getString(QStringLiteral("rpt.policy"));
  stepKl_ = c.getString(QStringLiteral("rpt.kl_level")) == QLatin1String("step");
  positiveOnly_ = c.getString(QStringLiteral("rpt.advantages")) == QLatin1String("positive");
  if (!dynamic_cast<LaresReasonerImpl*>(env_.model.get()))
    throw ConfigError(QStringLiteral("stages"), QStringLiteral("rpt post-trains lares and hybrid models only"));
  (void)rankReward(torch::zeros({1}, torch::kLong), reward_);  // validates the name early
}

GrpoTrainer::~GrpoTrainer() = default;

LaresReasonerImpl& GrpoTrainer::lares() const { return static_cast<LaresReasonerImpl&>(*env_.model); }

void GrpoTrainer::makeReference() {
  RngStateGuard keep;
  reference_ = buildRecommender(env_.config, env_.data->numItems);
  reference_->to(env_.device);
  torch::NoGradGuard ng;
  auto src = env_.model->named_parameters();
  for (auto& p : reference_->named_parameters()) {
    p.value().copy_(src[p.key()]);
    p.value().set_requires_grad(false);
  }
  static_cast<LaresReasonerImpl&>(*reference_).setDropout(dropout_);  // replays the rollouts' masks
  reference_->eval();
}

std::vector<TrainUnit> GrpoTrainer::select() {
  auto units = trainingUnits(*env_.split, TargetMode::Last);
  if (topK_ <= 0) return units;
  LaresReasonerImpl& model = lares();
  const bool wasTraining = model.is_training();
  model.eval();
  model.setRandomT0AtEval(true);
  std::vector<char> keep(units.size(), 0);
  std::vector<int> lengths(units.size());
  for (size_t i = 0; i < units.size(); ++i) lengths[i] = env_.builder->unitLength(units[i]);
  {
    torch::NoGradGuard ng;
    const auto tableT = model.itemTable().t();
    for (int pass = 0; pass < passes_; ++pass) {
      for (const auto& rows : evalBatches(lengths, kSelectBatch)) {
        env_.hooks->checkCancel();
        if (pastTimeLimit())  // no RPT epoch is done yet: the run is interrupted, resume selects again
          throw TimeLimitError(QStringLiteral("time limit reached during the RPT data selection"));
        Batch b = env_.builder->trainBatch(units, rows, TargetMode::Last).to(env_.device);
        auto scores = torch::mm(model.represent(b), tableT);
        auto rank = FullRankingEvaluator::ranksFromScores(scores, b.target).to(torch::kCPU);
        const int64_t* rp = rank.data_ptr<int64_t>();
        for (size_t i = 0; i < rows.size(); ++i)
          if (rp[i] < topK_) keep[static_cast<size_t>(rows[i])] = 1;
      }
    }
  }
  model.setRandomT0AtEval(false);
  model.train(wasTraining);
  std::vector<TrainUnit> out;
  for (size_t i = 0; i < units.size(); ++i)
    if (keep[i]) out.push_back(units[i]);
  return out;
}

void GrpoTrainer::prepare() {
  lares().setDropout(dropout_);
  const QString selPath = sidePath(env_.lastCheckpoint, QStringLiteral("-selection.bin"));
  const QString refPath = sidePath(env_.lastCheckpoint, QStringLiteral("-reference.pt"));
  const bool resumed = state_.epoch > 0 && QFileInfo::exists(selPath) && QFileInfo::exists(refPath);
  if (resumed) {
    RngStateGuard keep;
    reference_ = buildRecommender(env_.config, env_.data->numItems);
    reference_->to(env_.device);
    loadCheckpoint(refPath, *reference_, nullptr, false);
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
    static_cast<LaresReasonerImpl&>(*reference_).setDropout(dropout_);
    reference_->eval();
    QFile f(selPath);
    if (!f.open(QIODevice::ReadOnly)) throw RunError(QStringLiteral("%1: cannot read the RPT selection").arg(selPath));
    QDataStream in(&f);
    quint32 magic = 0;
    qint64 n = 0;
    in >> magic >> n;
    if (magic != kSelectionMagic || n < 0) throw RunError(QStringLiteral("%1: not an RPT selection file").arg(selPath));
    selected_.resize(static_cast<size_t>(n));
    for (auto& u : selected_) in >> u.user >> u.end;
    if (in.status() != QDataStream::Ok) throw RunError(QStringLiteral("%1: truncated RPT selection").arg(selPath));
  } else {
    makeReference();
    selected_ = select();
    saveCheckpoint(refPath, *reference_, nullptr, StageState{});
    QSaveFile f(selPath);
    if (!f.open(QIODevice::WriteOnly)) throw RunError(QStringLiteral("%1: cannot write the RPT selection").arg(selPath));
    QDataStream out(&f);
    out << kSelectionMagic << static_cast<qint64>(selected_.size());
    for (const auto& u : selected_) out << u.user << u.end;
    if (!f.commit()) throw RunError(QStringLiteral("%1: cannot write the RPT selection (disk full?)").arg(selPath));
  }
  if (selected_.empty())
    throw RunError(QStringLiteral("rpt: no training sample ranks its target in the top %1; raise rpt.select_top_k").arg(topK_));
  selectedLengths_.clear();
  for (const auto& u : selected_) selectedLengths_.push_back(env_.builder->unitLength(u));
  state_.extra.insert(QStringLiteral("selected_samples"), static_cast<double>(selected_.size()));
  env_.hooks->message(QStringLiteral("rpt: %1 of %2 training samples selected (target in the top %3 in any of %4 passes)")
                          .arg(selected_.size())
                          .arg(env_.split->trainTargets())
                          .arg(topK_)
                          .arg(passes_));
  if (!resumed) {
    // Epoch 0: the model RPT starts from sets the bar. When no RPT epoch beats it on validation,
    // the stage's best checkpoint stays the starting model (early stopping as in SPT).
    const double start = validate(0);
    env_.hooks->message(QStringLiteral("rpt epoch 0 (the starting model): valid %1 = %2")
                            .arg(env_.settings.metric)
                            .arg(start, 0, 'f', 4));
  }
}

GrpoTrainer::RolloutScores GrpoTrainer::rolloutLogProbs(LaresReasonerImpl& model, const Batch& batch,
                                                        const std::vector<int64_t>& active, const torch::Tensor& T0) {
  const int64_t R = batch.size();
  LaresPass pass = model.recur(batch.items, batch.positionOffset(), active, T0);
  auto Z = torch::cat(pass.steps, 0);  // [P, d], step-major
  std::vector<torch::Tensor> tg, rowIdx;
  std::vector<int64_t> offsets;
  int64_t offset = 0;
  for (int64_t n : active) {
    tg.push_back(batch.target.narrow(0, 0, n));
    rowIdx.push_back(torch::arange(n, batch.target.options()));
    offsets.push_back(offset);
    offset += n;
  }
  auto targets = torch::cat(tg, 0);
  auto rows = torch::cat(rowIdx, 0);
  const double scale = 1.0 / model.temperature();
  auto table = model.itemTable();
  auto [lp, rank] = targetLogProbs(Z, table, targets, scale);
  torch::Tensor perStep = lp;
  if (policy_ == QLatin1String("top_ranked")) perStep = topRankedLogProbs(Z, table, scale);
  else if (policy_ == QLatin1String("hybrid")) perStep = 0.5 * (lp + topRankedLogProbs(Z, table, scale));
  auto logp = torch::zeros({R}, lp.options()).index_add(0, rows, perStep);
  // Reward rank: each row's own last step. Rows with k = s sit at offsets[s-1] + r.
  std::vector<int64_t> pos(static_cast<size_t>(R));
  for (size_t s = 0; s < active.size(); ++s) {
    const int64_t lo = s + 1 < active.size() ? active[s + 1] : 0;
    for (int64_t r = lo; r < active[s]; ++r) pos[static_cast<size_t>(r)] = offsets[s] + r;
  }
  auto finalRank = rank.index_select(0, torch::from_blob(pos.data(), {R}, torch::kLong).clone().to(rank.device()));
  return {logp, finalRank, perStep, rows};
}

torch::Tensor GrpoTrainer::rolloutKl(const RolloutScores& policy, const RolloutScores& reference) const {
  if (stepKl_) return stepKlK3(policy.stepLogp, reference.stepLogp, policy.rows, policy.logp.size(0));
  return klK3(policy.logp, reference.logp);
}

GrpoTrainer::StepStats GrpoTrainer::grpoStep(const std::vector<TrainUnit>& units, const std::vector<int64_t>& rowsIn,
                                             int epoch) {
  LaresReasonerImpl& model = lares();
  const int G = rollouts_;
  const int64_t B = static_cast<int64_t>(rowsIn.size());
  Batch base = env_.builder->trainBatch(units, rowsIn, TargetMode::Last);
  // Fold G rollouts into the batch; each row gets its own step count, rows sorted by it.
  std::vector<int> ks = model.options().sampler.sample(static_cast<int>(B * G));
  std::vector<int64_t> perm(static_cast<size_t>(B * G));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return ks[static_cast<size_t>(a)] > ks[static_cast<size_t>(b)]; });
  const int K = ks[static_cast<size_t>(perm[0])];
  std::vector<int64_t> active(static_cast<size_t>(K), 0);
  for (int k : ks)
    for (int s = 1; s <= k; ++s) ++active[static_cast<size_t>(s - 1)];
  auto permT = torch::from_blob(perm.data(), {B * G}, torch::kLong).clone();
  auto src = permT.div(G, "floor");  // input row of each rollout
  Batch batch;
  batch.items = base.items.index_select(0, src).to(env_.device);
  batch.target = base.target.index_select(0, src).to(env_.device);
  batch.users = base.users.index_select(0, src).to(env_.device);
  batch.maxLen = base.maxLen;
  auto T0 = model.drawT0(B * G * model.streams(), batch.width());

  const torch::Tensor rolloutRng = cpuRngState();  // where the rollouts' dropout masks come from
  model.train();
  RolloutScores policy = rolloutLogProbs(model, batch, active, T0);
  auto rewardPerm = rankReward(policy.rank, reward_);
  auto rewards = torch::zeros_like(rewardPerm).index_put_({permT.to(env_.device)}, rewardPerm).view({B, G});
  auto adv = groupAdvantages(rewards).view({B * G}).index_select(0, permT.to(env_.device));
  if (positiveOnly_) adv = adv.clamp_min(0);
  RolloutScores reference;
  {
    // The reference scores the very same rollouts: same T0, step counts and dropout masks
    // (the generator replayed), so log π_θ − log π_ref is the parameters' drift alone and is
    // exactly 0 before the first update. (Scoring without dropout made the k3 KL explode:
    // log-probs summed over up to 3k̄ steps differed by tens of nats, exp() of that ~1e19.)
    torch::NoGradGuard ng;
    RngStateGuard keep;  // the training stream continues after the rollouts, not after the replay
    setCpuRngState(rolloutRng);
    auto& ref = static_cast<LaresReasonerImpl&>(*reference_);
    ref.train();
    reference = rolloutLogProbs(ref, batch, active, T0);
    ref.eval();
  }
  const auto oldLogp = policy.logp.detach();
  StepStats st;
  for (int u = 0; u < updates_; ++u) {
    if (u > 0) policy = rolloutLogProbs(model, batch, active, T0);
    GrpoTerms terms = grpoObjective(policy.logp, oldLogp, rolloutKl(policy, reference), adv, clipEps_, beta_);
    checkFinite(terms.loss, epoch);
    optimizer_->zero_grad();
    terms.loss.backward();
    LossOutput lo;
    lo.total = terms.loss.detach();
    lo.add("grpo", terms.loss);
    optimizerStep(lo, epoch);
    st.kl += terms.kl.item<double>() / updates_;
    st.clipFraction += terms.clipFraction.item<double>() / updates_;
    st.loss += terms.loss.item<double>() / updates_;
  }
  st.rewardMean = rewards.mean().item<double>();
  st.rewardStd = rewards.std().item<double>();
  st.advantageStd = adv.std().item<double>();
  state_.samples += B;
  state_.targets += B * G;
  return st;
}

void GrpoTrainer::trainEpoch(int epoch) {
  const StageSettings& s = env_.settings;
  const auto batches = epochBatches(selectedLengths_, s.batchSize, s.bucketing, mixSeed(s.seed ^ 0x525054ULL, static_cast<uint64_t>(epoch)));
  QElapsedTimer timer;
  timer.start();
  int64_t done = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    env_.hooks->checkCancel();
    const StepStats st = grpoStep(selected_, batches[i], epoch);
    for (const auto& [name, value] : {std::pair<const char*, double>{"rpt/reward_mean", st.rewardMean},
                                      {"rpt/reward_std", st.rewardStd},
                                      {"rpt/advantage_std", st.advantageStd},
                                      {"rpt/kl", st.kl},
                                      {"rpt/clip_fraction", st.clipFraction},
                                      {"rpt/loss", st.loss}})
      env_.hooks->metric(s.stage, state_.step, epoch, QString::fromLatin1(name), value);
    done += static_cast<int64_t>(batches[i].size());
    const double secs = timer.nsecsElapsed() / 1e9;
    env_.hooks->batchProgress(s.stage, epoch, s.epochs, done, static_cast<int64_t>(selected_.size()),
                              secs > 0 ? done / secs : 0);
  }
}

TrainBenchFigures GrpoTrainer::benchmark(double seconds) {
  constexpr int kWarmupSteps = 2;
  const StageSettings& s = env_.settings;
  optimizer_ = makeOptimizer();
  lares().setDropout(dropout_);
  makeReference();
  selected_ = trainingUnits(*env_.split, TargetMode::Last);
  selectedLengths_.clear();
  for (const auto& u : selected_) selectedLengths_.push_back(env_.builder->unitLength(u));
  TrainBenchFigures f;
  QElapsedTimer timer;
  int64_t inputs = 0;
  int warm = 0;
  for (int epoch = 1; epoch < 1000; ++epoch) {
    for (const auto& rows : epochBatches(selectedLengths_, s.batchSize, s.bucketing, mixSeed(s.seed, static_cast<uint64_t>(epoch)))) {
      env_.hooks->checkCancel();
      grpoStep(selected_, rows, epoch);
      if (warm < kWarmupSteps) {
        if (++warm == kWarmupSteps) timer.start();
        continue;
      }
      inputs += static_cast<int64_t>(rows.size());
      ++f.steps;
      if (timer.nsecsElapsed() / 1e9 >= seconds) break;
    }
    if (timer.isValid() && timer.nsecsElapsed() / 1e9 >= seconds) break;
  }
  f.seconds = timer.isValid() ? timer.nsecsElapsed() / 1e9 : 0;
  f.samplesPerSecond = f.seconds > 0 ? inputs / f.seconds : 0;
  f.targetsPerSecond = f.samplesPerSecond * rollouts_;
  return f;
}

namespace {
const bool kRegistered = [] {
  registerStageTrainer("rpt", [](StageEnv env) -> std::unique_ptr<StageTrainer> {
    return std::make_unique<GrpoTrainer>(std::move(env));
  });
  return true;
}();
}  // namespace

}  // namespace rr
