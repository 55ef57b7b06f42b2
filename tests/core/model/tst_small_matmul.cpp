// The batched tiny-matrix kernels used by attention equal torch::matmul, values and gradients,
// for the shapes attention produces (including non-contiguous views) and fall back elsewhere.
#include "core/model/small_matmul.h"
#include "test_main.h"

using namespace rr;

class SmallMatmulTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { torch::manual_seed(3); }

  void matchesMatmul_data() {
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("p");
    QTest::newRow("self-attention 9x32x9") << 6 << 9 << 32 << 9;
    QTest::newRow("last query 1x32x50") << 4 << 1 << 32 << 50;
    QTest::newRow("odd sizes 3x5x7") << 5 << 3 << 5 << 7;
    QTest::newRow("single element") << 1 << 1 << 1 << 1;
  }

  void matchesMatmul() {
    QFETCH(int, batch);
    QFETCH(int, m);
    QFETCH(int, k);
    QFETCH(int, p);
    // [B, L, heads, dh] transposed to [B, heads, L, dh], as attention does: non-contiguous.
    auto q = torch::randn({batch, m, 2, k}).transpose(1, 2).requires_grad_(false);
    auto kk = torch::randn({batch, p, 2, k}).transpose(1, 2);
    auto v = torch::randn({batch, p, 2, k}).transpose(1, 2);
    auto q1 = q.clone().requires_grad_(true), k1 = kk.clone().requires_grad_(true), v1 = v.clone().requires_grad_(true);
    auto q2 = q.clone().requires_grad_(true), k2 = kk.clone().requires_grad_(true), v2 = v.clone().requires_grad_(true);

    auto s1 = batchedMatmulNT(q1, k1);
    auto s2 = torch::matmul(q2, k2.transpose(-2, -1));
    QVERIFY(torch::allclose(s1, s2, 1e-5, 1e-5));
    auto o1 = batchedMatmulNN(torch::softmax(s1, -1), v1);
    auto o2 = torch::matmul(torch::softmax(s2, -1), v2);
    QVERIFY(torch::allclose(o1, o2, 1e-5, 1e-5));

    auto w = torch::randn(o1.sizes());
    (o1 * w).sum().backward();
    (o2 * w).sum().backward();
    QVERIFY(torch::allclose(q1.grad(), q2.grad(), 1e-4, 1e-5));
    QVERIFY(torch::allclose(k1.grad(), k2.grad(), 1e-4, 1e-5));
    QVERIFY(torch::allclose(v1.grad(), v2.grad(), 1e-4, 1e-5));
  }

  void fallsBackForBroadcastAndDouble() {
    auto a = torch::randn({2, 3, 4, 5}, torch::kDouble);
    auto b = torch::randn({2, 3, 6, 5}, torch::kDouble);
    QVERIFY(torch::allclose(batchedMatmulNT(a, b), torch::matmul(a, b.transpose(-2, -1))));
    auto c = torch::randn({3, 4, 5});
    auto d = torch::randn({1, 5, 2});  // broadcast leading dim
    QVERIFY(torch::allclose(batchedMatmulNN(c, d), torch::matmul(c, d)));
  }
};

RR_TEST_MAIN(SmallMatmulTest)
#include "tst_small_matmul.moc"
