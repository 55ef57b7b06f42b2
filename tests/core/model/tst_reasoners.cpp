// ReaRec (ERL/PRL), PLR, BERT4Rec and GRU4Rec: the KV cache is exact, streams are isolated,
// the gate is a distribution, PLR trains on z_rea, the auxiliary losses match hand-computed
// values, BERT4Rec's Cloze masking and GRU4Rec's padding behave, and analyses get full traces.
#include "core/analysis/analyses.h"
#include "core/errors.h"
#include "core/model/backbones.h"
#include "core/model/fused_step.h"
#include "core/model/latent_reasoning.h"
#include "core/model/plr_reasoner.h"
#include "core/model/rearec_reasoner.h"
#include "core/model/scoring.h"
#include "test_main.h"

#include <cmath>
#include <map>

using namespace rr;

namespace {

constexpr int kItems = 30;
constexpr int kMaxLen = 8;

RunConfig smallConfig(const QString& preset, const QString& backbone = QStringLiteral("sasrec")) {
  RunConfig cfg = RunConfig::fromPreset(preset);
  cfg.set("model.backbone", backbone);
  cfg.set("data.max_len", kMaxLen);
  cfg.set("model.d", 16);
  cfg.set("model.heads", 2);
  cfg.set("model.ffn", 32);
  cfg.set("model.dropout", 0.0);
  cfg.set("model.attn_dropout", 0.0);
  return cfg;
}

Batch smallBatch() {
  Batch b;
  b.items = torch::tensor({{0, 0, 0, 3, 4, 5}, {1, 2, 3, 4, 5, 6}, {0, 7, 8, 9, 1, 2}}, torch::kLong);
  b.target = torch::tensor({6, 7, 3}, torch::kLong);
  b.maxLen = kMaxLen;
  return b;
}

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

/// B random histories of kMaxLen items, row b left-padded by b % kMaxLen positions.
Batch randomBatch(int64_t B) {
  Batch b;
  b.items = torch::randint(1, kItems + 1, {B, kMaxLen}, torch::kLong);
  for (int64_t r = 0; r < B; ++r) b.items[r].narrow(0, 0, r % kMaxLen).zero_();
  b.target = torch::randint(1, kItems + 1, {B}, torch::kLong);
  b.maxLen = kMaxLen;
  return b;
}

/// Sets whether the fused reasoning step may be used, and restores the previous setting.
struct FusedStepSwitch {
  bool before = fusedStepEnabled();
  explicit FusedStepSwitch(bool on) { setFusedStepEnabled(on); }
  ~FusedStepSwitch() { setFusedStepEnabled(before); }
};

/// Makes the fused step's products use one vector build, and Auto again afterwards.
struct FusedIsaSwitch {
  explicit FusedIsaSwitch(CpuIsa isa) { setFusedStepIsa(isa); }
  ~FusedIsaSwitch() { setFusedStepIsa(CpuIsa::Auto); }
};

/// The vector builds this CPU can run (Auto, and each named one it supports).
std::vector<CpuIsa> supportedIsas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::Auto, CpuIsa::Avx512, CpuIsa::Avx2, CpuIsa::Baseline})
    if (cpuIsaSupported(isa)) out.push_back(isa);
  return out;
}

}  // namespace

class ReasonersTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { torch::manual_seed(7); }

  void kvCacheEqualsUncached_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("backbone");
    QTest::addColumn<int>("steps");
    QTest::newRow("erl-sasrec") << "rearec-erl" << "sasrec" << 3;
    QTest::newRow("prl-sasrec") << "rearec-prl" << "sasrec" << 2;
    QTest::newRow("plr-sasrec") << "plr-fast" << "sasrec" << 3;
    QTest::newRow("plr-bert4rec") << "plr-fast" << "bert4rec" << 2;
    QTest::newRow("plr-sasrec-preln") << "plr-fast" << "sasrec-pre" << 2;
  }
  void kvCacheEqualsUncached() {
    QFETCH(QString, preset);
    QFETCH(QString, backbone);
    QFETCH(int, steps);
    const bool pre = backbone.endsWith("-pre");
    RunConfig cfg = smallConfig(preset, pre ? QStringLiteral("sasrec") : backbone);
    if (pre) cfg.set("model.norm", "pre");
    cfg.set("model.reasoner.steps", steps);
    cfg.set("model.reasoner.streams", 3);
    Recommender model = buildRecommender(cfg, kItems);
    model->eval();
    torch::NoGradGuard ng;
    const Batch b = smallBatch();
    // Both implementations of the cached step: LibTorch operations and the fused loop that
    // small inference batches take (fused_step.h).
    for (bool fused : {false, true}) {
      FusedStepSwitch sw(fused);
      std::vector<torch::Tensor> cached, reference;
      if (auto* plr = dynamic_cast<PlrReasonerImpl*>(model.get())) {
        cached = plr->reason(plr->context(b), steps).states;
        reference = plr->uncachedStates(b, steps);
      } else {
        auto* rr = dynamic_cast<RearecReasonerImpl*>(model.get());
        QVERIFY(rr);
        auto s = rr->reason(rr->context(b), steps);
        for (size_t t = 1; t < s.size(); ++t) cached.push_back(s[t].unsqueeze(1));
        reference = rr->uncachedStates(b, steps);
      }
      QCOMPARE(cached.size(), reference.size());
      for (size_t t = 0; t < cached.size(); ++t) {
        const double diff = maxDiff(cached[t], reference[t]);
        QVERIFY2(diff < 1e-5, qPrintable(QString("fused %1, step %2: max abs diff %3").arg(fused).arg(t + 1).arg(diff)));
      }
    }
  }

  void fusedInferenceEqualsLibTorch_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("variant");
    QTest::addColumn<int>("d");
    QTest::addColumn<int>("ffn");
    QTest::addColumn<int>("streams");
    QTest::addColumn<int>("batch");
    // d 64 / ffn 256 is plr-fast's shape (full blocks at every vector width); d 24 / ffn 40
    // leaves one-vector and scalar tails with 16-float vectors, d 18 / ffn 34 scalar tails at
    // every width (4, 8 and 16 floats: the build the CPU runs); batch 24 x 2 streams splits
    // the rows over threads; more than kFusedStepMaxRows rows take the GEMM variant.
    QTest::newRow("plr-d64") << "plr-fast" << "" << 64 << 256 << 2 << 3;
    QTest::newRow("plr-d64-b24") << "plr-fast" << "" << 64 << 256 << 2 << 24;
    QTest::newRow("plr-d24-tails") << "plr-fast" << "" << 24 << 40 << 3 << 5;
    QTest::newRow("plr-d18-tails") << "plr-fast" << "" << 18 << 34 << 2 << 5;
    QTest::newRow("plr-d64-gemm") << "plr-fast" << "" << 64 << 256 << 2 << 40;
    QTest::newRow("plr-d18-gemm") << "plr-fast" << "" << 18 << 34 << 3 << 30;
    QTest::newRow("plr-preln-gemm") << "plr-fast" << "pre" << 64 << 256 << 2 << 40;
    QTest::newRow("plr-bert4rec-gemm") << "plr-fast" << "bert4rec" << 64 << 256 << 2 << 40;
    QTest::newRow("plr-mean") << "plr-fast" << "mean" << 16 << 32 << 4 << 3;
    QTest::newRow("plr-pool-h0") << "plr-fast" << "pool" << 24 << 40 << 3 << 5;
    QTest::newRow("plr-preln") << "plr-fast" << "pre" << 64 << 256 << 2 << 3;
    QTest::newRow("plr-bert4rec") << "plr-fast" << "bert4rec" << 64 << 256 << 2 << 3;
    QTest::newRow("erl-d64") << "rearec-erl" << "" << 64 << 256 << 1 << 4;
    QTest::newRow("prl-d64") << "rearec-prl" << "" << 64 << 256 << 1 << 4;
    QTest::newRow("erl-d64-gemm") << "rearec-erl" << "" << 64 << 256 << 1 << 70;
  }
  void fusedInferenceEqualsLibTorch() {
    QFETCH(QString, preset);
    QFETCH(QString, variant);
    QFETCH(int, d);
    QFETCH(int, ffn);
    QFETCH(int, streams);
    QFETCH(int, batch);
    RunConfig cfg = smallConfig(preset, variant == "bert4rec" ? QStringLiteral("bert4rec") : QStringLiteral("sasrec"));
    if (variant == "pre") cfg.set("model.norm", "pre");
    if (variant == "mean") cfg.set("model.reasoner.aggregate", "mean");
    if (variant == "pool") cfg.set("model.reasoner.pool_h0", true);
    cfg.set("model.d", d);
    cfg.set("model.ffn", ffn);
    cfg.set("model.reasoner.steps", 3);
    if (preset == "plr-fast") cfg.set("model.reasoner.streams", streams);
    cfg.set("model.reasoner.trigger_std", 0.5);  // streams that differ
    Recommender model = buildRecommender(cfg, kItems);
    model->eval();
    torch::NoGradGuard ng;
    const Batch b = randomBatch(batch);
    auto* plr = dynamic_cast<PlrReasonerImpl*>(model.get());
    auto* rea = dynamic_cast<RearecReasonerImpl*>(model.get());
    QVERIFY(plr || rea);
    auto& encoder = dynamic_cast<SasrecEncoderImpl&>(*model->modules(false).front());
    QVERIFY(fusedStepApplies(encoder, model->itemTable(), false));
    auto run = [&](bool fused) {
      FusedStepSwitch sw(fused);
      std::vector<torch::Tensor> out;
      if (plr) {
        PlrPass p = plr->reason(plr->context(b), 3);
        out = p.states;
        out.push_back(p.gate);
        out.push_back(p.zRea);
      } else {
        out = rea->reason(rea->context(b), 3);
      }
      out.push_back(model->represent(b));
      return out;
    };
    const auto reference = run(false);
    // Every vector build of the products this CPU runs (the baseline one is what machines
    // without AVX2 get).
    for (CpuIsa isa : supportedIsas()) {
      FusedIsaSwitch isaSwitch(isa);
      const auto fused = run(true);
      QCOMPARE(fused.size(), reference.size());
      for (size_t i = 0; i < fused.size(); ++i) {
        QCOMPARE(fused[i].sizes().vec(), reference[i].sizes().vec());
        const double diff = maxDiff(fused[i], reference[i]);
        QVERIFY2(diff < 1e-5, qPrintable(QString("isa %1, output %2: max abs diff %3")
                                             .arg(static_cast<int>(isa)).arg(i).arg(diff)));
      }
    }
  }

  void fusedWeightsFollowUpdates() {
    // The fused step reads the layer matrices where the layers keep them; an in-place update
    // (an optimiser step, a checkpoint load) must reach it, as it would not reach a copy.
    RunConfig cfg = smallConfig("plr-fast");
    Recommender model = buildRecommender(cfg, kItems);
    model->eval();
    torch::NoGradGuard ng;
    const Batch b = randomBatch(4);
    const auto before = model->represent(b);
    auto& encoder = dynamic_cast<SasrecEncoderImpl&>(*model->modules(false).front());
    encoder.layers->ptr<TransformerLayerImpl>(0)->ff1->weight.mul_(1.5);
    const auto fused = model->represent(b);
    torch::Tensor reference;
    {
      FusedStepSwitch sw(false);
      reference = model->represent(b);
    }
    QVERIFY2(maxDiff(before, fused) > 1e-4, "the update must change the result");
    QVERIFY2(maxDiff(fused, reference) < 1e-5, qPrintable(QString("stale weights: %1").arg(maxDiff(fused, reference))));
  }

  void fusedStepOnlyForInference() {
    RunConfig cfg = smallConfig("plr-fast");
    Recommender model = buildRecommender(cfg, kItems);
    auto& encoder = dynamic_cast<SasrecEncoderImpl&>(*model->modules(false).front());
    const auto like = model->itemTable();
    model->eval();
    {
      torch::NoGradGuard ng;
      QVERIFY(fusedStepApplies(encoder, like, false));
      QVERIFY(!fusedStepApplies(encoder, like, true));  // attention capture
      QVERIFY(!fusedStepApplies(encoder, like.to(torch::kDouble), false));
      FusedStepSwitch off(false);
      QVERIFY(!fusedStepApplies(encoder, like, false));
    }
    QVERIFY(!fusedStepApplies(encoder, like, false));  // gradients recorded: training
    model->train();
    torch::NoGradGuard ng;
    QVERIFY(!fusedStepApplies(encoder, like, false));  // dropout active
  }

  void streamsAreIsolated() {
    RunConfig cfg = smallConfig("plr-fast");
    cfg.set("model.reasoner.streams", 3);
    cfg.set("model.reasoner.steps", 3);
    auto model = std::dynamic_pointer_cast<PlrReasonerImpl>(buildRecommender(cfg, kItems));
    QVERIFY(model);
    model->eval();
    torch::NoGradGuard ng;
    const Batch b = smallBatch();
    auto before = model->reason(model->context(b), 3).states;
    model->triggers[0].add_(torch::randn({16}));  // change stream 1's trigger only
    auto after = model->reason(model->context(b), 3).states;
    for (size_t t = 0; t < before.size(); ++t) {
      QVERIFY2(maxDiff(before[t].select(1, 0), after[t].select(1, 0)) > 1e-3, "stream 1 must change");
      QCOMPARE(maxDiff(before[t].narrow(1, 1, 2), after[t].narrow(1, 1, 2)), 0.0);
    }
  }

  void triggersFollowTriggerStd() {
    // model.reasoner.trigger_std sets the scale of PLR's and the hybrid's trigger tokens.
    for (const char* preset : {"plr-fast", "hybrid"})
      for (double stdev : {0.02, 1.0}) {
        RunConfig cfg = smallConfig(preset);
        cfg.set("model.reasoner.streams", 8);
        cfg.set("model.reasoner.trigger_std", stdev);
        Recommender model = buildRecommender(cfg, kItems);
        const auto params = model->named_parameters();
        const torch::Tensor* triggers = params.find("triggers");
        QVERIFY2(triggers, preset);
        QCOMPARE(triggers->sizes().vec(), (std::vector<int64_t>{8, 16}));
        const double measured = triggers->std().item<double>();
        QVERIFY2(measured > 0.8 * stdev && measured < 1.2 * stdev,
                 qPrintable(QString("%1: trigger std %2, configured %3").arg(preset).arg(measured).arg(stdev)));
      }
  }

  void gateIsADistribution() {
    for (const char* agg : {"gate", "mean"}) {
      RunConfig cfg = smallConfig("plr-fast");
      cfg.set("model.reasoner.streams", 4);
      cfg.set("model.reasoner.aggregate", agg);
      Recommender model = buildRecommender(cfg, kItems);
      model->eval();
      torch::NoGradGuard ng;
      const auto tr = model->trace(smallBatch(), false);
      QCOMPARE(tr.gate.sizes().vec(), (std::vector<int64_t>{3, 4}));
      QVERIFY(maxDiff(tr.gate.sum(1), torch::ones({3})) < 1e-6);
      QVERIFY(tr.gate.min().item<double>() >= 0);
      if (QByteArray(agg) == "mean") QVERIFY(maxDiff(tr.gate, torch::full({3, 4}, 0.25)) < 1e-7);
    }
  }

  void zReaPoolsTheStreams() {
    // z_rea = Σ_m g_m z_m with z_m the mean of h_{1,m}..h_{T,m} (SPEC), or of h_0, h_{1,m}..h_{T,m}
    // with pool_h0, recomputed here from the trace's states and gate; both step implementations.
    for (bool pool : {false, true})
      for (bool fused : {false, true}) {
        FusedStepSwitch sw(fused);
        RunConfig cfg = smallConfig("plr-fast");
        cfg.set("model.reasoner.streams", 3);
        cfg.set("model.reasoner.steps", 3);
        cfg.set("model.reasoner.trigger_std", 0.5);
        cfg.set("model.reasoner.inference", "reasoning");  // final = z_rea
        cfg.set("model.reasoner.pool_h0", pool);
        torch::manual_seed(11);
        Recommender model = buildRecommender(cfg, kItems);
        model->eval();
        torch::NoGradGuard ng;
        const Batch b = randomBatch(4);
        const auto tr = model->trace(b, false);  // states [B, T+1, M, d], s = 0 is h_0
        const int64_t B = 4, T = 3, M = 3, d = 16;
        auto expected = torch::zeros({B, d});
        for (int64_t r = 0; r < B; ++r)
          for (int64_t m = 0; m < M; ++m) {
            auto zm = torch::zeros({d});
            for (int64_t t = pool ? 0 : 1; t <= T; ++t) zm += tr.states[r][t][m];
            expected[r] += tr.gate[r][m] * zm / (pool ? T + 1 : T);
          }
        const QString what = QString("pool_h0 %1, fused %2").arg(pool).arg(fused);
        QVERIFY2(maxDiff(tr.final, expected) < 1e-5, qPrintable(what));
        QVERIFY2(maxDiff(model->represent(b), expected) < 1e-5, qPrintable(what));
        // The option changes z_rea by h_0's share: (h_0 − z_rea(pool off)) / (T + 1).
        if (pool) {
          auto unpooled = (expected * (T + 1) - tr.states.select(1, 0).select(1, 0)) / T;
          QVERIFY(maxDiff(unpooled, expected) > 1e-3);
        }
      }
  }

  void plrTrainsOnZreaAndRanksDual() {
    RunConfig cfg = smallConfig("plr-fast");
    cfg.set("model.reasoner.rep_dropout", 0.0);
    cfg.set("model.reasoner.attn_score_dropout", 0.0);
    cfg.set("train.rcl_weight", 0.0);
    cfg.set("train.div_weight", 0.0);
    auto model = std::dynamic_pointer_cast<PlrReasonerImpl>(buildRecommender(cfg, kItems));
    const Batch b = smallBatch();
    model->train();  // every dropout is 0, so train mode is deterministic
    const double loss = model->loss(b, LossContext{}).total.item<double>();
    model->eval();
    torch::NoGradGuard ng;
    const auto tr = model->trace(b, false);
    auto h0 = tr.states.select(1, 0).select(1, 0);
    auto zRea = tr.final - h0;  // inference = dual: final = h_0 + z_rea
    QVERIFY(maxDiff(h0, tr.states.select(1, 0).select(1, 1)) == 0);  // s = 0 is h_0 for every stream
    const double scale = 1.0 / cfg.getDouble("model.temperature");  // the preset scores at 0.07
    const double ceRea = fullSoftmaxCrossEntropy(zRea, model->itemTable(), b.target, scale).item<double>();
    const double ceDual = fullSoftmaxCrossEntropy(tr.final, model->itemTable(), b.target, scale).item<double>();
    QVERIFY2(std::abs(loss - ceRea) < 1e-5, qPrintable(QString("loss %1 vs CE(z_rea) %2").arg(loss).arg(ceRea)));
    QVERIFY(std::abs(loss - ceDual) > 1e-4);
    // And the ranking representation is h_0 + z_rea (dual) or z_rea (reasoning).
    QVERIFY(maxDiff(model->represent(b), tr.final) < 1e-6);
  }

  void pairwiseKlMatchesHand() {
    // S = 3 states, B = 2 rows, N = 4 items (+ padding row 0), scale 2.
    torch::manual_seed(3);
    auto h = torch::randn({3, 2, 5}, torch::kDouble).requires_grad_(true);
    auto table = torch::randn({5, 5}, torch::kDouble).requires_grad_(true);
    const double scale = 2.0;
    auto kl = pairwiseKlDiversity(h, table, scale);
    // By hand: mean over rows and ordered pairs i != j of sum_x p_j(x) (log p_j(x) - log p_i(x)).
    auto ht = h.detach(), et = table.detach().narrow(0, 1, 4);
    double sum = 0;
    for (int r = 0; r < 2; ++r)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          if (i == j) continue;
          auto li = torch::log_softmax(torch::mv(et, ht[i][r]) * scale, 0);
          auto lj = torch::log_softmax(torch::mv(et, ht[j][r]) * scale, 0);
          for (int x = 0; x < 4; ++x)
            sum += std::exp(lj[x].item<double>()) * (lj[x].item<double>() - li[x].item<double>());
        }
    QVERIFY(std::abs(kl.item<double>() - sum / (2 * 6)) < 1e-10);
    // Gradients: autograd through the same expression with p_i detached.
    kl.backward();
    auto h2 = h.detach().clone().requires_grad_(true);
    auto t2 = table.detach().clone().requires_grad_(true);
    auto logp = torch::log_softmax(torch::matmul(h2, t2.narrow(0, 1, 4).t()) * scale, -1);  // [S,B,N]
    torch::Tensor ref = torch::zeros({}, torch::kDouble);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        if (i != j) ref = ref + (logp[j].exp() * (logp[j] - logp[i].detach())).sum();
    ref = ref / 12.0;
    ref.backward();
    QVERIFY(maxDiff(h.grad(), h2.grad()) < 1e-10);
    QVERIFY(maxDiff(table.grad(), t2.grad()) < 1e-10);
  }

  void infoNceMatchesHand() {
    // One group, B = 2, cosine similarity, τ = 0.5.
    auto a = torch::tensor({{{1.0, 0.0}, {0.0, 2.0}}}, torch::kDouble);
    auto b = torch::tensor({{{1.0, 1.0}, {0.0, 1.0}}}, torch::kDouble);
    const double c = 1.0 / std::sqrt(2.0);
    // cos(a0,b0)=c, cos(a0,b1)=0, cos(a1,b0)=c, cos(a1,b1)=1; logits /0.5.
    const double s00 = 2 * c, s01 = 0, s10 = 2 * c, s11 = 2;
    auto lse = [](double x, double y) { return std::log(std::exp(x) + std::exp(y)); };
    const double rowLoss = ((lse(s00, s01) - s00) + (lse(s10, s11) - s11)) / 2;
    const double colLoss = ((lse(s00, s10) - s00) + (lse(s01, s11) - s11)) / 2;
    const double expected = (rowLoss + colLoss) / 2;
    QVERIFY(std::abs(symmetricInfoNce(a, b, 0.5).item<double>() - expected) < 1e-12);
  }

  void bert4recClozeMasking() {
    BackboneSpec s;
    s.name = "bert4rec";
    s.numItems = kItems;
    s.maxLen = 6;
    s.layer.d = 8;
    s.layer.heads = 2;
    s.layer.ffn = 16;
    s.maskRatio = 0.2;
    Bert4RecEncoderImpl enc(s);
    QCOMPARE(enc.maskId(), int64_t(kItems + 1));
    QCOMPARE(enc.stem.itemEmb->weight.size(0), int64_t(kItems + 2));
    QCOMPARE(enc.itemTable().size(0), int64_t(kItems + 1));  // [MASK] is never ranked
    torch::manual_seed(5);
    auto seq = torch::randint(1, kItems + 1, {2000, 6}, torch::kLong);
    seq.narrow(1, 0, 2).narrow(0, 0, 1000).zero_();  // half the rows left-padded by 2
    auto [input, labels] = enc.clozeMask(seq);
    auto masked = input.eq(enc.maskId());
    QVERIFY(masked.logical_and(seq.eq(0)).any().item<bool>() == false);  // padding never masked
    QVERIFY(masked.any(1).all().item<bool>());                          // at least one per row
    QVERIFY(maxDiff(labels.gt(0).to(torch::kFloat), masked.to(torch::kFloat)) == 0);
    QVERIFY(labels.masked_select(masked).eq(seq.masked_select(masked)).all().item<bool>());
    QVERIFY(input.masked_select(masked.logical_not()).eq(seq.masked_select(masked.logical_not())).all().item<bool>());
    const double ratio = masked.sum().item<double>() / seq.gt(0).sum().item<double>();
    // 0.2 of the real items, plus one forced item in rows where nothing was drawn:
    // 1000 rows of 6 items (P(none) = 0.8^6) and 1000 of 4 (0.8^4) -> 0.2 + (0.262 + 0.410)/10.
    const double expected = 0.2 + (std::pow(0.8, 6) * 1000 + std::pow(0.8, 4) * 1000) / 10000;
    QVERIFY2(std::abs(ratio - expected) < 0.01, qPrintable(QString("%1 vs %2").arg(ratio).arg(expected)));
    // Prediction input: [MASK] appended at the last position, oldest item dropped at max_len.
    auto [x, offset] = enc.withMaskAppended(torch::tensor({{1, 2, 3, 4, 5, 6}, {0, 0, 0, 7, 8, 9}}, torch::kLong));
    QCOMPARE(offset, 0);
    QCOMPARE(x[0][0].item<int64_t>(), int64_t(2));
    QCOMPARE(x[1][5].item<int64_t>(), enc.maskId());
    auto [y, offset2] = enc.withMaskAppended(torch::tensor({{7, 8}}, torch::kLong));
    QCOMPARE(offset2, 3);
    QCOMPARE(y.size(1), int64_t(3));
  }

  void gru4recLeftPaddingIsExact() {
    BackboneSpec s;
    s.name = "gru4rec";
    s.numItems = kItems;
    s.maxLen = 8;
    s.layers = 2;
    s.layer.d = 8;
    s.layer.dropout = 0;
    Gru4RecEncoderImpl enc(s);
    enc.eval();
    torch::NoGradGuard ng;
    EncodeOptions o;
    o.lastOnly = true;
    auto a = enc.encode(torch::tensor({{0, 0, 0, 4, 5, 6}}, torch::kLong), 2, o);
    auto b = enc.encode(torch::tensor({{4, 5, 6}}, torch::kLong), 5, o);
    QVERIFY(maxDiff(a, b) < 1e-6);
    auto c = enc.encode(torch::tensor({{0, 0, 0, 4, 5, 7}}, torch::kLong), 2, o);
    QVERIFY(maxDiff(a, c) > 1e-4);
  }

  void reasoningStepCostsOneToken() {
    // FLOPs grow by one token per stream and step, far below a full re-encoding.
    RunConfig cfg = RunConfig::fromPreset("plr-fast");
    cfg.set("model.reasoner.streams", 1);
    const int N = 1000;
    auto base = buildRecommender(RunConfig::fromPreset("sasrec"), N);
    double prev = 0;
    for (int T = 1; T <= 4; ++T) {
      cfg.set("model.reasoner.steps", T);
      const double f = buildRecommender(cfg, N)->flopsPerSample(50);
      if (T > 1) {
        const double perStep = f - prev;
        const double fullPass = base->flopsPerSample(50) - rankingFlops(64, N);
        QVERIFY2(perStep < fullPass / 25, qPrintable(QString("step %1 costs %2 vs pass %3").arg(T).arg(perStep).arg(fullPass)));
      }
      prev = f;
    }
    cfg.set("model.reasoner.steps", 2);
    cfg.set("model.reasoner.streams", 2);
    const double two = buildRecommender(cfg, N)->flopsPerSample(50);
    cfg.set("model.reasoner.streams", 1);
    const double one = buildRecommender(cfg, N)->flopsPerSample(50);
    QVERIFY(two < 1.2 * one);  // M streams cost much less than M times one stream
  }

  // Without the CPU's fused step (the path a GPU takes), PLR's streams share every LibTorch call:
  // a batch-1 representation makes as many calls with 8 streams as with 2 (one stream takes a
  // few shortcuts inside LibTorch), and each reasoning step adds the same number. On a GPU, where
  // batch-1 latency follows the calls, M streams then cost one stream's latency and T steps grow
  // it linearly.
  void streamsShareEveryOperatorCall() {
    FusedStepSwitch generic(false);
    c10::InferenceMode inference;
    const Batch b = randomBatch(1);
    auto calls = [&](const RunConfig& cfg) {
      auto model = buildRecommender(cfg, kItems);
      model->eval();
      model->represent(b);
      return countOperatorCalls([&] { model->represent(b); });
    };
    RunConfig cfg = smallConfig("plr-fast");
    std::map<std::pair<int, int>, qint64> counted;  // (streams, steps) -> calls
    for (int M : {1, 2, 4, 8})
      for (int T : {1, 2, 3}) {
        cfg.set("model.reasoner.streams", M);
        cfg.set("model.reasoner.steps", T);
        counted[std::make_pair(M, T)] = calls(cfg);
      }
    auto n = [&](int M, int T) { return counted.at(std::make_pair(M, T)); };
    for (int T : {1, 2, 3}) {
      QCOMPARE(n(4, T), n(2, T));
      QCOMPARE(n(8, T), n(2, T));
    }
    const qint64 perStep = n(2, 2) - n(2, 1);
    QVERIFY(perStep > 0);
    QCOMPARE(n(2, 3) - n(2, 2), perStep);
    const qint64 sasrec = calls(smallConfig("sasrec"));
    QVERIFY2(sasrec < n(2, 1), qPrintable(QString("sasrec %1, plr T=1 %2").arg(sasrec).arg(n(2, 1))));
    qInfo("batch-1 representation, LibTorch calls: SASRec %lld; PLR M=2: T=1 %lld, T=2 %lld, T=3 %lld",
          static_cast<long long>(sasrec), static_cast<long long>(n(2, 1)), static_cast<long long>(n(2, 2)),
          static_cast<long long>(n(2, 3)));
  }

  void traceIsComplete_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<int>("streams");
    QTest::newRow("erl") << "rearec-erl" << 1;
    QTest::newRow("prl") << "rearec-prl" << 1;
    QTest::newRow("plr") << "plr-fast" << 3;
  }
  void traceIsComplete() {
    QFETCH(QString, preset);
    QFETCH(int, streams);
    RunConfig cfg = smallConfig(preset);
    cfg.set("model.reasoner.streams", 3);
    cfg.set("model.reasoner.steps", 2);
    Recommender model = buildRecommender(cfg, kItems);
    model->eval();
    torch::NoGradGuard ng;
    const Batch b = smallBatch();
    const auto tr = model->trace(b, true);
    QCOMPARE(tr.states.sizes().vec(), (std::vector<int64_t>{3, 3, streams, 16}));
    QVERIFY(maxDiff(tr.final, model->represent(b)) < 1e-6);
    QCOMPARE(static_cast<int>(tr.candidate.size()), 3);
    // h_0 (s = 0) is the same for every stream: the oracle ranks with it once.
    for (int s = 0; s < 3; ++s)
      for (int m = 0; m < streams; ++m) QCOMPARE(bool(tr.candidate[s][m]), s > 0 || m == 0);
    QCOMPARE(static_cast<int>(tr.attention.size()), 2 + 2 * streams * 2);  // encoder + T·M·layers
    for (const auto& r : tr.attention) {
      QCOMPARE(r.itemKeys, 6);
      QCOMPARE(r.weights.size(-1), int64_t(6 + r.step));
      QVERIFY(maxDiff(r.weights.sum(-1), torch::ones_like(r.weights.sum(-1))) < 1e-5);
      // Padding items get no attention.
      QVERIFY(r.weights.select(0, 0).narrow(-1, 0, 3).abs().max().item<double>() < 1e-6);
    }
  }

  void plrScoreDropoutNeverOpensPadding() {
    // Training with attention-score dropout (the RCL views): dropped scores are zeroed before
    // the padding mask, so a reasoning token attends to padding items no more than in eval.
    RunConfig cfg = smallConfig("plr-fast");
    cfg.set("model.reasoner.streams", 3);
    cfg.set("model.reasoner.attn_score_dropout", 0.5);
    cfg.set("model.reasoner.rep_dropout", 0.0);
    auto model = std::dynamic_pointer_cast<PlrReasonerImpl>(buildRecommender(cfg, kItems));
    QVERIFY(model);
    model->train();
    torch::NoGradGuard ng;
    Batch b = smallBatch();
    b.items = b.items.repeat({20, 1});  // 60 rows: many dropout draws on the padded row kind
    const auto pass = model->reason(model->context(b), 2, true);
    QCOMPARE(static_cast<int>(pass.attention.size()), 2 * 2);  // steps x layers
    for (const auto& s : pass.attention) {
      auto padded = s.probs.index({torch::indexing::Slice(0, torch::indexing::None, 3)}).narrow(-1, 0, 3);
      QCOMPARE(padded.abs().max().item<double>(), 0.0);
      QVERIFY(maxDiff(s.probs.sum(-1), torch::ones_like(s.probs.sum(-1))) < 1e-5);
    }
  }

  void gru4recCannotReason() {
    RunConfig cfg = smallConfig("plr-fast", "gru4rec");
    try {
      buildRecommender(cfg, kItems);
      QFAIL("expected ConfigError");
    } catch (const ConfigError& e) {
      QVERIFY(e.message().contains("sasrec"));
    }
  }
};

RR_TEST_MAIN(ReasonersTest)
#include "tst_reasoners.moc"
