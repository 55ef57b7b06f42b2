// SequenceData: statistics computed by hand, JSON of the stats, validation, labels, and the
// store's binary form (exact round trip, corrupt blobs rejected).
#include "core/data/sequence_data.h"
#include "core/errors.h"
#include "test_main.h"

#include <QDataStream>
#include <QtEndian>

#include <cmath>
#include <cstring>
#include <limits>

using namespace rr;

Q_DECLARE_METATYPE(rr::SequenceData)

namespace {

/// Users with the given lengths; every item is 1 (valid for any numItems >= 1).
SequenceData withLengths(const QList<int>& lengths, int numItems) {
  SequenceData d;
  d.numItems = numItems;
  for (int n : lengths) d.sequences.emplace_back(static_cast<size_t>(n), 1);
  return d;
}

/// A small dataset with every optional part filled in.
SequenceData fullExample() {
  SequenceData d;
  d.numItems = 4;
  d.sequences = {{1, 2, 3}, {4, 4}, {2, 1, 3, 4}};
  d.timestamps = {{0.1, 1e18, 1e18}, {-5.25, 3}, {1, 2, 2, std::nextafter(2.0, 3.0)}};
  d.userIds = QStringList{"alice", QStringLiteral("b\u00f6b"), "7"};
  d.itemIds = QStringList{"", "i1", "i2", QStringLiteral("\u65e5\u672c"), "i4"};
  d.itemTitles = QStringList{"", "Red Lipstick", "", "Tab\tand \"quotes\"", "Blue Pen"};
  return d;
}

void compareExact(const SequenceData& a, const SequenceData& b) {
  QCOMPARE(a.numItems, b.numItems);
  QCOMPARE(a.sequences, b.sequences);
  QCOMPARE(a.timestamps.size(), b.timestamps.size());
  for (size_t u = 0; u < a.timestamps.size(); ++u) {
    QCOMPARE(a.timestamps[u].size(), b.timestamps[u].size());
    QVERIFY(std::memcmp(a.timestamps[u].data(), b.timestamps[u].data(),
                        a.timestamps[u].size() * sizeof(double)) == 0);
  }
  QCOMPARE(a.userIds, b.userIds);
  QCOMPARE(a.itemIds, b.itemIds);
  QCOMPARE(a.itemTitles, b.itemTitles);
}

QByteArray withHeader(quint32 magic, quint32 version, const QByteArray& compressed) {
  QByteArray blob;
  QDataStream s(&blob, QIODevice::WriteOnly);
  s << magic << version;
  blob.append(compressed);
  return blob;
}

}  // namespace

class TestSequenceData : public QObject {
  Q_OBJECT

 private slots:
  void stats_data();
  void stats();
  void statsOfNothing();
  void statsJsonRoundTrip();
  void validate_data();
  void validate();
  void itemLabel();
  void roundTrip_data();
  void roundTrip();
  void corruptBlob_data();
  void corruptBlob();
};

