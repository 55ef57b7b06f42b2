// LARES / hybrid reasoner: depth changes compute not parameters, the step samplers, the
// alignment losses against hand-computed values, the same-target positive index, deterministic
// evaluation, the hybrid's gate, the FMLP-Rec backbone.
#include "core/data/split.h"
#include "core/errors.h"
#include "core/model/fmlp_encoder.h"
#include "core/model/lares.h"
#include "core/model/latent_reasoning.h"
#include "test_main.h"

#include <cmath>
#include <map>
#include <numeric>

using namespace rr;

namespace {

RunConfig tinyConfig(const QString& preset = QStringLiteral("lares")) {
  RunConfig cfg = RunConfig::fromPreset(preset);
  cfg.set("model.d", 16);
  cfg.set("model.ffn", 32);
  cfg.set("data.max_len", 8);
  return cfg;
}

std::shared_ptr<LaresReasonerImpl> makeModel(const RunConfig& cfg, int items = 30) {
  auto m = std::dynamic_pointer_cast<LaresReasonerImpl>(buildRecommender(cfg, items));
  if (!m) qFatal("not a LARES model");
  return m;
}

Batch tinyBatch(int64_t B = 4, int W = 6, int maxLen = 8, int items = 30) {
  torch::manual_seed(0);
  Batch b;
  b.items = torch::randint(1, items + 1, {B, W}, torch::kLong);
  b.items.index_put_({0, torch::indexing::Slice(0, 2)}, 0);  // one left-padded row
  b.target = torch::randint(1, items + 1, {B}, torch::kLong);
  b.users = torch::arange(B, torch::kLong);
  b.maxLen = maxLen;
  return b;
}

/// E[min(Poisson(e^ξ) + 1, cap)] for ξ ~ N(log k̄ − σ²/2, σ²), by quadrature on a fine grid.
double cappedLognormalPoissonMean(int mean, double sigma, int cap) {
  double total = 0, weight = 0;
  for (double z = -8; z <= 8; z += 1e-3) {
    const double w = std::exp(-z * z / 2);
    const double lambda = std::exp(std::log(mean) - sigma * sigma / 2 + sigma * z);
    double pn = std::exp(-lambda), e = 0, mass = 0;
    for (int n = 0; n < cap - 1; ++n) {
      e += pn * (n + 1);
      mass += pn;
      pn *= lambda / (n + 1);
    }
    e += (1 - mass) * cap;
    total += w * e;
    weight += w;
  }
  return total / weight;
}

/// 12 users x 7 items cycling through 12 items (every user a different phase).
SequenceData cyclicData() {
  SequenceData data;
  data.numItems = 12;
  for (int u = 0; u < 12; ++u) {
    std::vector<int32_t> seq;
    for (int j = 0; j < 7; ++j) seq.push_back(1 + (u + j * 5) % 12);
    data.sequences.push_back(seq);
  }
  return data;
}

double lse2(double a, double b) { return std::log(std::exp(a) + std::exp(b)); }

}  // namespace

class LaresTest : public QObject {
  Q_OBJECT
 private slots:
  void depthChangesComputeNotParameters() {
    RunConfig shallow = tinyConfig(), deep = tinyConfig();
    shallow.set("model.reasoner.steps", 1);
    deep.set("model.reasoner.steps", 8);
    auto a = makeModel(shallow), b = makeModel(deep);
    QCOMPARE(parameterCount(*a), parameterCount(*b));
    QVERIFY(b->flopsPerSample(8) > a->flopsPerSample(8));
    // Same weights, other evaluation depth: other representation, same parameter count.
    a->eval();
    torch::NoGradGuard ng;
    Batch batch = tinyBatch();
    auto z1 = a->represent(batch);
    a->setEvalSteps(6);
    auto z6 = a->represent(batch);
    QCOMPARE(a->evalSteps(), 6);
    QVERIFY(!torch::allclose(z1, z6));
    LaresPass p = a->recur(batch.items, batch.positionOffset(), std::vector<int64_t>(6, batch.size()));
    QCOMPARE(p.steps.size(), size_t(6));
    QVERIFY(torch::allclose(p.steps.back(), z6));
  }

