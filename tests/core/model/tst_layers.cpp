// Transformer blocks and the SASRec encoder: attention is a distribution, causality holds, the
// evaluation shortcuts (last position only, trimmed padding) are exact.
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
