// The fused full-softmax cross-entropy equals LibTorch's log_softmax + nll in value and gradient.
#include "core/model/scoring.h"
#include "test_main.h"

using namespace rr;

class ScoringTest : public QObject {
  Q_OBJECT
 private slots:
  void matchesReference_data() {
    QTest::addColumn<double>("scale");
    QTest::newRow("tau 1") << 1.0;
    QTest::newRow("tau 0.07") << 1.0 / 0.07;
  }
  void matchesReference() {
    QFETCH(double, scale);
    torch::manual_seed(3);
    const int64_t P = 7, N = 13, d = 5;
    auto table = torch::randn({N + 1, d}, torch::kDouble).requires_grad_();
    auto h = torch::randn({P, d}, torch::kDouble).requires_grad_();
    auto targets = torch::randint(1, N + 1, {P}, torch::kLong);

    auto fused = fullSoftmaxCrossEntropy(h, table, targets, scale);
    fused.backward();
    auto gh = h.grad().clone(), gt = table.grad().clone();
    h.mutable_grad().zero_();
    table.mutable_grad().zero_();

    auto logits = torch::mm(h, table.narrow(0, 1, N).t()) * scale;
    auto ref = torch::nll_loss(torch::log_softmax(logits, 1), targets - 1);
    ref.backward();
    QVERIFY(std::fabs(fused.item<double>() - ref.item<double>()) < 1e-10);
    QVERIFY(torch::allclose(gh, h.grad(), 1e-10, 1e-10));
    QVERIFY(torch::allclose(gt, table.grad(), 1e-10, 1e-10));
    QCOMPARE(gt[0].abs().sum().item<double>(), 0.0);  // padding row never a class
  }

  void emptyBatchIsZero() {
    auto table = torch::randn({5, 3}).requires_grad_();
    auto h = torch::randn({0, 3}).requires_grad_();
    auto l = fullSoftmaxCrossEntropy(h, table, torch::zeros({0}, torch::kLong));
    QCOMPARE(l.item<float>(), 0.0f);
    l.backward();
  }
};

RR_TEST_MAIN(ScoringTest)
#include "tst_scoring.moc"
