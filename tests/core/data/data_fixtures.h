#pragma once
// Helpers shared by the data-layer tests: fixture files and hand-made logs.
#include "core/data/readers.h"
#include "core/errors.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>
#include <QStringList>
#include <QtTest>

#include <zlib.h>

namespace rr::testing {

/// Writes `content` to dir/name, gzip-compressed when `gzip` is set.
inline QString writeFixture(const QString& dir, const QString& name, const QByteArray& content,
                            bool gzip = false) {
  const QString path = QDir(dir).filePath(name);
  if (gzip) {
    gzFile f = gzopen(QFile::encodeName(path).constData(), "wb");
    if (!f) qFatal("cannot write %s", qPrintable(path));
    if (!content.isEmpty()) gzwrite(f, content.constData(), static_cast<unsigned>(content.size()));
    gzclose(f);
  } else {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(content);
  }
  return path;
}

/// Builds a RawLog from lines "user item [rating [timestamp]]" in file order.
inline RawLog makeLog(const QStringList& lines, bool hasRatings = false, bool hasTimestamps = false,
                      const QString& path = QStringLiteral("hand-made.log")) {
  RawLog log;
  log.path = path;
  log.hasRatings = hasRatings;
  log.hasTimestamps = hasTimestamps;
  for (const QString& line : lines) {
    const QStringList f = line.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    RawInteraction r;
    r.user = static_cast<int>(log.userIds.indexOf(f[0]));
    if (r.user < 0) {
      r.user = static_cast<int>(log.userIds.size());
      log.userIds << f[0];
    }
    r.item = static_cast<int>(log.itemIds.indexOf(f[1]));
    if (r.item < 0) {
      r.item = static_cast<int>(log.itemIds.size());
      log.itemIds << f[1];
    }
    if (f.size() > 2) r.rating = f[2].toDouble();
    if (f.size() > 3) r.timestamp = f[3].toDouble();
    r.order = static_cast<qint64>(log.interactions.size());
    log.interactions.push_back(r);
  }
  return log;
}

}  // namespace rr::testing
