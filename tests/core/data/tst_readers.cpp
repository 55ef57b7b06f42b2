// Readers: every format plain and gzip, malformed lines with file/line/reason, detection,
// file-level errors, progress and cancellation, previews.
#include "core/data/readers.h"
#include "core/errors.h"
#include "data_fixtures.h"
#include "test_main.h"

#include <QSet>
#include <QTemporaryDir>

#include <optional>

using namespace rr;
using rr::testing::writeFixture;

Q_DECLARE_METATYPE(rr::DataFormat)

namespace {

/// How a fixture is stored on disk.
enum Packing { Plain, GzipWithSuffix, GzipWithoutSuffix };

/// One interaction per string, "user item [rRATING] [tTIMESTAMP]", in log order.
QStringList render(const RawLog& log) {
  QStringList out;
  for (const RawInteraction& r : log.interactions) {
    QString s = log.userIds[r.user] + QLatin1Char(' ') + log.itemIds[r.item];
    if (log.hasRatings) s += QStringLiteral(" r") + QString::number(r.rating, 'g', 17);
    if (log.hasTimestamps) s += QStringLiteral(" t") + QString::number(r.timestamp, 'g', 17);
    out << s;
  }
  return out;
}

QStringList renderTitles(const RawLog& log) {
  QStringList out;
  for (auto it = log.titles.cbegin(); it != log.titles.cend(); ++it)
    out << it.key() + QLatin1Char('=') + it.value();
  out.sort();
  return out;
}

/// Runs `f` and returns the DataError it throws (fails the test when it throws nothing else).
template <typename F>
std::optional<DataError> dataErrorOf(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e;
  } catch (const Error& e) {
    qWarning("unexpected error type: %s", qPrintable(e.message()));
  }
  return std::nullopt;
}

QByteArray gzipBytes(const QByteArray& content) {
  QTemporaryDir dir;
  const QString p = writeFixture(dir.path(), QStringLiteral("tmp.gz"), content, true);
  QFile f(p);
  f.open(QIODevice::ReadOnly);
  return f.readAll();
}

const QByteArray kInterHeader = "user_id:token\titem_id:token\ttimestamp:float\n";
const QByteArray kRatedHeader = "user_id:token\titem_id:token\trating:float\n";
const QByteArray kCsvHeader = "user_id,parent_asin,rating,timestamp\n";
const QByteArray kJson1 =
    R"({"rating": 5.0, "user_id": "A1", "parent_asin": "B01", "timestamp": 1588687728923})"
    "\n";

}  // namespace

class TestReaders : public QObject {
  Q_OBJECT

 private slots:
  void readFormats_data();
  void readFormats();
  void malformedLines_data();
  void malformedLines();
  void fileErrors_data();
  void fileErrors();
  void missingFileAndFolder();
  void detectFormat_data();
  void detectFormat();
  void explicitFormatMismatch_data();
  void explicitFormatMismatch();
  void parseFormatNames();
  void progressAndCancel_data();
  void progressAndCancel();
  void previewLines_data();
  void previewLines();
};

// ---------------------------------------------------------------------------------------------

