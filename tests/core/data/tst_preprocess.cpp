// Preprocessing: rating filter, stable time order, k-core to a fixed point, minimum length,
// deterministic dense ids, titles, and errors that name the filter that removed everything.
#include "core/data/preprocess.h"
#include "core/errors.h"
#include "data_fixtures.h"
#include "test_main.h"

#include <QJsonObject>

#include <map>
#include <set>

using namespace rr;
using rr::testing::makeLog;

namespace {

/// "user: item item ..." per dense user, with original ids.
QStringList render(const SequenceData& d) {
  QStringList out;
  for (int u = 0; u < d.numUsers(); ++u) {
    QStringList items;
    for (int32_t i : d.sequences[u]) items << d.itemIds[i];
    out << d.userIds[u] + QStringLiteral(": ") + items.join(QLatin1Char(' '));
  }
  return out;
}

/// Reference k-core: whole passes over the log until nothing changes (slow, obviously right).
std::vector<RawInteraction> naiveKcore(std::vector<RawInteraction> log, int k) {
  for (;;) {
    std::map<int, int> users, items;
    for (const auto& r : log) {
      ++users[r.user];
      ++items[r.item];
    }
    std::vector<RawInteraction> kept;
    for (const auto& r : log)
      if (users[r.user] >= k && items[r.item] >= k) kept.push_back(r);
    if (kept.size() == log.size()) return kept;
    log = kept;
  }
}

}  // namespace

class TestPreprocess : public QObject {
  Q_OBJECT

 private slots:
  void filters_data();
  void filters();
  void kcoreMatchesRepeatedPasses();
  void timestampsFollowTheSort();
  void deterministic();
  void titlesAligned();
  void nothingSurvives_data();
  void nothingSurvives();
  void optionsJson();
  void optionsJsonErrors_data();
  void optionsJsonErrors();
};

void TestPreprocess::filters_data() {
  QTest::addColumn<QStringList>("lines");  // "user item [rating [timestamp]]", file order
  QTest::addColumn<bool>("hasRatings");
  QTest::addColumn<bool>("hasTimestamps");
  QTest::addColumn<double>("minRating");
  QTest::addColumn<int>("kcore");
  QTest::addColumn<int>("minLength");
  QTest::addColumn<QStringList>("expected");  // dense user order, items in time order
  QTest::addColumn<QStringList>("itemIds");   // dense items 1..N

  // One pass (count, then drop users and items below 2) removes only z; C is left with a single
  // item, and only a second pass removes C. The fixed point keeps A and B.
  QTest::newRow("k-core needs a second pass")
      << QStringList{"A x", "A y", "B x", "B y", "C y", "C z"} << false << false << 3.0 << 2
      << 1 << QStringList{"A: x y", "B: x y"} << QStringList{"x", "y"};
  // e (once) -> E -> d -> D -> c -> C: five rounds of removals.
  QTest::newRow("k-core cascade over several rounds")
      << QStringList{"A a", "A b", "B a", "B b", "C b", "C c", "D c", "D d", "E d", "E e"}
      << false << false << 3.0 << 2 << 1 << QStringList{"A: a b", "B: a b"}
      << QStringList{"a", "b"};
  QTest::newRow("k-core counts repeated items each time")
      << QStringList{"A x", "A y", "B x", "B y", "D w", "D w"} << false << false << 3.0 << 2 << 1
      << QStringList{"A: x y", "B: x y", "D: w w"} << QStringList{"x", "y", "w"};
  QTest::newRow("k-core off keeps singletons")
      << QStringList{"A x", "B y"} << false << false << 3.0 << 0 << 1
      << QStringList{"A: x", "B: y"} << QStringList{"x", "y"};
  QTest::newRow("rating filter keeps rating > 3")
      << QStringList{"A a 5", "A b 3", "A c 4", "B a 1"} << true << false << 3.0 << 0 << 1
      << QStringList{"A: a c"} << QStringList{"a", "c"};
  QTest::newRow("rating filter with another threshold")
      << QStringList{"A a 5", "A b 3", "B a 1"} << true << false << 0.5 << 0 << 1
      << QStringList{"A: a b", "B: a"} << QStringList{"a", "b"};
  QTest::newRow("no ratings: no rating filter")
      << QStringList{"A a 0", "A b 0"} << false << false << 3.0 << 0 << 1
      << QStringList{"A: a b"} << QStringList{"a", "b"};
  QTest::newRow("time sort is stable: ties keep file order")
      << QStringList{"A a 0 3", "A b 0 1", "A c 0 2", "A d 0 1"} << false << true << 3.0 << 0
      << 1 << QStringList{"A: b d c a"} << QStringList{"b", "d", "c", "a"};
  QTest::newRow("without timestamps file order is kept")
      << QStringList{"A a 0 3", "A b 0 1"} << false << false << 3.0 << 0 << 1
      << QStringList{"A: a b"} << QStringList{"a", "b"};
  QTest::newRow("minimum length drops short users after k-core")
      << QStringList{"A a", "A b", "A c", "B a", "B b"} << false << false << 3.0 << 0 << 3
      << QStringList{"A: a b c"} << QStringList{"a", "b", "c"};
  // A's first line is filtered out, so B's first surviving interaction comes first; items are
  // numbered walking B then A, each in time order.
  QTest::newRow("dense ids: users by first surviving interaction, items by first appearance")
      << QStringList{"A a 1", "B b 5", "A c 5", "B a 5"} << true << false << 3.0 << 0 << 1
      << QStringList{"B: b a", "A: c"} << QStringList{"b", "a", "c"};
  QTest::newRow("dense ids follow the time-sorted sequence")
      << QStringList{"A a 0 9", "A b 0 1", "B a 0 5"} << false << true << 3.0 << 0 << 1
      << QStringList{"A: b a", "B: a"} << QStringList{"b", "a"};
}