void TestSequenceData::stats_data() {
  QTest::addColumn<QList<int>>("lengths");
  QTest::addColumn<int>("numItems");
  QTest::addColumn<qint64>("interactions");
  QTest::addColumn<double>("avg");
  QTest::addColumn<double>("median");
  QTest::addColumn<int>("minLength");
  QTest::addColumn<int>("maxLength");
  QTest::addColumn<double>("sparsity");
  QTest::addColumn<QList<qint64>>("histogram");  // bins 1,2,3,4,5,6-7,8-9,10-14,15-19,20-29,30-49,50-99,100-199,200+
  QTest::addColumn<int>("lastEdge");

  // 2+3+3+10 = 18 interactions over 4 users and 5 items: sparsity 1 - 18/20.
  QTest::newRow("four users by hand")
      << QList<int>{2, 3, 3, 10} << 5 << qint64(18) << 4.5 << 3.0 << 2 << 10 << 0.1
      << QList<qint64>{0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0} << 201;
  // 1+7+250 = 258 over 3 users and 300 items: sparsity 1 - 258/900; 250 closes the last bin.
  QTest::newRow("odd count, long tail")
      << QList<int>{250, 1, 7} << 300 << qint64(258) << 86.0 << 7.0 << 1 << 250
      << 1.0 - 258.0 / 900.0 << QList<qint64>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1} << 251;
  QTest::newRow("single user, every item")
      << QList<int>{5} << 5 << qint64(5) << 5.0 << 5.0 << 5 << 5 << 0.0
      << QList<qint64>{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0} << 201;
  QTest::newRow("bin edges are inclusive below")
      << QList<int>{6, 8, 9, 15, 19, 20, 49, 50, 100, 199, 200} << 200 << qint64(675)
      << 675.0 / 11 << 20.0 << 6 << 200 << 1.0 - 675.0 / 2200.0
      << QList<qint64>{0, 0, 0, 0, 0, 1, 2, 0, 2, 1, 1, 1, 2, 1} << 201;
}

void TestSequenceData::stats() {
  QFETCH(QList<int>, lengths);
  QFETCH(int, numItems);
  QFETCH(qint64, interactions);
  QFETCH(double, avg);
  QFETCH(double, median);
  QFETCH(int, minLength);
  QFETCH(int, maxLength);
  QFETCH(double, sparsity);
  QFETCH(QList<qint64>, histogram);
  QFETCH(int, lastEdge);

  const DatasetStats s = withLengths(lengths, numItems).computeStats();
  QCOMPARE(s.users, qint64(lengths.size()));
  QCOMPARE(s.items, qint64(numItems));
  QCOMPARE(s.interactions, interactions);
  QVERIFY(std::abs(s.avgLength - avg) < 1e-12);
  QCOMPARE(s.medianLength, median);
  QCOMPARE(s.minLength, minLength);
  QCOMPARE(s.maxLength, maxLength);
  QVERIFY2(std::abs(s.sparsity - sparsity) < 1e-12, qPrintable(QString::number(s.sparsity)));
  const std::vector<int> edges{1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 200, lastEdge};
  QCOMPARE(s.histogramEdges, edges);
  QCOMPARE(QList<qint64>(s.lengthHistogram.begin(), s.lengthHistogram.end()), histogram);
  QVERIFY(!s.hasTimestamps);
  QVERIFY(!s.hasTitles);
}

void TestSequenceData::statsOfNothing() {
  const DatasetStats s = SequenceData{}.computeStats();
  QCOMPARE(s.users, qint64(0));
  QCOMPARE(s.interactions, qint64(0));
  QCOMPARE(s.sparsity, 0.0);
  QCOMPARE(s.lengthHistogram.size() + 1, s.histogramEdges.size());
}

void TestSequenceData::statsJsonRoundTrip() {
  const DatasetStats s = fullExample().computeStats();
  QVERIFY(s.hasTimestamps);
  QVERIFY(s.hasTitles);
  const DatasetStats b = DatasetStats::fromJson(s.toJson());
  QCOMPARE(b.users, s.users);
  QCOMPARE(b.items, s.items);
  QCOMPARE(b.interactions, s.interactions);
  QCOMPARE(b.avgLength, s.avgLength);
  QCOMPARE(b.minLength, s.minLength);
  QCOMPARE(b.maxLength, s.maxLength);
  QCOMPARE(b.medianLength, s.medianLength);
  QCOMPARE(b.sparsity, s.sparsity);
  QCOMPARE(b.histogramEdges, s.histogramEdges);
  QCOMPARE(b.lengthHistogram, s.lengthHistogram);
  QCOMPARE(b.hasTimestamps, s.hasTimestamps);
  QCOMPARE(b.hasTitles, s.hasTitles);
  QCOMPARE(s.toJson().value(QStringLiteral("interactions")).toInt(), 9);
}