void TestReaders::readFormats_data() {
  QTest::addColumn<QString>("fileName");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<int>("packing");
  QTest::addColumn<QString>("itemFileName");  // sibling .item file, empty = none
  QTest::addColumn<QByteArray>("itemContent");
  QTest::addColumn<DataFormat>("format");
  QTest::addColumn<QStringList>("expected");
  QTest::addColumn<bool>("hasRatings");
  QTest::addColumn<bool>("hasTimestamps");
  QTest::addColumn<QStringList>("titles");

  auto add = [](const char* name, const QString& file, const QByteArray& content,
                DataFormat format, const QStringList& expected, bool ratings, bool timestamps,
                const QString& itemFile = {}, const QByteArray& itemContent = {},
                const QStringList& titles = {}) {
    QTest::newRow(name) << file << content << int(Plain) << itemFile << itemContent << format
                        << expected << ratings << timestamps << titles;
    QTest::newRow(qPrintable(QStringLiteral("%1 (gzip .gz)").arg(QLatin1String(name))))
        << file + QStringLiteral(".gz") << content << int(GzipWithSuffix) << itemFile
        << itemContent << format << expected << ratings << timestamps << titles;
    QTest::newRow(qPrintable(QStringLiteral("%1 (gzip, no .gz suffix)").arg(QLatin1String(name))))
        << file << content << int(GzipWithoutSuffix) << itemFile << itemContent << format
        << expected << ratings << timestamps << titles;
  };

  add("sasrec: one user per line", "lines.txt", "1 10 11 12\n2 11 13\n", DataFormat::SasRec,
      {"1 10", "1 11", "1 12", "2 11", "2 13"}, false, false);
  add("sasrec: user item pairs", "pairs.txt", "1 10\n1 11\n2 11\n1 12\n", DataFormat::SasRec,
      {"1 10", "1 11", "2 11", "1 12"}, false, false);
  add("sasrec: string ids, tabs, CRLF, BOM, blank lines", "mixed.txt",
      "\xEF\xBB\xBF" "alice\tx  y\r\n\r\n   \nbob z\r\n", DataFormat::SasRec,
      {"alice x", "alice y", "bob z"}, false, false);
  add("sasrec: no final newline", "nonl.txt", "1 2 3", DataFormat::SasRec, {"1 2", "1 3"}, false,
      false);
  add("recbole: timestamp, no rating", "plain.inter",
      kInterHeader + "u1\ti1\t100\nu1\ti2\t90\nu2\ti1\t95.5\n", DataFormat::RecBole,
      {"u1 i1 t100", "u1 i2 t90", "u2 i1 t95.5"}, false, true);
  add("recbole: rating, columns reordered, extra column", "rated.inter",
      "item_id:token\trating:float\tuser_id:token\treview:token_seq\ttimestamp:float\n"
      "i1\t4\tu1\tgreat stuff\t100\ni2\t2.5\tu2\t\t200\n",
      DataFormat::RecBole, {"u1 i1 r4 t100", "u2 i2 r2.5 t200"}, true, true);
  add("recbole: rating, no timestamp", "notime.inter", kRatedHeader + "u1\ti1\t5\nu1\ti2\t1\n",
      DataFormat::RecBole, {"u1 i1 r5", "u1 i2 r1"}, true, false);
  add("recbole: item_id_list token_seq", "seq.inter",
      "user_id:token\titem_id_list:token_seq\titem_length:float\titem_id:token\n"
      "u1\ta\t1\tb\nu1\ta b\t2\tc\nu2\t\t0\tx\nu1\ta b c\t3\td\nu2\tx\t1\ty\n",
      DataFormat::RecBole, {"u1 a", "u1 b", "u1 c", "u2 x", "u1 d", "u2 y"}, false, false);
  add("recbole: token_seq with truncated history and repeats", "window.inter",
      "user_id:token\titem_id_list:token_seq\titem_id:token\n"
      "u1\ta\tb\nu1\ta b\tc\nu1\tb c\td\nu1\tc d\ta\nu1\td a\ta\n",
      DataFormat::RecBole, {"u1 a", "u1 b", "u1 c", "u1 d", "u1 a", "u1 a"}, false, false);
  add("recbole: token_seq with timestamp_list", "seqtime.inter",
      "user_id:token\titem_id_list:token_seq\ttimestamp_list:float_seq\titem_id:token\t"
      "timestamp:float\nu1\ta\t10\tb\t20\nu1\ta b\t10 20\tc\t30\n",
      DataFormat::RecBole, {"u1 a t10", "u1 b t20", "u1 c t30"}, false, true);
  add("recbole: titles from sibling .item", "titled.inter",
      "user_id:token\titem_id:token\nu1\ti1\nu1\ti2\n", DataFormat::RecBole, {"u1 i1", "u1 i2"},
      false, false, "titled.item",
      "item_id:token\ttitle:token_seq\ni1\tRed Lipstick\ni9\tNot In The Log\n",
      {"i1=Red Lipstick"});
  add("recbole: titles from sibling .item.gz", "titledgz.inter",
      "user_id:token\titem_id:token\nu1\ti1\nu1\ti2\n", DataFormat::RecBole, {"u1 i1", "u1 i2"},
      false, false, "titledgz.item.gz",
      "title:token_seq\titem_id:token\tbrand:token\nBlue Pen\ti2\tAcme\n", {"i2=Blue Pen"});
  add("recbole: .item without title column", "notitle.inter",
      "user_id:token\titem_id:token\nu1\ti1\n", DataFormat::RecBole, {"u1 i1"}, false, false,
      "notitle.item", "item_id:token\tbrand:token\ni1\tAcme\n", {});
  add("amazon2023: jsonl, timestamp in seconds", "sec.jsonl",
      R"({"rating": 5.0, "title": "ok", "text": "a, b", "images": [], "user_id": "A1", )"
      R"("parent_asin": "B01", "asin": "B01X", "timestamp": 1588687728, "helpful_vote": 0})"
      "\n"
      R"({"user_id":"A2","parent_asin":"B02","rating":3,"timestamp":1588687729})"
      "\n",
      DataFormat::Amazon2023, {"A1 B01 r5 t1588687728", "A2 B02 r3 t1588687729"}, true, true);
  add("amazon2023: jsonl, timestamp in ms, numeric strings", "ms.jsonl",
      kJson1 + R"({"user_id":"A1","parent_asin":"B02","rating":"4","timestamp":"1588687728999"})"
               "\n",
      DataFormat::Amazon2023, {"A1 B01 r5 t1588687728923", "A1 B02 r4 t1588687728999"}, true,
      true);
  add("amazon2023: csv without history", "split.csv",
      kCsvHeader + "A1,B01,5.0,1588687728923\nA2,B02,1.0,1588687728924\n",
      DataFormat::Amazon2023, {"A1 B01 r5 t1588687728923", "A2 B02 r1 t1588687728924"}, true,
      true);
  add("amazon2023: csv with history", "hist.csv",
      "user_id,parent_asin,rating,timestamp,history\nA1,B01,5.0,100,\nA1,B02,4.0,200,B01\n"
      "A1,B03,4.0,300,B01 B02\n",
      DataFormat::Amazon2023, {"A1 B01 r5 t100", "A1 B02 r4 t200", "A1 B03 r4 t300"}, true,
      true);
  add("amazon2023: csv with quoted fields", "quoted.csv",
      "\"user_id\",\"parent_asin\",\"rating\",\"timestamp\",\"history\"\n"
      "\"A1\",\"B01\",\"5.0\",\"100\",\"B00 B02\"\n",
      DataFormat::Amazon2023, {"A1 B01 r5 t100"}, true, true);
}

