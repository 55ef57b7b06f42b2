// Transformer blocks and the SASRec encoder: attention is a distribution, causality holds, the
// evaluation shortcuts (last position only, trimmed padding) are exact.
#include "core/model/cpu_kernels.h"
#include "core/model/encoder.h"
#include "core/model/layers.h"
#include "test_main.h"

using namespace rr;

namespace {
BackboneSpec spec(int items = 30, int maxLen = 8) {
  BackboneSpec s;
  s.numItems = items;
  s.maxLen = maxLen;
  s.layers = 2;
  s.layer.d = 16;
  s.layer.heads = 2;
  s.layer.ffn = 32;
  s.layer.dropout = 0.0;
  s.layer.attnDropout = 0.0;
  return s;
}
}  // namespace

class LayersTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { torch::manual_seed(1); }

  void attentionRowsSumToOne() {
    auto enc = std::make_shared<SasrecEncoderImpl>(spec());
    enc->eval();
    auto items = torch::tensor({{0, 0, 3, 4, 5}, {1, 2, 3, 4, 5}}, torch::kLong);
    std::vector<torch::Tensor> w;
    EncodeOptions o;
    o.hooks.weights = &w;
    torch::NoGradGuard ng;
    enc->encode(items, 3, o);
    QCOMPARE(static_cast<int>(w.size()), 2);
    for (const auto& t : w) {
      QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{2, 2, 5, 5}));
      QVERIFY(torch::allclose(t.sum(-1), torch::ones({2, 2, 5}), 1e-5, 1e-5));
      // padding keys get no weight from real queries; the future gets none either
      QVERIFY(t[0].select(1, 4).select(1, 0).abs().max().item<float>() < 1e-6);
      QVERIFY(t[1].select(1, 1).narrow(1, 2, 3).abs().max().item<float>() < 1e-6);
    }
  }

  void scoreDropoutKeepsMasksClosed() {
    // PLR's attention-score dropout zeroes scores; a zeroed masked score must not open a
    // padding or future key to the query.
    MultiHeadAttention mha(16, 2, 0.0);
    mha->train();
    auto x = torch::randn({64, 5, 16});
    auto bias = torch::zeros({64, 1, 5, 5});
    bias.narrow(3, 0, 2).fill_(kMaskedScore);  // keys 0 and 1 are padding for every query
    std::vector<torch::Tensor> w;
    AttentionHooks hooks;
    hooks.weights = &w;
    hooks.scoreDropout = 0.5;
    torch::NoGradGuard ng;
    mha->attend(x, x, x, bias, hooks);
    QCOMPARE(static_cast<int>(w.size()), 1);
    QCOMPARE(w[0].narrow(3, 0, 2).abs().max().item<float>(), 0.0f);
    QVERIFY(torch::allclose(w[0].sum(-1), torch::ones({64, 2, 5}), 1e-5, 1e-5));
  }

  void causalityHolds() {
    auto enc = std::make_shared<SasrecEncoderImpl>(spec());
    enc->eval();
    torch::NoGradGuard ng;
    auto a = torch::tensor({{1, 2, 3, 4, 5}}, torch::kLong);
    auto b = torch::tensor({{1, 2, 3, 9, 7}}, torch::kLong);
    auto ha = enc->encode(a, 3), hb = enc->encode(b, 3);
    QVERIFY(torch::allclose(ha.narrow(1, 0, 3), hb.narrow(1, 0, 3), 1e-6, 1e-6));
    QVERIFY(!torch::allclose(ha.narrow(1, 3, 2), hb.narrow(1, 3, 2), 1e-3, 1e-3));
  }

  void lastOnlyEqualsFullPass() {
    for (bool preNorm : {false, true}) {
      auto s = spec();
      s.layer.preNorm = preNorm;
      auto enc = std::make_shared<SasrecEncoderImpl>(s);
      enc->eval();
      torch::NoGradGuard ng;
      auto items = torch::tensor({{0, 0, 3, 4, 5}, {1, 2, 3, 4, 5}}, torch::kLong);
      EncodeOptions last;
      last.lastOnly = true;
      auto full = enc->encode(items, 3).select(1, 4);
      auto shortcut = enc->encode(items, 3, last).squeeze(1);
      QVERIFY(torch::allclose(full, shortcut, 1e-5, 1e-6));
    }
  }

  void inferenceGeluMatchesTorch() {
    // The erf approximation (A&S 7.1.28, |error| <= 3e-7) against torch::gelu's exact form,
    // across the whole range, the clamp at |x|/sqrt(2) = 6 and beyond, vector tails (odd n);
    // relative to max(1, |x|): x/2 times the erf error (1.5e-7) plus float rounding.
    auto x = torch::cat({torch::linspace(-14, 14, 200001), torch::tensor({0.0f, 1e-30f, -1e-30f, 40.0f, -40.0f})});
    const auto reference = torch::gelu(x);
    torch::Tensor fast;
    {
      torch::NoGradGuard ng;
      fast = geluOfFresh(x.clone());
    }
    const auto err = (fast - reference).abs() / x.abs().clamp_min(1.0);
    QVERIFY2(err.max().item<float>() < 5e-7, qPrintable(QString::number(err.max().item<float>())));
    // Whatever the width of the build's vectors, every element is computed (n = 1..40).
    for (int n = 1; n <= 40; ++n) {
      auto part = x.narrow(0, 100000 - n, n).clone();
      const auto expect = torch::gelu(part);
      geluInPlace(part.data_ptr<float>(), n);
      QVERIFY((part - expect).abs().max().item<float>() < 1e-6);
    }
  }

  void inferenceGeluLeavesTrainingToTorch() {
    // Recording gradients: torch::gelu (differentiable), the input untouched.
    auto x = torch::randn({5, 7}, torch::requires_grad());
    auto y = geluOfFresh(x * 1.0);
    y.sum().backward();
    QVERIFY(x.grad().defined() && x.grad().abs().sum().item<float>() > 0);
    // A non-contiguous view is not written through.
    torch::NoGradGuard ng;
    auto base = torch::randn({6, 8});
    const auto before = base.clone();
    auto out = geluOfFresh(base.t());
    QVERIFY(torch::equal(base, before));
    QVERIFY(torch::allclose(out, torch::gelu(before.t()), 1e-6, 1e-7));
  }

  void trimmedPaddingIsExact() {
    // The same sequence padded to the full window or trimmed to its length gives the same last
    // state when positions are offset so the most recent item is always at max_len-1.
    auto enc = std::make_shared<SasrecEncoderImpl>(spec(30, 8));
    enc->eval();
    torch::NoGradGuard ng;
    auto padded = torch::tensor({{0, 0, 0, 0, 0, 7, 8, 9}}, torch::kLong);
    auto trimmed = torch::tensor({{7, 8, 9}}, torch::kLong);
    auto a = enc->encode(padded, 0).select(1, 7);
    auto b = enc->encode(trimmed, 5).select(1, 2);
    QVERIFY(torch::allclose(a, b, 1e-5, 1e-6));
  }

  void flopsCountIsAnalytic() {
    LayerOptions o;
    o.d = 64;
    o.ffn = 256;
    // q,k,v,o projections 8Ld^2, scores+mix 4L^2d, ffn 4Ldf
    const double L = 10;
    QCOMPARE(transformerLayerFlops(o, L, L), 8 * L * 64 * 64 + 4 * L * L * 64 + 4 * L * 64 * 256);
  }
};

RR_TEST_MAIN(LayersTest)
#include "tst_layers.moc"