void TestPreprocess::filters() {
  QFETCH(QStringList, lines);
  QFETCH(bool, hasRatings);
  QFETCH(bool, hasTimestamps);
  QFETCH(double, minRating);
  QFETCH(int, kcore);
  QFETCH(int, minLength);
  QFETCH(QStringList, expected);
  QFETCH(QStringList, itemIds);

  PreprocessOptions o;
  o.minRating = minRating;
  o.kcore = kcore;
  o.minSequenceLength = minLength;
  const SequenceData d = preprocess(makeLog(lines, hasRatings, hasTimestamps), o);
  QCOMPARE(render(d), expected);
  QCOMPARE(d.itemIds, QStringList{QString()} + itemIds);
  QCOMPARE(d.numItems, itemIds.size());
  QCOMPARE(d.hasTimestamps(), hasTimestamps);
  QVERIFY(d.itemTitles.isEmpty());
  d.validate(QStringLiteral("test"));
}

void TestPreprocess::kcoreMatchesRepeatedPasses() {
  // A random-ish log (fixed LCG) where peeling and repeated passes must agree exactly.
  QStringList lines;
  uint32_t x = 12345;
  auto next = [&] { return x = x * 1664525u + 1013904223u; };
  for (int e = 0; e < 3000; ++e) {
    const int user = static_cast<int>((next() >> 8) % 300);
    const int item = static_cast<int>(((next() >> 8) % 60) * ((next() >> 8) % 4 + 1) % 200);
    lines << QStringLiteral("u%1 i%2").arg(user).arg(item);
  }
  const RawLog log = makeLog(lines);
  for (int k : {2, 3, 5, 8}) {
    PreprocessOptions o;
    o.kcore = k;
    o.minSequenceLength = 1;
    const SequenceData d = preprocess(log, o);
    const auto reference = naiveKcore(log.interactions, k);
    qint64 total = 0;
    std::map<QString, int> itemCount;
    for (const auto& seq : d.sequences) {
      total += static_cast<qint64>(seq.size());
      QVERIFY(static_cast<int>(seq.size()) >= k);
      for (int32_t i : seq) ++itemCount[d.itemIds[i]];
    }
    for (const auto& [id, n] : itemCount) QVERIFY2(n >= k, qPrintable(id));
    QCOMPARE(total, static_cast<qint64>(reference.size()));
    std::set<QString> refUsers;
    for (const auto& r : reference) refUsers.insert(log.userIds[r.user]);
    QCOMPARE(static_cast<size_t>(d.numUsers()), refUsers.size());
  }
}

void TestPreprocess::timestampsFollowTheSort() {
  const SequenceData d = preprocess(
      makeLog({"A a 0 30", "A b 0 10", "B c 0 5", "A c 0 20", "B a 0 1"}, false, true),
      PreprocessOptions{3.0, 0, 1});
  QCOMPARE(render(d), (QStringList{"A: b c a", "B: a c"}));
  QCOMPARE(d.timestamps[0], (std::vector<double>{10, 20, 30}));
  QCOMPARE(d.timestamps[1], (std::vector<double>{1, 5}));
}

void TestPreprocess::deterministic() {
  QStringList lines;
  for (int e = 0; e < 500; ++e)
    lines << QStringLiteral("u%1 i%2 %3 %4").arg((e * 37) % 41).arg((e * 13) % 23).arg(e % 5 + 1).arg((e * 7) % 11);
  const RawLog log = makeLog(lines, true, true);
  const SequenceData a = preprocess(log, PreprocessOptions{});
  const SequenceData b = preprocess(log, PreprocessOptions{});
  QCOMPARE(a.sequences, b.sequences);
  QCOMPARE(a.timestamps, b.timestamps);
  QCOMPARE(a.userIds, b.userIds);
  QCOMPARE(a.itemIds, b.itemIds);
  QVERIFY(a.numUsers() > 0);
}