void TestReaders::readFormats() {
  QFETCH(QString, fileName);
  QFETCH(QByteArray, content);
  QFETCH(int, packing);
  QFETCH(QString, itemFileName);
  QFETCH(QByteArray, itemContent);
  QFETCH(DataFormat, format);
  QFETCH(QStringList, expected);
  QFETCH(bool, hasRatings);
  QFETCH(bool, hasTimestamps);
  QFETCH(QStringList, titles);

  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), fileName, content, packing != Plain);
  if (!itemFileName.isEmpty())
    writeFixture(dir.path(), itemFileName, itemContent, itemFileName.endsWith(QLatin1String(".gz")));

  QCOMPARE(rr::detectFormat(path), format);
  const RawLog log = readInteractions(path);
  QCOMPARE(log.path, path);
  QCOMPARE(log.format, format);
  QCOMPARE(render(log), expected);
  QCOMPARE(log.hasRatings, hasRatings);
  QCOMPARE(log.hasTimestamps, hasTimestamps);
  QCOMPARE(renderTitles(log), titles);
  // Interning: each id string appears once; order keeps file order.
  QCOMPARE(QSet<QString>(log.userIds.begin(), log.userIds.end()).size(), log.userIds.size());
  QCOMPARE(QSet<QString>(log.itemIds.begin(), log.itemIds.end()).size(), log.itemIds.size());
  for (size_t i = 0; i < log.interactions.size(); ++i)
    QCOMPARE(log.interactions[i].order, static_cast<qint64>(i));
  QVERIFY(log.linesRead > 0);
  // An explicit format gives the same result as detection.
  QCOMPARE(render(readInteractions(path, format)), expected);
}

// ---------------------------------------------------------------------------------------------

