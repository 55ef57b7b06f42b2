#pragma once
/// \file
/// \brief Readers for the interaction formats of SPEC §1, with format auto-detection.

#include <QHash>
#include <QString>
#include <QStringList>
#include <functional>
#include <vector>

namespace rr {

enum class DataFormat { Auto, SasRec, RecBole, Amazon2023 };

/// "auto" | "sasrec" | "recbole" | "amazon2023" ; throws ConfigError("format", ...) otherwise.
DataFormat parseDataFormat(const QString& name);
QString dataFormatName(DataFormat f);

/// \brief One interaction as read from a file, before any filtering.
struct RawInteraction {
  int user = 0;               ///< index into RawLog::userIds
  int item = 0;               ///< index into RawLog::itemIds
  double rating = 0;          ///< valid when RawLog::hasRatings
  double timestamp = 0;       ///< valid when RawLog::hasTimestamps
  qint64 order = 0;           ///< position in the file; ties in time keep file order
};

/// \brief Everything a reader found, with string ids interned.
struct RawLog {
  QString path;
  DataFormat format = DataFormat::Auto;
  QStringList userIds;        ///< interned original user ids
  QStringList itemIds;        ///< interned original item ids
  std::vector<RawInteraction> interactions;
  bool hasRatings = false;
  bool hasTimestamps = false;
  QHash<QString, QString> titles;  ///< original item id -> title, when a title file exists
  qint64 linesRead = 0;
};

/// Progress callback: (bytes read, total bytes). Return false to cancel (throws CancelledError).
using ReadProgress = std::function<bool(qint64, qint64)>;

/// \brief Guesses the format from the file name and its first lines.
/// Throws DataError(path, 0, ...) when nothing fits.
DataFormat detectFormat(const QString& path);

/// \brief Reads a whole file (plain or .gz). For RecBole `.inter`, a sibling `.item` file with a
/// `title` column is read too. Any malformed line throws DataError(path, line, reason) and
/// nothing partial is returned.
RawLog readInteractions(const QString& path, DataFormat format = DataFormat::Auto,
                        const ReadProgress& progress = {});

/// \brief The first lines of a file (decompressed), for previews in the import wizard.
QStringList previewLines(const QString& path, int maxLines = 20);

}  // namespace rr