void TestPreprocess::titlesAligned() {
  RawLog log = makeLog({"A a", "A b", "A c"});
  log.titles.insert(QStringLiteral("c"), QStringLiteral("Cherry"));
  log.titles.insert(QStringLiteral("a"), QStringLiteral("Apple"));
  log.titles.insert(QStringLiteral("zz"), QStringLiteral("Not in the log"));
  const SequenceData d = preprocess(log, PreprocessOptions{3.0, 0, 1});
  QCOMPARE(d.itemTitles, (QStringList{"", "Apple", "", "Cherry"}));
  QCOMPARE(d.itemLabel(1), QStringLiteral("Apple"));
  QCOMPARE(d.itemLabel(2), QStringLiteral("b"));
  QVERIFY(d.computeStats().hasTitles);
}

void TestPreprocess::nothingSurvives_data() {
  QTest::addColumn<QStringList>("lines");
  QTest::addColumn<bool>("hasRatings");
  QTest::addColumn<int>("kcore");
  QTest::addColumn<int>("minLength");
  QTest::addColumn<QString>("reason");
  QTest::newRow("rating filter") << QStringList{"A a 1", "A b 3"} << true << 0 << 1
                                 << "rating filter (keep rating > 3, data.min_rating) removed all 2";
  QTest::newRow("k-core") << QStringList{"A a", "B b", "B a"} << false << 2 << 1
                          << "2-core filter (data.kcore) removed every user and item";
  QTest::newRow("minimum length") << QStringList{"A a", "A b", "B a"} << false << 0 << 3
                                  << "no user has at least 3 interactions";
  QTest::newRow("empty log") << QStringList{} << false << 5 << 3 << "no interactions";
}

void TestPreprocess::nothingSurvives() {
  QFETCH(QStringList, lines);
  QFETCH(bool, hasRatings);
  QFETCH(int, kcore);
  QFETCH(int, minLength);
  QFETCH(QString, reason);
  try {
    preprocess(makeLog(lines, hasRatings, false, QStringLiteral("ratings.csv")),
               PreprocessOptions{3.0, kcore, minLength});
    QFAIL("expected a DataError");
  } catch (const DataError& e) {
    QCOMPARE(e.file(), QStringLiteral("ratings.csv"));
    QCOMPARE(e.line(), qint64(0));
    QVERIFY2(e.detail().contains(reason), qPrintable(e.message()));
  }
}

void TestPreprocess::optionsJson() {
  const PreprocessOptions o{4.5, 10, 2};
  const QJsonObject j = o.toJson();
  QCOMPARE(j.value(QStringLiteral("min_rating")).toDouble(), 4.5);
  QCOMPARE(j.value(QStringLiteral("kcore")).toInt(), 10);
  QCOMPARE(j.value(QStringLiteral("min_sequence_length")).toInt(), 2);
  const PreprocessOptions back = PreprocessOptions::fromJson(j);
  QCOMPARE(back.minRating, 4.5);
  QCOMPARE(back.kcore, 10);
  QCOMPARE(back.minSequenceLength, 2);
  const PreprocessOptions defaults = PreprocessOptions::fromJson({});
  QCOMPARE(defaults.minRating, 3.0);
  QCOMPARE(defaults.kcore, 5);
  QCOMPARE(defaults.minSequenceLength, 3);
}

void TestPreprocess::optionsJsonErrors_data() {
  QTest::addColumn<QJsonObject>("json");
  QTest::addColumn<QString>("key");
  QTest::newRow("negative kcore") << QJsonObject{{"kcore", -1}} << "data.kcore";
  QTest::newRow("fractional kcore") << QJsonObject{{"kcore", 2.5}} << "data.kcore";
  QTest::newRow("kcore as text") << QJsonObject{{"kcore", "5"}} << "data.kcore";
  QTest::newRow("min_rating as text") << QJsonObject{{"min_rating", "x"}} << "data.min_rating";
  QTest::newRow("negative min length") << QJsonObject{{"min_sequence_length", -2}}
                                       << "data.min_sequence_length";
}

void TestPreprocess::optionsJsonErrors() {
  QFETCH(QJsonObject, json);
  QFETCH(QString, key);
  try {
    PreprocessOptions::fromJson(json);
    QFAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    QCOMPARE(e.key(), key);
  }
}

RR_TEST_MAIN(TestPreprocess)
#include "tst_preprocess.moc"