void TestReaders::malformedLines_data() {
  QTest::addColumn<QString>("fileName");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<bool>("gzip");
  QTest::addColumn<QString>("itemFileName");
  QTest::addColumn<QByteArray>("itemContent");
  QTest::addColumn<QString>("errorFile");  // file the error must name
  QTest::addColumn<qint64>("line");
  QTest::addColumn<QString>("reason");     // must appear in the error's detail

  auto add = [](const char* name, const QString& file, const QByteArray& content, qint64 line,
                const QString& reason, const QString& itemFile = {},
                const QByteArray& itemContent = {}, const QString& errorFile = {}) {
    const QString errFile = errorFile.isEmpty() ? file : errorFile;
    QTest::newRow(name) << file << content << false << itemFile << itemContent << errFile << line
                        << reason;
    QTest::newRow(qPrintable(QStringLiteral("%1 (gzip)").arg(QLatin1String(name))))
        << file + QStringLiteral(".gz") << content << true << itemFile << itemContent
        << (errorFile.isEmpty() ? file + QStringLiteral(".gz") : errorFile) << line << reason;
  };

  add("sasrec: user without items", "a.txt", "1 2 3\n2 3 4\n5\n", 3,
      "expected a user id followed by at least one item id, got 1 field '5'");
  add("sasrec: NUL byte far into the file", "b.txt",
      QByteArray("1 2 3\n").repeated(1000) + QByteArray("4 5\0 6\n", 7), 1001, "NUL byte");
  add("sasrec: header line", "c.txt", "user item\n1 2\n", 1, "unknown header 'user item'");
  add("recbole: too few fields", "a.inter", kInterHeader + "u1\ti1\t100\nu2\ti2\n", 3,
      "expected 3 tab-separated fields, got 2");
  add("recbole: too many fields", "b.inter", kInterHeader + "u1\ti1\t100\textra\n", 2,
      "expected 3 tab-separated fields, got 4");
  add("recbole: rating not a number", "c.inter", kRatedHeader + "u1\ti1\t5\nu1\ti2\tabc\n", 3,
      "rating 'abc' is not a number");
  add("recbole: timestamp not a number", "d.inter", kInterHeader + "u1\ti1\t12:30\n", 2,
      "timestamp '12:30' is not a number");
  add("recbole: empty timestamp", "e.inter", kInterHeader + "u1\ti1\t\n", 2, "empty timestamp");
  add("recbole: empty user id", "f.inter", kInterHeader + "\ti1\t100\n", 2, "empty user_id");
  add("recbole: unknown field type", "g.inter", "user_id:token\titem_id:str\nu1\ti1\n", 1,
      "unknown type 'str'");
  add("recbole: no item_id column", "h.inter", "user_id:token\ttimestamp:float\nu1\t1\n", 1,
      "no item_id:token column");
  add("recbole: item_id with the wrong type", "i.inter", "user_id:token\titem_id:float\nu1\t1\n",
      1, "must have type token");
  add("recbole: header separated by spaces", "j.inter", "user_id:token item_id:token\nu1\ti1\n", 1,
      "separated by tabs");
  add("recbole: timestamp_list length differs", "k.inter",
      "user_id:token\titem_id_list:token_seq\ttimestamp_list:float_seq\titem_id:token\t"
      "timestamp:float\nu1\ta\t10 20\tb\t30\n",
      2, "timestamp_list has 2 values but item_id_list has 1 items");
  add("recbole: malformed .item file", "l.inter", "user_id:token\titem_id:token\nu1\ti1\n", 3,
      "expected 2 tab-separated fields, got 1", "l.item",
      "item_id:token\ttitle:token_seq\ni1\tA\ni2\n", "l.item");
  add("jsonl: invalid JSON", "a.jsonl", kJson1 + R"({"user_id": "A2", "parent_asin": })" "\n", 2,
      "invalid JSON");
  add("jsonl: missing parent_asin", "b.jsonl",
      kJson1 + R"({"user_id": "A2", "rating": 1, "timestamp": 5})" "\n", 2,
      "missing field parent_asin");
  add("jsonl: rating not a number", "c.jsonl",
      kJson1 + kJson1 +
          R"({"user_id":"A2","parent_asin":"B1","rating":"abc","timestamp":5})" "\n",
      3, "rating 'abc' is not a number");
  add("jsonl: rating is a boolean", "d.jsonl",
      R"({"user_id":"A2","parent_asin":"B1","rating":true,"timestamp":5})" "\n", 1,
      "rating is not a number");
  add("jsonl: user_id not a string", "e.jsonl",
      R"({"user_id":7,"parent_asin":"B1","rating":1,"timestamp":5})" "\n", 1,
      "user_id must be a non-empty string");
  add("jsonl: line is not an object", "f.jsonl", kJson1 + "[1, 2]\n", 2, "JSON object");
  add("csv: too few fields", "a.csv", kCsvHeader + "A1,B1,5,100\nA1,B2,5\n", 3,
      "expected 4 comma-separated fields, got 3");
  add("csv: rating not a number", "b.csv", kCsvHeader + "A1,B1,abc,100\n", 2,
      "rating 'abc' is not a number");
  add("csv: timestamp not a number", "c.csv", kCsvHeader + "A1,B1,5,yesterday\n", 2,
      "timestamp 'yesterday' is not a number");
  add("csv: empty parent_asin", "d.csv", kCsvHeader + "A1,,5,100\n", 2, "empty parent_asin");
  add("csv: unterminated quote", "e.csv", kCsvHeader + "\"A1,B1,5,100\n", 2,
      "unterminated quoted field");
  add("csv: header without timestamp", "f.csv", "user_id,parent_asin,rating\nA1,B1,5\n", 1,
      "no timestamp column");
}

