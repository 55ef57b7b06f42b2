// Splits on hand-made sequences: leave-one-out, global time cuts (quantile, absolute, mixed),
// unseen targets and users without training history dropped, configuration errors, and the
// training units of both target modes.
#include "core/data/split.h"
#include "core/errors.h"
#include "test_main.h"

using namespace rr;

Q_DECLARE_METATYPE(rr::TargetMode)
Q_DECLARE_METATYPE(rr::SplitKind)

namespace {

QStringList render(const std::vector<EvalCase>& cases) {
  QStringList out;
  for (const EvalCase& c : cases) out << QStringLiteral("%1:%2").arg(c.user).arg(c.pos);
  return out;
}

QList<int> toList(const std::vector<int32_t>& v) { return QList<int>(v.begin(), v.end()); }

/// Four users with timestamps; all 12 sorted: 1 2 3 4 5 6 7 8 8.5 9 9.5 10.
///   user 0: items 1 2 7 3 4   at 1 2 7 8.5 9.5   (item 7 occurs nowhere else)
///   user 1: items 3 6         at 3 9             (item 6 occurs nowhere else)
///   user 2: items 4 5         at 8 10
///   user 3: items 4 1 3       at 4 5 6
SequenceData timedExample() {
  SequenceData d;
  d.numItems = 7;
  d.sequences = {{1, 2, 7, 3, 4}, {3, 6}, {4, 5}, {4, 1, 3}};
  d.timestamps = {{1, 2, 7, 8.5, 9.5}, {3, 9}, {8, 10}, {4, 5, 6}};
  return d;
}

}  // namespace

class TestSplit : public QObject {
  Q_OBJECT

 private slots:
  void leaveOneOut();
  void leaveOneOutWithoutEligibleUsers();
  void globalTime_data();
  void globalTime();
  void globalTimeErrors_data();
  void globalTimeErrors();
  void trainingUnits_data();
  void trainingUnits();
  void names_data();
  void names();
  void badNames();
};

void TestSplit::leaveOneOut() {
  SequenceData d;
  d.numItems = 11;
  d.sequences = {{1}, {2, 3}, {4, 5, 6}, {7, 8, 9, 10, 11}};
  const DataSplit s = makeSplit(d, SplitOptions{});
  QCOMPARE(s.kind, SplitKind::LeaveOneOut);
  // Users with fewer than 3 items only train; others lose their last two items to valid/test.
  QCOMPARE(toList(s.trainEnd), (QList<int>{1, 2, 1, 3}));
  QCOMPARE(render(s.valid), (QStringList{"2:1", "3:3"}));
  QCOMPARE(render(s.test), (QStringList{"2:2", "3:4"}));
  QCOMPARE(s.trainTargets(), qint64(0 + 1 + 0 + 2));
  // Timestamps play no part in leave-one-out.
  d.timestamps = {{5}, {1, 2}, {1, 1, 1}, {1, 2, 3, 4, 5}};
  QCOMPARE(render(makeSplit(d, SplitOptions{}).test), (QStringList{"2:2", "3:4"}));
}

void TestSplit::leaveOneOutWithoutEligibleUsers() {
  SequenceData d;
  d.numItems = 3;
  d.sequences = {{1, 2}, {3}};
  try {
    makeSplit(d, SplitOptions{});
    QFAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    QCOMPARE(e.key(), QStringLiteral("data.split"));
    QVERIFY(e.message().contains(QLatin1String("at least 3 items")));
  }
}

void TestSplit::globalTime_data() {
  QTest::addColumn<double>("validCut");
  QTest::addColumn<double>("testCut");
  QTest::addColumn<QList<int>>("trainEnd");
  QTest::addColumn<QStringList>("valid");
  QTest::addColumn<QStringList>("test");

  // validT = 7 (6 of 12 before it), testT = 9 (9 of 12 before it). User 0's item 7 at t=7 is
  // unseen in training: not a target, but part of the history of (0,3). User 1's target 6 is
  // unseen; user 2 has nothing before t=7.
  QTest::newRow("quantile cuts") << 0.5 << 0.75 << QList<int>{2, 1, 0, 3} << QStringList{"0:3"}
                                 << QStringList{"0:4"};
  QTest::newRow("absolute cuts") << 7.0 << 9.0 << QList<int>{2, 1, 0, 3} << QStringList{"0:3"}
                                 << QStringList{"0:4"};
  QTest::newRow("quantile and absolute mixed") << 0.5 << 9.0 << QList<int>{2, 1, 0, 3}
                                               << QStringList{"0:3"} << QStringList{"0:4"};
  // validT = 8.5: user 2 now has a training item (4 at t=8) but its target 5 was never trained
  // on; user 0 trains on 1 2 7.
  QTest::newRow("later cuts") << 8.5 << 9.5 << QList<int>{3, 1, 1, 3} << QStringList{"0:3"}
                              << QStringList{"0:4"};
  // validT = 5: user 3 trains on item 4 only and has two validation cases (1 at t=5, 3 at t=6).
  QTest::newRow("several cases per user") << 5.0 << 8.75 << QList<int>{2, 1, 0, 1}
                                          << QStringList{"0:3", "3:1", "3:2"} << QStringList{"0:4"};
}

void TestSplit::globalTime() {
  QFETCH(double, validCut);
  QFETCH(double, testCut);
  QFETCH(QList<int>, trainEnd);
  QFETCH(QStringList, valid);
  QFETCH(QStringList, test);
  const DataSplit s = makeSplit(timedExample(), SplitOptions{SplitKind::GlobalTime, validCut, testCut});
  QCOMPARE(s.kind, SplitKind::GlobalTime);
  QCOMPARE(toList(s.trainEnd), trainEnd);
  QCOMPARE(render(s.valid), valid);
  QCOMPARE(render(s.test), test);
}