  void recomputedStepsGiveTheSameGradients() {
    // Same weights, same seed, dropout on: keeping or recomputing step activations must give
    // the same loss and gradients (the recomputation replays the forward's dropout masks).
    RunConfig on = tinyConfig(), off = tinyConfig();
    on.set("model.reasoner.recompute_steps", true);
    off.set("model.reasoner.recompute_steps", false);
    on.set("model.dropout", 0.3);
    off.set("model.dropout", 0.3);
    auto a = makeModel(on), b = makeModel(off);
    {
      torch::NoGradGuard ng;
      auto src = a->named_parameters();
      for (auto& p : b->named_parameters()) p.value().copy_(src[p.key()]);
    }
    Batch batch = tinyBatch();
    auto run = [&](LaresReasonerImpl& m) {
      m.train();
      m.zero_grad();
      torch::manual_seed(21);
      auto out = m.loss(batch, LossContext{});
      out.total.backward();
      std::map<std::string, torch::Tensor> g;
      for (auto& p : m.named_parameters())
        if (p.value().grad().defined()) g[p.key()] = p.value().grad().clone();
      return std::make_pair(out.total.item<double>(), g);
    };
    auto [la, ga] = run(*a);
    auto [lb, gb] = run(*b);
    QVERIFY(std::abs(la - lb) < 1e-5);
    QCOMPARE(ga.size(), gb.size());
    QVERIFY(ga.size() > 10);
    for (const auto& [name, g] : ga)
      QVERIFY2(torch::allclose(g, gb[name], 1e-4, 1e-6), name.c_str());
  }