void TestReaders::malformedLines() {
  QFETCH(QString, fileName);
  QFETCH(QByteArray, content);
  QFETCH(bool, gzip);
  QFETCH(QString, itemFileName);
  QFETCH(QByteArray, itemContent);
  QFETCH(QString, errorFile);
  QFETCH(qint64, line);
  QFETCH(QString, reason);

  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), fileName, content, gzip);
  if (!itemFileName.isEmpty()) writeFixture(dir.path(), itemFileName, itemContent);
  const auto err = dataErrorOf([&] { readInteractions(path); });
  QVERIFY2(err.has_value(), "expected a DataError");
  QCOMPARE(err->file(), QDir(dir.path()).filePath(errorFile));
  QCOMPARE(err->line(), line);
  QVERIFY2(err->detail().contains(reason), qPrintable(err->message()));
  QCOMPARE(err->code(), ExitCode::Data);
  // The one-line message names file and line first.
  QVERIFY(err->message().startsWith(QStringLiteral("%1:%2: ").arg(err->file()).arg(line)));
}

// ---------------------------------------------------------------------------------------------

void TestReaders::fileErrors_data() {
  QTest::addColumn<QString>("fileName");
  QTest::addColumn<QByteArray>("content");  // written as is (already compressed where needed)
  QTest::addColumn<QString>("reason");

  QByteArray garbage;
  for (int i = 0; i < 3000; ++i) garbage.append(static_cast<char>((i * 7919 + 13) % 256));
  QByteArray controls;
  for (int i = 0; i < 300; ++i) controls.append(static_cast<char>(1 + i % 8)).append('a');
  QByteArray truncated = gzipBytes(QByteArray("1 2 3 4 5 6 7 8 9\n").repeated(2000));
  truncated.chop(20);

  QTest::newRow("empty file") << "empty.txt" << QByteArray() << "the file is empty";
  QTest::newRow("only blank lines") << "blank.txt" << QByteArray("\n  \n\t\n") << "only blank lines";
  QTest::newRow("binary garbage") << "garbage.txt" << garbage << "does not look like a text file";
  QTest::newRow("control characters") << "ctrl.txt" << controls
                                      << "does not look like a text file";
  QTest::newRow("gzip of nothing") << "nothing.txt.gz" << gzipBytes({})
                                   << "empty after decompression";
  QTest::newRow("truncated gzip") << "cut.txt.gz" << truncated << "truncated or corrupt";
  QTest::newRow("zip archive") << "data.zip" << QByteArray("PK\x03\x04rest of zip", 16)
                               << "is a zip archive";
  QTest::newRow("xz archive") << "data.txt.xz" << QByteArray("\xFD" "7zXZ\x00 data", 11)
                              << "is an xz archive";
  QTest::newRow("unknown header (.inter)") << "x.inter" << QByteArray("user\titem\nu1\ti1\n")
                                           << "unknown header 'user\titem'";
  QTest::newRow("recbole header field without type")
      << "y.inter" << QByteArray("user_id:token\titem_id\nu1\ti1\n") << "unknown header";
  QTest::newRow("unknown header (.csv)") << "x.csv" << QByteArray("user,item,rating\n1,2,3\n")
                                         << "unknown header 'user,item,rating'";
  QTest::newRow("unknown format") << "x.txt" << QByteArray("a,b,c\nd,e,f\n") << "unknown format";
  QTest::newRow("single column") << "one.txt" << QByteArray("42\n") << "unknown format";
  QTest::newRow(".jsonl that is not JSON") << "x.jsonl" << QByteArray("1 2 3\n") << "JSON lines";
  QTest::newRow("recbole header only") << "h.inter" << kInterHeader + "\n"
                                       << "no interactions found";
  QTest::newRow("csv header only") << "h.csv" << kCsvHeader << "no interactions found";
}