void TestSequenceData::validate_data() {
  QTest::addColumn<SequenceData>("data");
  QTest::addColumn<QString>("reason");  // empty = valid

  const SequenceData ok = fullExample();
  QTest::newRow("valid") << ok << QString();
  QTest::newRow("valid without id maps") << withLengths({3, 1}, 2) << QString();
  SequenceData d = ok;
  d.sequences[1][0] = 0;
  QTest::newRow("padding id in a sequence") << d << "item id 0 is outside 1..4";
  d = ok;
  d.sequences[2][3] = 5;
  QTest::newRow("item id above N") << d << "user 2, position 3: item id 5 is outside 1..4";
  d = ok;
  d.sequences[1].clear();
  d.timestamps[1].clear();
  QTest::newRow("empty sequence") << d << "user 1 has no items";
  d = ok;
  d.userIds.removeLast();
  QTest::newRow("user ids missing") << d << "2 user ids for 3 users";
  d = ok;
  d.itemIds.removeLast();
  QTest::newRow("item ids missing") << d << "4 item ids for 4 items";
  d = ok;
  d.itemIds[0] = QStringLiteral("pad");
  QTest::newRow("padding id not empty") << d << "padding";
  d = ok;
  d.itemTitles.append(QStringLiteral("extra"));
  QTest::newRow("titles misaligned") << d << "6 item titles for 4 items";
  d = ok;
  d.timestamps.pop_back();
  QTest::newRow("timestamps for fewer users") << d << "timestamps for 2 users";
  d = ok;
  d.timestamps[0].pop_back();
  QTest::newRow("timestamps shorter than items") << d << "user 0 has 3 items but 2 timestamps";
  d = ok;
  d.timestamps[2] = {1, 3, 2, 4};
  QTest::newRow("timestamps go backwards") << d << "user 2, position 2: timestamps go backwards";
  d = ok;
  d.timestamps[0][1] = std::numeric_limits<double>::quiet_NaN();
  QTest::newRow("timestamp NaN") << d << "not a finite number";
}

void TestSequenceData::validate() {
  QFETCH(SequenceData, data);
  QFETCH(QString, reason);
  try {
    data.validate(QStringLiteral("Beauty"));
    QVERIFY2(reason.isEmpty(), "expected a DataError");
  } catch (const DataError& e) {
    QVERIFY2(!reason.isEmpty(), qPrintable(e.message()));
    QCOMPARE(e.file(), QStringLiteral("Beauty"));
    QCOMPARE(e.line(), qint64(0));
    QVERIFY2(e.detail().contains(reason), qPrintable(e.message()));
  }
}

void TestSequenceData::itemLabel() {
  const SequenceData d = fullExample();
  QCOMPARE(d.itemLabel(1), QStringLiteral("Red Lipstick"));
  QCOMPARE(d.itemLabel(2), QStringLiteral("i2"));  // empty title falls back to the id
  QCOMPARE(d.itemLabel(9), QStringLiteral("9"));   // out of range
  const SequenceData bare = withLengths({2}, 3);
  QCOMPARE(bare.itemLabel(3), QStringLiteral("3"));
}

void TestSequenceData::roundTrip_data() {
  QTest::addColumn<SequenceData>("data");
  QTest::newRow("timestamps, titles, unicode ids") << fullExample();
  SequenceData d = fullExample();
  d.timestamps.clear();
  d.itemTitles.clear();
  QTest::newRow("no timestamps, no titles") << d;
  QTest::newRow("no id maps") << withLengths({1, 4, 2}, 1);
  QTest::newRow("no users") << SequenceData{};
  SequenceData big;
  big.numItems = 5000;
  uint32_t x = 7;
  for (int u = 0; u < 2000; ++u) {
    const int n = 1 + static_cast<int>((x = x * 1664525u + 1013904223u) >> 26);
    std::vector<int32_t> seq;
    std::vector<double> ts;
    double t = 1.4e9 + u;
    for (int k = 0; k < n; ++k) {
      seq.push_back(1 + static_cast<int32_t>((x = x * 1664525u + 1013904223u) % 5000));
      ts.push_back(t += (x >> 20) * 0.001);
    }
    big.sequences.push_back(seq);
    big.timestamps.push_back(ts);
    big.userIds << QStringLiteral("user-%1").arg(u);
  }
  big.itemIds << QString();
  for (int i = 1; i <= 5000; ++i) big.itemIds << QStringLiteral("B%1").arg(i, 9, 10, QLatin1Char('0'));
  QTest::newRow("2000 users") << big;
}