  void samplerMeanAndCap_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<double>("expectedMean");
    QTest::addColumn<int>("maxAllowed");
    // lognormal_poisson: E[min(Poisson(e^ξ) + 1, 12)], computed by quadrature over ξ.
    QTest::newRow("lognormal_poisson") << "lognormal_poisson" << cappedLognormalPoissonMean(4, 0.5, 12) << 12;
    QTest::newRow("constant") << "constant" << 4.0 << 4;
    QTest::newRow("uniform") << "uniform" << 4.0 << 7;
  }
  void samplerMeanAndCap() {
    QFETCH(QString, kind);
    QFETCH(double, expectedMean);
    QFETCH(int, maxAllowed);
    torch::manual_seed(1);
    StepSampler s;
    s.kind = StepSampler::parse(kind);
    s.mean = 4;
    const auto ks = s.sample(40000);
    double sum = 0;
    int lo = 1000, hi = 0;
    for (int k : ks) {
      sum += k;
      lo = std::min(lo, k);
      hi = std::max(hi, k);
    }
    const double mean = sum / ks.size();
    QVERIFY2(std::abs(mean - expectedMean) < 0.05, qPrintable(QString::number(mean)));
    QVERIFY(lo >= 1);
    QVERIFY(hi <= maxAllowed);
    QCOMPARE(s.cap(), 12);
    if (kind == QLatin1String("lognormal_poisson")) QVERIFY(hi == 12);  // the cap binds sometimes
    // A tight cap is respected.
    s.capFactor = 1.0;
    for (int k : s.sample(2000)) QVERIFY(k <= 4);
  }

  void infoNceHandComputed() {
    // One group of two rows ([G=1, B=2, d=2]), as TLA and SLA call it.
    auto a = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 2, 2});
    auto b = torch::tensor({1.0f, 1.0f, 0.0f, 2.0f}).view({1, 2, 2});
    // S = a·bᵀ = [[1, 0], [1, 2]]: rows (a -> b) and columns (b -> a), labels on the diagonal.
    const double rows = (lse2(1, 0) - 1 + lse2(1, 2) - 2) / 2;
    const double cols = (lse2(1, 1) - 1 + lse2(0, 2) - 2) / 2;
    QVERIFY(std::abs(symmetricInfoNce(a, b, 1.0, false).item<double>() - (rows + cols) / 2) < 1e-6);
    // Temperature 0.5 doubles every similarity.
    const double rows2 = (lse2(2, 0) - 2 + lse2(2, 4) - 4) / 2;
    const double cols2 = (lse2(2, 2) - 2 + lse2(0, 4) - 4) / 2;
    QVERIFY(std::abs(symmetricInfoNce(a, b, 0.5, false).item<double>() - (rows2 + cols2) / 2) < 1e-6);
    // Cosine: b rows normalised to [1,1]/√2 and [0,1].
    const double c = 1 / std::sqrt(2.0);
    const double rowsC = (lse2(c, 0) - c + lse2(c, 1) - 1) / 2;
    const double colsC = (lse2(c, c) - c + lse2(0, 1) - 1) / 2;
    QVERIFY(std::abs(symmetricInfoNce(a, b, 1.0, true).item<double>() - (rowsC + colsC) / 2) < 1e-6);
  }

  void tlaAndSlaUseTheirTemperatures() {
    RunConfig cfg = tinyConfig();
    cfg.set("train.tla_temperature", 0.5);
    cfg.set("train.sla_temperature", 2.0);
    auto m = makeModel(cfg);
    auto a = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2});
    auto b = torch::tensor({1.0f, 1.0f, 0.0f, 2.0f}).view({2, 2});
    const double tla = ((lse2(2, 0) - 2 + lse2(2, 4) - 4) / 2 + (lse2(2, 2) - 2 + lse2(0, 4) - 4) / 2) / 2;
    QVERIFY(std::abs(m->tlaLoss(a, b).item<double>() - tla) < 1e-6);
    const double sla = ((lse2(0.5, 0) - 0.5 + lse2(0.5, 1) - 1) / 2 + (lse2(0.5, 0.5) - 0.5 + lse2(0, 1) - 1) / 2) / 2;
    QVERIFY(std::abs(m->slaLoss(a, b).item<double>() - sla) < 1e-6);
  }

  void positiveIndex() {
    SequenceData data;
    data.numItems = 9;
    data.sequences = {{1, 2, 3, 4, 5}, {2, 3, 9, 8, 7}, {6, 3, 1, 2, 4}};
    const DataSplit split = makeSplit(data, SplitOptions{});
    PositiveIndex index;
    index.build(data, split);
    // Training parts: [1 2 3], [2 3 9], [6 3 1]; sample (user, end) predicts seq[end-1].
    const auto& three = index.samplesFor(3);
    QCOMPARE(three.size(), size_t(3));
    QCOMPARE(three[0].user, 0);
    QCOMPARE(three[0].end, 3);
    QCOMPARE(three[1].user, 1);
    QCOMPARE(three[1].end, 2);
    QCOMPARE(three[2].user, 2);
    QCOMPARE(three[2].end, 2);
    QCOMPARE(index.samplesFor(2).size(), size_t(1));
    QCOMPARE(index.samplesFor(1).size(), size_t(1));
    QVERIFY(index.samplesFor(4).empty());  // 4 is only a validation/test target
    QVERIFY(index.samplesFor(9).size() == 1);

    BatchBuilder builder(data, 8);
    auto units = trainingUnits(split, TargetMode::Last);
    // Rows: user 0 predicting 3 (input [1 2]) and user 0 predicting 2 (input [1]).
    std::vector<int64_t> rows;
    for (size_t i = 0; i < units.size(); ++i)
      if (units[i].user == 0) rows.push_back(static_cast<int64_t>(i));
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return units[a].end < units[b].end; });
    Batch b = builder.trainBatch(units, rows, TargetMode::Last);
    QCOMPARE(b.target[0].item<int64_t>(), int64_t(2));
    QCOMPARE(b.target[1].item<int64_t>(), int64_t(3));
    auto [pos, found] = index.positives(b, builder, {0.0, 0.0});
    QVERIFY(!found[0]);  // 2 is only user 0's own target: fallback to the row's own input
    QVERIFY(found[1]);   // draw 0 hits user 0 itself, so the next sample (user 1, input [2])
    QCOMPARE(pos.size(1), int64_t(2));
    QCOMPARE(pos[0][0].item<int64_t>(), int64_t(0));
    QCOMPARE(pos[0][1].item<int64_t>(), int64_t(1));
    QCOMPARE(pos[1][0].item<int64_t>(), int64_t(0));
    QCOMPARE(pos[1][1].item<int64_t>(), int64_t(2));
    auto [pos2, found2] = index.positives(b, builder, {0.0, 0.99});
    QVERIFY(found2[1]);
    QCOMPARE(pos2[1][1].item<int64_t>(), int64_t(6));  // draw 0.99 -> user 2's sample: input [6] predicts 3
  }

  void evaluationIsDeterministicWithZeroT0() {
    auto m = makeModel(tinyConfig());
    Batch batch = tinyBatch();
    m->eval();
    torch::NoGradGuard ng;
    QVERIFY(torch::equal(m->represent(batch), m->represent(batch)));
    RunConfig random = tinyConfig();
    random.set("model.reasoner.t0_eval", "random");
    auto r = makeModel(random);
    r->eval();
    QVERIFY(!torch::allclose(r->represent(batch), r->represent(batch)));
    m->train();
    QVERIFY(!torch::allclose(m->represent(batch), m->represent(batch)));  // dropout + random T0
  }

  void lengthGroupsGiveTheSameStatesAsOneBatch() {
    // Rows of lengths 1..8 in one left-padded batch: computing them in length groups, each
    // trimmed to its own width, must not change any row's final state (evaluation, zero T0).
    auto m = makeModel(tinyConfig());
    m->eval();
    torch::NoGradGuard ng;
    torch::manual_seed(4);
    const int64_t P = 9, W = 8;
    auto items = torch::randint(1, 31, {P, W}, torch::kLong);
    for (int64_t r = 0; r < P; ++r) {
      const int64_t len = 1 + (r * 5) % W;  // lengths in a shuffled order
      if (len < W) items.index_put_({r, torch::indexing::Slice(0, W - len)}, 0);
    }
    auto whole = m->recur(items, 0, std::vector<int64_t>(3, P)).steps.back();
    auto grouped = m->finalStatesByLength(items, static_cast<int>(W), 3);
    QCOMPARE(grouped.sizes(), whole.sizes());
    QVERIFY2(torch::allclose(grouped, whole, 1e-4, 1e-5),
             qPrintable(QString::number((grouped - whole).abs().max().item<double>())));
  }

  void lossesRunInBothTargetModes_data() {
    QTest::addColumn<QString>("targets");
    QTest::addColumn<QString>("combine");
    QTest::newRow("last/add") << "last" << "add";
    QTest::newRow("all_positions/concat") << "all_positions" << "concat";
    QTest::newRow("last/gated") << "last" << "gated";
  }
  void lossesRunInBothTargetModes() {
    QFETCH(QString, targets);
    QFETCH(QString, combine);
    const SequenceData data = cyclicData();
    const DataSplit split = makeSplit(data, SplitOptions{});
    BatchBuilder builder(data, 8);
    RunConfig cfg = tinyConfig();
    cfg.set("train.targets", targets);
    cfg.set("model.reasoner.combine", combine);
    cfg.set("model.reasoner.sampler", "constant");
    auto m = std::dynamic_pointer_cast<LaresReasonerImpl>(buildRecommender(cfg, data.numItems));
    m->prepareTraining(data, split, builder);
    const TargetMode mode = parseTargetMode(targets);
    auto units = trainingUnits(split, mode);
    std::vector<int64_t> rows(units.size());
    std::iota(rows.begin(), rows.end(), 0);
    Batch b = builder.trainBatch(units, rows, mode);
    m->train();
    LossOutput out = m->loss(b, LossContext{});
    QVERIFY(torch::isfinite(out.total).item<bool>());
    QStringList names;
    for (const auto& [n, v] : out.parts) names << QString::fromStdString(n);
    QVERIFY(names.contains("ce") && names.contains("tla") && names.contains("sla"));
    out.total.backward();
    int withGrad = 0;
    for (const auto& p : m->parameters()) withGrad += p.grad().defined() ? 1 : 0;
    QVERIFY(withGrad > 10);
  }

  void hybridAppliesPlrObjectives_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<double>("rcl");
    QTest::addColumn<double>("div");
    QTest::addColumn<QString>("sign");
    QTest::newRow("hybrid, both, reward") << "hybrid" << 1.0 << 0.1 << "reward";
    QTest::newRow("hybrid, both, penalty") << "hybrid" << 0.5 << 0.2 << "penalty";
    QTest::newRow("hybrid, neither") << "hybrid" << 0.0 << 0.0 << "reward";
    QTest::newRow("lares ignores them") << "lares" << 1.0 << 0.1 << "reward";
  }
  void hybridAppliesPlrObjectives() {
    // SPEC §3.5: all LARES and PLR objectives apply to the hybrid. The total must be exactly
    // ce + α·tla + γ·sla + w·rcl ∓ λ·div_kl, with the PLR parts present only for the hybrid.
    QFETCH(QString, preset);
    QFETCH(double, rcl);
    QFETCH(double, div);
    QFETCH(QString, sign);
    const SequenceData data = cyclicData();
    const DataSplit split = makeSplit(data, SplitOptions{});
    BatchBuilder builder(data, 8);
    RunConfig cfg = tinyConfig(preset);
    cfg.set("model.reasoner.sampler", "constant");
    cfg.set("train.rcl_weight", rcl);
    cfg.set("train.div_weight", div);
    cfg.set("train.div_sign", sign);
    auto m = std::dynamic_pointer_cast<LaresReasonerImpl>(buildRecommender(cfg, data.numItems));
    m->prepareTraining(data, split, builder);
    auto units = trainingUnits(split, TargetMode::Last);
    std::vector<int64_t> rows(units.size());
    std::iota(rows.begin(), rows.end(), 0);
    m->train();
    torch::manual_seed(8);
    LossOutput out = m->loss(builder.trainBatch(units, rows, TargetMode::Last), LossContext{});
    QMap<QString, double> part;
    for (const auto& [n, v] : out.parts) part[QString::fromStdString(n)] = v.item<double>();
    const bool plrTerms = preset == QLatin1String("hybrid");
    QCOMPARE(part.contains("rcl"), plrTerms && rcl > 0);
    QCOMPARE(part.contains("div_kl"), plrTerms && div > 0);
    double expect = part["ce"] + 0.1 * part["tla"] + 0.5 * part["sla"];
    if (part.contains("rcl")) expect += rcl * part["rcl"];
    if (part.contains("div_kl")) expect += (sign == QLatin1String("reward") ? -div : div) * part["div_kl"];
    QVERIFY2(std::abs(out.total.item<double>() - expect) < 1e-4,
             qPrintable(QStringLiteral("%1 vs %2").arg(out.total.item<double>()).arg(expect)));
    if (part.contains("div_kl")) QVERIFY(part["div_kl"] > 0);  // streams from different triggers differ
    out.total.backward();
    QVERIFY(!plrTerms || m->named_parameters()["triggers"].grad().abs().sum().item<double>() > 0);
  }

  void hybridGateSumsToOneAndTraceHasStreams() {
    RunConfig cfg = tinyConfig("hybrid");
    cfg.set("model.reasoner.streams", 3);
    auto m = makeModel(cfg);
    QCOMPARE(m->streams(), 3);
    m->eval();
    torch::NoGradGuard ng;
    Batch batch = tinyBatch();
    ReasoningTrace t = m->trace(batch, true);
    QCOMPARE(t.states.sizes().vec(), (std::vector<int64_t>{4, 5, 3, 16}));
    QCOMPARE(t.gate.sizes().vec(), (std::vector<int64_t>{4, 3}));
    QVERIFY(torch::allclose(t.gate.sum(1), torch::ones({4})));
    QVERIFY((t.gate >= 0).all().item<bool>());
    // final = gated sum of the last step's streams
    auto expect = (t.states.select(1, 4) * t.gate.unsqueeze(-1)).sum(1);
    QVERIFY(torch::allclose(t.final, expect, 1e-5, 1e-6));
    // streams differ (different triggers), and the trace matches represent()
    QVERIFY(!torch::allclose(t.states.select(1, 4).select(1, 0), t.states.select(1, 4).select(1, 1)));
    QVERIFY(torch::allclose(m->represent(batch), t.final, 1e-5, 1e-6));
    // attention: pre-block layers at step 0 (one record per layer), core layers × streams later
    int step0 = 0, step4 = 0;
    for (const auto& r : t.attention) {
      if (r.step == 0) ++step0;
      if (r.step == 4) ++step4;
      QCOMPARE(r.weights.size(0), int64_t(4));
    }
    QCOMPARE(step0, 2);
    QCOMPARE(step4, 2 * 3);
    // mean aggregation has no gate
    cfg.set("model.reasoner.aggregate", "mean");
    auto mean = makeModel(cfg);
    mean->eval();
    QVERIFY(!mean->trace(batch, false).gate.defined());
  }

  void laresTraceStates() {
    auto m = makeModel(tinyConfig());
    m->eval();
    torch::NoGradGuard ng;
    Batch batch = tinyBatch();
    ReasoningTrace t = m->trace(batch, false);
    QCOMPARE(t.states.sizes().vec(), (std::vector<int64_t>{4, 5, 1, 16}));
    QVERIFY(torch::allclose(t.states.select(1, 4).select(1, 0), t.final));
    QVERIFY(!t.gate.defined());
    QVERIFY(!t.candidate[0][0] && t.candidate[1][0]);
  }

  void fmlpBackbone() {
    RunConfig cfg = tinyConfig();
    cfg.set("model.backbone", "fmlprec");
    cfg.set("train.targets", "last");
    auto m = makeModel(cfg);
    Batch batch = tinyBatch();
    m->train();
    auto out = m->loss(batch, LossContext{});
    QVERIFY(torch::isfinite(out.total).item<bool>());
    m->eval();
    torch::NoGradGuard ng;
    QCOMPARE(m->represent(batch).sizes().vec(), (std::vector<int64_t>{4, 16}));
    // The filter mixes all positions: per-position training would read the future.
    cfg.set("train.targets", "all_positions");
    try {
      buildRecommender(cfg, 30);
      QFAIL("expected ConfigError");
    } catch (const ConfigError& e) {
      QCOMPARE(e.key(), QStringLiteral("train.targets"));
    }
    // FMLP-Rec alone is a backbone for the plain recommender too.
    RunConfig plain = RunConfig::fromPreset("fmlprec");
    plain.set("model.d", 16);
    plain.set("data.max_len", 8);
    auto rec = buildRecommender(plain, 30);
    rec->eval();
    QCOMPARE(rec->represent(batch).sizes().vec(), (std::vector<int64_t>{4, 16}));
  }
};

RR_TEST_MAIN(LaresTest)
#include "tst_lares.moc"