void TestReaders::fileErrors() {
  QFETCH(QString, fileName);
  QFETCH(QByteArray, content);
  QFETCH(QString, reason);
  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), fileName, content);
  const auto err = dataErrorOf([&] { readInteractions(path); });
  QVERIFY2(err.has_value(), "expected a DataError");
  QCOMPARE(err->file(), path);
  QVERIFY2(err->detail().contains(reason), qPrintable(err->message()));
}

void TestReaders::missingFileAndFolder() {
  QTemporaryDir dir;
  const QString missing = QDir(dir.path()).filePath(QStringLiteral("nope.txt"));
  auto err = dataErrorOf([&] { readInteractions(missing); });
  QVERIFY(err.has_value());
  QCOMPARE(err->file(), missing);
  QCOMPARE(err->line(), qint64(0));
  QVERIFY(err->detail().contains(QLatin1String("not found")));
  err = dataErrorOf([&] { readInteractions(dir.path()); });
  QVERIFY(err.has_value());
  QVERIFY(err->detail().contains(QLatin1String("folder")));
  err = dataErrorOf([&] { rr::previewLines(missing); });
  QVERIFY(err.has_value());
}

// ---------------------------------------------------------------------------------------------

void TestReaders::detectFormat_data() {
  QTest::addColumn<QString>("fileName");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<bool>("gzip");
  QTest::addColumn<DataFormat>("format");

  QTest::newRow("sasrec .txt") << "Beauty.txt" << QByteArray("1 1 2 3\n") << false
                               << DataFormat::SasRec;
  QTest::newRow("sasrec without suffix") << "data" << QByteArray("u1 i1\n") << false
                                         << DataFormat::SasRec;
  QTest::newRow("sasrec .txt.gz") << "Beauty.txt.gz" << QByteArray("1 1 2 3\n") << true
                                  << DataFormat::SasRec;
  QTest::newRow("recbole .inter") << "x.inter" << kInterHeader + "u\ti\t1\n" << false
                                  << DataFormat::RecBole;
  QTest::newRow("recbole content named .txt") << "x.txt" << kInterHeader + "u\ti\t1\n" << false
                                              << DataFormat::RecBole;
  QTest::newRow("recbole gzip without suffix") << "x.inter" << kInterHeader + "u\ti\t1\n" << true
                                               << DataFormat::RecBole;
  QTest::newRow("amazon jsonl") << "Beauty.jsonl" << kJson1 << false << DataFormat::Amazon2023;
  QTest::newRow("amazon jsonl.gz") << "Beauty.jsonl.gz" << kJson1 << true
                                   << DataFormat::Amazon2023;
  QTest::newRow("amazon json lines named .json") << "Beauty.json" << kJson1 << false
                                                 << DataFormat::Amazon2023;
  QTest::newRow("amazon csv") << "Beauty.train.csv" << kCsvHeader + "A,B,5,1\n" << false
                              << DataFormat::Amazon2023;
  QTest::newRow("amazon csv.gz") << "Beauty.train.csv.gz" << kCsvHeader + "A,B,5,1\n" << true
                                 << DataFormat::Amazon2023;
  QTest::newRow("amazon csv with history") << "x.csv"
                                           << QByteArray("user_id,parent_asin,rating,timestamp,"
                                                         "history\nA,B,5,1,\n")
                                           << false << DataFormat::Amazon2023;
}

void TestReaders::detectFormat() {
  QFETCH(QString, fileName);
  QFETCH(QByteArray, content);
  QFETCH(bool, gzip);
  QFETCH(DataFormat, format);
  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), fileName, content, gzip);
  QCOMPARE(rr::detectFormat(path), format);
}