void TestSequenceData::roundTrip() {
  QFETCH(SequenceData, data);
  const QByteArray blob = serializeSequenceData(data);
  QVERIFY(blob.startsWith(QByteArray("RRSD")));
  const SequenceData back = deserializeSequenceData(blob);
  compareExact(back, data);
  QCOMPARE(serializeSequenceData(back), blob);  // stable bytes
}

void TestSequenceData::corruptBlob_data() {
  QTest::addColumn<QByteArray>("blob");
  QTest::addColumn<QString>("reason");

  const QByteArray good = serializeSequenceData(fullExample());
  const QByteArray payload = qUncompress(good.mid(8));
  QVERIFY(!payload.isEmpty());

  QTest::newRow("empty") << QByteArray() << "only 0 bytes";
  QTest::newRow("bad magic") << QByteArray("XXXX").append(good.mid(4)) << "bad magic";
  QTest::newRow("future version") << withHeader(0x52525344u, 2, good.mid(8))
                                  << "format version 2; this build reads version 1";
  QTest::newRow("header only") << good.left(8) << "missing compressed payload";
  QByteArray truncated = good;
  truncated.chop(12);
  QTest::newRow("truncated") << truncated << "decompression failed";
  QByteArray flipped = good;
  flipped[flipped.size() / 2 + 6] = static_cast<char>(flipped[flipped.size() / 2 + 6] ^ 0x5a);
  QTest::newRow("flipped byte") << flipped << "corrupt";
  QByteArray huge = good;
  qToBigEndian<quint32>(0xFFFFFFF0u, huge.data() + 8);
  QTest::newRow("implausible size") << huge << "implausible payload size";
  QTest::newRow("payload of the wrong shape")
      << withHeader(0x52525344u, 1, qCompress(QByteArray("hello world"))) << "truncated payload";
  QTest::newRow("bytes after the payload")
      << withHeader(0x52525344u, 1, qCompress(payload + QByteArray("xx"))) << "unexpected bytes";
  QByteArray wrongItems;
  {
    QDataStream s(&wrongItems, QIODevice::WriteOnly);
    s.setVersion(QDataStream::Qt_6_0);
    QByteArray lengths(4, 0);
    qToLittleEndian<qint32>(5, lengths.data());
    s << qint32(3) << qint32(1) << false << QStringList() << QStringList() << QStringList()
      << lengths << QByteArray(8, 1) << QByteArray();
  }
  QTest::newRow("item table shorter than lengths")
      << withHeader(0x52525344u, 1, qCompress(wrongItems)) << "item table does not match";
  SequenceData bad = fullExample();
  bad.sequences[0][0] = 99;
  QTest::newRow("item id out of range") << serializeSequenceData(bad) << "outside 1..4";
}

void TestSequenceData::corruptBlob() {
  QFETCH(QByteArray, blob);
  QFETCH(QString, reason);
  try {
    deserializeSequenceData(blob);
    QFAIL("expected a DataError");
  } catch (const DataError& e) {
    QCOMPARE(e.file(), QStringLiteral("<store>"));
    QCOMPARE(e.line(), qint64(0));
    QVERIFY2(e.detail().contains(reason), qPrintable(e.message()));
  }
}

RR_TEST_MAIN(TestSequenceData)
#include "tst_sequence_data.moc"
