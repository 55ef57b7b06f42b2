// Checkpoints round-trip model, optimizer, RNG and state; failures keep the previous file.
#include "core/errors.h"
#include "core/train/checkpoint.h"
#include "test_main.h"

#include <QFile>
#include <QTemporaryDir>

using namespace rr;

class CheckpointTest : public QObject {
  Q_OBJECT
 private slots:
  void roundTrip() {
    QTemporaryDir dir;
    const QString path = dir.filePath("spt-last.pt");
    torch::manual_seed(1);
    torch::nn::Linear a(4, 3), b(4, 3);
    torch::optim::Adam optA(a->parameters(), 1e-2), optB(b->parameters(), 1e-2);
    auto loss = a(torch::randn({8, 4})).pow(2).sum();
    loss.backward();
    optA.step();
    StageState s;
    s.epoch = 3;
    s.step = 120;
    s.bestEpoch = 2;
    s.bestMetric = 0.25;
    s.bestValid = QJsonObject{{"ndcg@10", 0.25}};
    saveCheckpoint(path, *a, &optA, s);
    const auto expectNext = torch::rand({3});  // RNG continues from the saved state

    optA.zero_grad();
    torch::manual_seed(99);
    const StageState r = loadCheckpoint(path, *b, &optB, true);
    QCOMPARE(r.epoch, 3);
    QCOMPARE(r.step, int64_t(120));
    QCOMPARE(r.bestValid.value("ndcg@10").toDouble(), 0.25);
    QVERIFY(torch::equal(a->weight, b->weight));
    QVERIFY(torch::equal(torch::rand({3}), expectNext));
    // The optimizer's moments came back too: one more identical step keeps the weights equal.
    for (auto* m : {&a, &b}) {
      auto l = (*m)(torch::ones({2, 4})).sum();
      l.backward();
    }
    optA.step();
    optB.step();
    QVERIFY(torch::allclose(a->weight, b->weight));
  }

  void corruptFileIsAClearError() {
    QTemporaryDir dir;
    const QString path = dir.filePath("bad.pt");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not a checkpoint");
    f.close();
    torch::nn::Linear m(2, 2);
    try {
      loadCheckpoint(path, *m, nullptr, false);
      QFAIL("expected RunError");
    } catch (const RunError& e) {
      QVERIFY(e.message().contains(path));
    }
  }

  void shapeMismatchIsAClearError() {
    QTemporaryDir dir;
    const QString path = dir.filePath("m.pt");
    torch::nn::Linear small(2, 2), big(3, 2);
    saveCheckpoint(path, *small, nullptr, StageState{});
    try {
      loadCheckpoint(path, *big, nullptr, false);
      QFAIL("expected RunError");
    } catch (const RunError& e) {
      QVERIFY(e.message().contains("does not fit"));
    }
  }

  void fullDiskKeepsThePreviousCheckpoint() {
    QTemporaryDir dir;
    const QString path = dir.filePath("spt-last.pt");
    torch::nn::Linear m(2, 2);
    StageState s;
    s.epoch = 1;
    saveCheckpoint(path, *m, nullptr, s);
    // The temporary file lands on a device that is always full (ENOSPC on write).
    QVERIFY(QFile::link("/dev/full", path + ".tmp"));
    s.epoch = 2;
    bool thrown = false;
    try {
      saveCheckpoint(path, *m, nullptr, s);
    } catch (const RunError& e) {
      thrown = e.message().contains(path);
    }
    QVERIFY(thrown);
    QCOMPARE(readCheckpointState(path).epoch, 1);
    QVERIFY(!QFile::exists(path + ".tmp"));
  }
};

RR_TEST_MAIN(CheckpointTest)
#include "tst_checkpoint.moc"