void TestReaders::explicitFormatMismatch_data() {
  QTest::addColumn<QString>("fileName");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<DataFormat>("format");
  QTest::addColumn<qint64>("line");
  QTest::addColumn<QString>("reason");
  QTest::newRow("sasrec reader on a recbole file")
      << "x.inter" << kInterHeader + "u\ti\t1\n" << DataFormat::SasRec << qint64(1)
      << "looks like a RecBole header";
  QTest::newRow("sasrec reader on json lines")
      << "x.jsonl" << kJson1 << DataFormat::SasRec << qint64(1) << "looks like JSON lines";
  QTest::newRow("recbole reader on sasrec text")
      << "x.txt" << QByteArray("1\t2\t3\n") << DataFormat::RecBole << qint64(1)
      << "is not 'name:type'";
  QTest::newRow("amazon reader on sasrec text")
      << "x.txt" << QByteArray("1 2 3\n") << DataFormat::Amazon2023 << qint64(1)
      << "unknown header '1 2 3'";
}

void TestReaders::explicitFormatMismatch() {
  QFETCH(QString, fileName);
  QFETCH(QByteArray, content);
  QFETCH(DataFormat, format);
  QFETCH(qint64, line);
  QFETCH(QString, reason);
  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), fileName, content);
  const auto err = dataErrorOf([&] { readInteractions(path, format); });
  QVERIFY2(err.has_value(), "expected a DataError");
  QCOMPARE(err->line(), line);
  QVERIFY2(err->detail().contains(reason), qPrintable(err->message()));
}

void TestReaders::parseFormatNames() {
  for (DataFormat f : {DataFormat::Auto, DataFormat::SasRec, DataFormat::RecBole,
                       DataFormat::Amazon2023})
    QCOMPARE(parseDataFormat(dataFormatName(f)), f);
  try {
    parseDataFormat(QStringLiteral("parquet"));
    QFAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    QCOMPARE(e.key(), QStringLiteral("format"));
    QVERIFY(e.message().contains(QLatin1String("parquet")));
  }
}

// ---------------------------------------------------------------------------------------------

void TestReaders::progressAndCancel_data() {
  QTest::addColumn<bool>("gzip");
  QTest::newRow("plain") << false;
  QTest::newRow("gzip") << true;
}

void TestReaders::progressAndCancel() {
  QFETCH(bool, gzip);
  // ~3.5 MB of text; the gzip version is also large enough (varied ids) to span several MB.
  QByteArray content;
  for (int u = 0; u < 60000; ++u) {
    content += QByteArray::number(u);
    for (int k = 0; k < 8; ++k) content += ' ' + QByteArray::number((u * 7919 + k * 104729) % 1000003);
    content += '\n';
  }
  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), QStringLiteral("big.txt"), content, gzip);
  const qint64 fileSize = QFileInfo(path).size();

  QVector<QPair<qint64, qint64>> calls;
  const RawLog log = readInteractions(path, DataFormat::Auto, [&](qint64 done, qint64 total) {
    calls.append({done, total});
    return true;
  });
  QCOMPARE(log.interactions.size(), size_t(60000 * 8));
  QVERIFY(!calls.isEmpty());
  QCOMPARE(calls.last(), qMakePair(fileSize, fileSize));
  for (int i = 1; i < calls.size(); ++i) QVERIFY(calls[i].first >= calls[i - 1].first);
  for (const auto& c : calls) QCOMPARE(c.second, fileSize);
  // About one call per MB of file (plus the final one).
  QVERIFY2(calls.size() >= fileSize / (1 << 20), qPrintable(QString::number(calls.size())));

  int seen = 0;
  bool cancelled = false;
  try {
    readInteractions(path, DataFormat::Auto, [&](qint64, qint64) { return ++seen < 1; });
  } catch (const CancelledError& e) {
    cancelled = true;
    QCOMPARE(e.code(), ExitCode::Cancelled);
  }
  QVERIFY(cancelled);
  QCOMPARE(seen, 1);
}

void TestReaders::previewLines_data() {
  QTest::addColumn<bool>("gzip");
  QTest::newRow("plain") << false;
  QTest::newRow("gzip") << true;
}

void TestReaders::previewLines() {
  QFETCH(bool, gzip);
  QTemporaryDir dir;
  const QString path = writeFixture(dir.path(), QStringLiteral("p.txt"),
                                    "\xEF\xBB\xBF" "a 1 2\r\n\nb 3\nc 4\nd 5\n", gzip);
  QCOMPARE(rr::previewLines(path, 3), (QStringList{"a 1 2", "", "b 3"}));
  QCOMPARE(rr::previewLines(path).size(), 5);
}

RR_TEST_MAIN(TestReaders)
#include "tst_readers.moc"
