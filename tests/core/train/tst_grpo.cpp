// GRPO pieces against hand-computed values: advantages, the k3 KL, PPO clipping, rewards, and
// the chunked target log-probability against autograd's log_softmax.
#include "core/eval/evaluator.h"
#include "core/train/grpo.h"
#include "test_main.h"

#include <cmath>

using namespace rr;

class GrpoTest : public QObject {
  Q_OBJECT
 private slots:
  void advantages() {
    auto r = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 0.5f, 0.5f, 0.5f, 0.5f}).view({2, 4});
    auto a = groupAdvantages(r);
    const double sd = std::sqrt(1.0 / 3.0);  // unbiased: sum of squares 4·0.25 over G−1 = 3
    const double hi = 0.5 / (sd + 1e-4);
    QVERIFY(std::abs(a[0][0].item<double>() - hi) < 1e-5);
    QVERIFY(std::abs(a[0][1].item<double>() + hi) < 1e-5);
    QVERIFY(std::abs(a[1][2].item<double>()) < 1e-7);  // equal rewards: no signal
  }

  void klK3HandComputed() {
    auto logp = torch::tensor({-1.0, -2.0, -3.0}, torch::kDouble);
    auto ref = torch::tensor({-1.5, -1.0, -3.0}, torch::kDouble);
    auto kl = klK3(logp, ref);
    QVERIFY(std::abs(kl[0].item<double>() - (std::exp(-0.5) + 0.5 - 1)) < 1e-12);
    QVERIFY(std::abs(kl[1].item<double>() - (std::exp(1.0) - 1 - 1)) < 1e-12);
    QCOMPARE(kl[2].item<double>(), 0.0);
  }

  void stepKlAveragesEachRolloutsSteps() {
    // Rollout 0 has two steps, rollout 1 one step, rollout 2 none.
    auto logp = torch::tensor({-1.0, -2.0, -3.0}, torch::kDouble);
    auto ref = torch::tensor({-1.5, -1.0, -3.0}, torch::kDouble);
    auto rows = torch::tensor({0, 0, 1}, torch::kLong);
    auto kl = stepKlK3(logp, ref, rows, 3);
    const double k0 = std::exp(-0.5) + 0.5 - 1, k1 = std::exp(1.0) - 1 - 1;
    QVERIFY(std::abs(kl[0].item<double>() - (k0 + k1) / 2) < 1e-12);
    QCOMPARE(kl[1].item<double>(), 0.0);
    QCOMPARE(kl[2].item<double>(), 0.0);
    // The rollout-level estimate of the same drift: exp() of the summed log-ratio (0.5 nats).
    auto sum = klK3(torch::tensor({-3.0}, torch::kDouble), torch::tensor({-2.5}, torch::kDouble));
    QVERIFY(std::abs(sum[0].item<double>() - (std::exp(0.5) - 0.5 - 1)) < 1e-12);
    // Ten steps drifting 3 nats each: the per-step mean stays e³ − 4, the rollout-level
    // estimate is e³⁰ − 31 (about 1e13), the explosion seen in RPT on Toys.
    auto drift = stepKlK3(torch::full({10}, -4.0, torch::kDouble), torch::full({10}, -1.0, torch::kDouble),
                          torch::zeros({10}, torch::kLong), 1);
    QVERIFY(std::abs(drift[0].item<double>() - (std::exp(3.0) - 4)) < 1e-9);
    QVERIFY(klK3(torch::tensor({-40.0}, torch::kDouble), torch::tensor({-10.0}, torch::kDouble))[0].item<double>() > 1e13);
  }

  void clipping() {
    auto old = torch::zeros({2}, torch::kDouble);
    auto logp = torch::tensor({std::log(1.5), std::log(0.5)}, torch::kDouble);
    // Positive advantages: ratio 1.5 is clipped to 1.2, ratio 0.5 keeps its own (smaller) value.
    GrpoTerms pos = grpoObjective(logp, old, klK3(logp, logp), torch::ones({2}, torch::kDouble), 0.2, 1.0);
    QVERIFY(std::abs(pos.loss.item<double>() - (-(1.2 + 0.5) / 2)) < 1e-12);
    QCOMPARE(pos.clipFraction.item<double>(), 0.5);
    QCOMPARE(pos.kl.item<double>(), 0.0);
    // Negative advantages: 0.5 is clipped to 0.8 (min picks −0.8), 1.5 stays (−1.5).
    GrpoTerms neg = grpoObjective(logp, old, klK3(logp, logp), -torch::ones({2}, torch::kDouble), 0.2, 1.0);
    QVERIFY(std::abs(neg.loss.item<double>() - (1.5 + 0.8) / 2) < 1e-12);
    QCOMPARE(neg.clipFraction.item<double>(), 0.5);
    // With ratio 1 (one update per batch) nothing is clipped; the KL enters with weight β.
    auto ref = torch::tensor({-0.5, 0.0}, torch::kDouble);
    auto zero = torch::zeros({2}, torch::kDouble);
    GrpoTerms one = grpoObjective(zero, zero, klK3(zero, ref), torch::tensor({2.0, -1.0}, torch::kDouble), 0.2, 0.5);
    const double kl0 = std::exp(-0.5) + 0.5 - 1;
    QVERIFY(std::abs(one.loss.item<double>() - (-((2.0 - 0.5 * kl0) + (-1.0)) / 2)) < 1e-12);
    QCOMPARE(one.clipFraction.item<double>(), 0.0);
    // Gradient at ratio 1 is the policy gradient: d loss / d logp = −A/n (+ β dKL).
    auto lp = torch::zeros({2}, torch::TensorOptions().dtype(torch::kDouble).requires_grad(true));
    grpoObjective(lp, lp.detach(), klK3(lp, lp.detach()), torch::tensor({2.0, -1.0}, torch::kDouble), 0.2, 1.0).loss.backward();
    QVERIFY(std::abs(lp.grad()[0].item<double>() + 1.0) < 1e-12);
    QVERIFY(std::abs(lp.grad()[1].item<double>() - 0.5) < 1e-12);
  }

  void rewards() {
    auto rank = torch::tensor({0, 1, 9, 10}, torch::kLong);
    auto ndcg = rankReward(rank, "ndcg@10");
    QVERIFY(std::abs(ndcg[0].item<double>() - 1.0) < 1e-6);
    QVERIFY(std::abs(ndcg[1].item<double>() - 1 / std::log2(3.0)) < 1e-6);
    QVERIFY(std::abs(ndcg[2].item<double>() - 1 / std::log2(11.0)) < 1e-6);
    QCOMPARE(ndcg[3].item<double>(), 0.0);
    auto recall = rankReward(rank, "recall@5");
    QCOMPARE(recall.sum().item<double>(), 2.0);
  }

  void targetLogProbsMatchAutograd() {
    torch::manual_seed(3);
    const int64_t P = 2100, N = 40, d = 8;  // more than one 1024-row chunk
    auto h = torch::randn({P, d}, torch::requires_grad());
    auto table = torch::randn({N + 1, d}, torch::requires_grad());
    auto targets = torch::randint(1, N + 1, {P}, torch::kLong);
    auto w = torch::randn({P});
    auto [lp, rank] = targetLogProbs(h, table, targets, 2.0);
    (lp * w).sum().backward();
    auto gh = h.grad().clone(), gt = table.grad().clone();
    h.grad().zero_();
    table.grad().zero_();
    auto logits = torch::mm(h, table.narrow(0, 1, N).t()) * 2.0;
    auto ref = torch::log_softmax(logits, 1).gather(1, (targets - 1).unsqueeze(1)).squeeze(1);
    (ref * w).sum().backward();
    QVERIFY(torch::allclose(lp, ref, 1e-4, 1e-5));
    QVERIFY(torch::allclose(gh, h.grad(), 1e-4, 1e-5));
    QVERIFY(torch::allclose(gt, table.grad(), 1e-4, 1e-5));
    torch::NoGradGuard ng;
    auto expectRank = FullRankingEvaluator::ranksFromScores(torch::mm(h, table.t()) * 2.0, targets);
    QVERIFY(torch::equal(rank, expectRank));
  }
};

RR_TEST_MAIN(GrpoTest)
#include "tst_grpo.moc"