void TestSplit::globalTimeErrors_data() {
  QTest::addColumn<bool>("withTimestamps");
  QTest::addColumn<double>("validCut");
  QTest::addColumn<double>("testCut");
  QTest::addColumn<QString>("key");
  QTest::addColumn<QString>("reason");
  QTest::newRow("no timestamps") << false << 0.8 << 0.9 << "data.split" << "needs timestamps";
  QTest::newRow("quantile cuts out of order") << true << 0.9 << 0.8 << "data.valid_cut"
                                              << "must start before the test period";
  QTest::newRow("absolute cuts out of order") << true << 9.0 << 7.0 << "data.valid_cut"
                                              << "must start before the test period";
  QTest::newRow("zero valid cut") << true << 0.0 << 0.9 << "data.valid_cut"
                                  << "must be a quantile in (0, 1]";
  QTest::newRow("negative test cut") << true << 0.5 << -1.0 << "data.test_cut"
                                     << "must be a quantile in (0, 1]";
  QTest::newRow("no test cases") << true << 8.5 << 10.0 << "data.test_cut" << "no test cases";
  QTest::newRow("test cut at quantile 1") << true << 0.5 << 1.0 << "data.test_cut"
                                          << "no test cases";
  // Only items 1 and 2 are trained on before t=2.5 and neither recurs.
  QTest::newRow("no trained item recurs") << true << 2.5 << 5.5 << "data.valid_cut"
                                          << "no validation cases";
  QTest::newRow("equal cuts leave no validation") << true << 0.75 << 0.75 << "data.valid_cut"
                                                  << "no validation cases";
}

void TestSplit::globalTimeErrors() {
  QFETCH(bool, withTimestamps);
  QFETCH(double, validCut);
  QFETCH(double, testCut);
  QFETCH(QString, key);
  QFETCH(QString, reason);
  SequenceData d = timedExample();
  if (!withTimestamps) d.timestamps.clear();
  try {
    makeSplit(d, SplitOptions{SplitKind::GlobalTime, validCut, testCut});
    QFAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    QCOMPARE(e.key(), key);
    QVERIFY2(e.message().contains(reason), qPrintable(e.message()));
    QCOMPARE(e.code(), ExitCode::Usage);
  }
}

void TestSplit::trainingUnits_data() {
  QTest::addColumn<QList<int>>("trainEnd");
  QTest::addColumn<TargetMode>("mode");
  QTest::addColumn<QStringList>("units");  // "user:end"
  QTest::newRow("all positions: one unit per user with >= 2 items")
      << QList<int>{1, 2, 4, 0} << TargetMode::AllPositions << QStringList{"1:2", "2:4"};
  QTest::newRow("last: one unit per prefix")
      << QList<int>{1, 2, 4, 0} << TargetMode::Last << QStringList{"1:2", "2:2", "2:3", "2:4"};
  QTest::newRow("all positions: nothing to train") << QList<int>{0, 1} << TargetMode::AllPositions
                                                   << QStringList{};
  QTest::newRow("last: nothing to train") << QList<int>{} << TargetMode::Last << QStringList{};
}

void TestSplit::trainingUnits() {
  QFETCH(QList<int>, trainEnd);
  QFETCH(TargetMode, mode);
  QFETCH(QStringList, units);
  DataSplit s;
  s.trainEnd.assign(trainEnd.begin(), trainEnd.end());
  const std::vector<TrainUnit> got = rr::trainingUnits(s, mode);
  QStringList rendered;
  qint64 targets = 0;
  for (const TrainUnit& u : got) {
    rendered << QStringLiteral("%1:%2").arg(u.user).arg(u.end);
    targets += mode == TargetMode::Last ? 1 : u.end - 1;
  }
  QCOMPARE(rendered, units);
  // Both modes cover every training target exactly once.
  QCOMPARE(targets, s.trainTargets());
}

void TestSplit::names_data() {
  QTest::addColumn<QString>("splitName");
  QTest::addColumn<SplitKind>("kind");
  QTest::addColumn<QString>("modeName");
  QTest::addColumn<TargetMode>("mode");
  QTest::newRow("leave_one_out / all_positions") << "leave_one_out" << SplitKind::LeaveOneOut
                                                 << "all_positions" << TargetMode::AllPositions;
  QTest::newRow("global_time / last") << "global_time" << SplitKind::GlobalTime << "last"
                                      << TargetMode::Last;
}

void TestSplit::names() {
  QFETCH(QString, splitName);
  QFETCH(SplitKind, kind);
  QFETCH(QString, modeName);
  QFETCH(TargetMode, mode);
  QCOMPARE(parseSplitKind(splitName), kind);
  QCOMPARE(splitKindName(kind), splitName);
  QCOMPARE(parseTargetMode(modeName), mode);
  QCOMPARE(targetModeName(mode), modeName);
}

void TestSplit::badNames() {
  try {
    parseSplitKind(QStringLiteral("random"));
    QFAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    QCOMPARE(e.key(), QStringLiteral("data.split"));
    QVERIFY(e.message().contains(QLatin1String("'random'")));
  }
  try {
    parseTargetMode(QStringLiteral("first"));
    QFAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    QCOMPARE(e.key(), QStringLiteral("train.targets"));
  }
}

RR_TEST_MAIN(TestSplit)
#include "tst_split.moc"
