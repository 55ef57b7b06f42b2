// The import wizard: format detection and preview, statistics off the GUI thread, and a
// malformed file rejected with its line number shown.
#include "studio_test_support.h"
#include "test_main.h"
#include "views/import_wizard.h"

#include <QApplication>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>

using namespace rr;
using namespace rr::views;

namespace {
QString write(const QTemporaryDir& dir, const QString& name, const QByteArray& content) {
  QFile f(dir.filePath(name));
  if (!f.open(QIODevice::WriteOnly)) return {};
  f.write(content);
  return f.fileName();
}
}  // namespace

class ImportWizardTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { rr::test::isolateSettings(); }

  void rejectsMalformedFileWithLineNumber_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("line");
    QTest::newRow("sasrec user without items") << QByteArray("1 2 3\n2 3 4\n5\n") << "a.txt" << 3;
    QTest::newRow("recbole rating not a number")
        << QByteArray("user_id:token\titem_id:token\trating:float\nu1\ti1\t5\nu1\ti2\tabc\n") << "b.inter" << 3;
  }
  void rejectsMalformedFileWithLineNumber() {
    QFETCH(QByteArray, content);
    QFETCH(QString, name);
    QFETCH(int, line);
    QTemporaryDir dir;
    const QString path = write(dir, name, content);
    ImportWizard wizard(dir.path());
    wizard.show();
    wizard.setSource(path);
    QVERIFY(wizard.currentPage()->isComplete());  // the file exists; its content is checked next
    QSignalSpy done(&wizard, &ImportWizard::previewFinished);
    wizard.next();
    wizard.next();
    QCOMPARE(wizard.currentId(), int(ImportWizard::StatsPage));
    QVERIFY(done.wait(10000));
    QVERIFY(!wizard.previewReady());
    QCOMPARE(wizard.preview().errorLine, qint64(line));
    QVERIFY2(wizard.statusText().contains(QStringLiteral("Line %1").arg(line)), qPrintable(wizard.statusText()));
    QVERIFY2(wizard.statusText().contains(QStringLiteral("%1:%2").arg(name).arg(line)), qPrintable(wizard.statusText()));
    QVERIFY(!wizard.currentPage()->isComplete());  // Finish stays disabled
  }

  void detectsFormatAndShowsStatistics() {
    QTemporaryDir dir;
    QByteArray content;
    for (int u = 1; u <= 30; ++u) {
      content += QByteArray::number(u);
      for (int i = 0; i < 3 + u % 7; ++i) content += ' ' + QByteArray::number(1 + (u * 3 + i) % 12);
      content += '\n';
    }
    const QString path = write(dir, "seq.txt", content);
    ImportWizard wizard(dir.path());
    wizard.show();
    wizard.setSource(path);
    QVERIFY(wizard.detectedText().startsWith(QStringLiteral("sasrec")));
    wizard.next();
    wizard.next();
    QSignalSpy done(&wizard, &ImportWizard::previewFinished);
    QVERIFY(done.wait(10000));
    QVERIFY2(wizard.previewReady(), qPrintable(wizard.statusText()));
    QCOMPARE(wizard.preview().format, QStringLiteral("sasrec"));
    QVERIFY(wizard.preview().stats.users > 0);
    QVERIFY(!wizard.preview().stats.lengthHistogram.empty());
    QVERIFY(wizard.currentPage()->isComplete());
    const ImportRequest req = wizard.request();
    QCOMPARE(req.source, path);
    QCOMPARE(req.preprocess.kcore, 5);
  }

  void previewOfASyntheticSpec() {
    std::atomic<bool> cancel{false};
    ImportRequest req;
    req.source = rr::test::kTinyData;
    const ImportPreview p = computeImportPreview(req, 5, &cancel);
    QVERIFY2(p.ok, qPrintable(p.error));
    QCOMPARE(p.format, QStringLiteral("synthetic"));
    QVERIFY(p.truncatedUsers > 0);  // mean length 10 > max length 5
    cancel = true;
    QTemporaryDir dir;
    req.source = write(dir, "x.txt", QByteArray("1 2 3\n").repeated(100));
    QVERIFY(computeImportPreview(req, 5, &cancel).cancelled);
  }
};

RR_TEST_GUI_MAIN(ImportWizardTest)
#include "tst_import_wizard.moc"
