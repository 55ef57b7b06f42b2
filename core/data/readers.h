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
                                   ///< (only items that occur in the log)
  qint64 linesRead = 0;            ///< physical lines of the file, header included (0: generated)
};

/// Progress callback: (bytes read, total bytes) of the file on disk (compressed bytes for gzip),
/// called on the reading thread about once per MB and once more with (total, total) at the end.
/// Return false to cancel (throws CancelledError).
using ReadProgress = std::function<bool(qint64, qint64)>;

/// \brief Guesses the format from the first non-blank line (decompressed): '{' = Amazon 2023 JSON
/// lines, 'name:type' fields = RecBole, a CSV header with user_id and parent_asin = Amazon 2023
/// CSV, otherwise 'user item...' = SASRec text. A .inter/.csv/.jsonl name whose content does not
/// fit says so. Throws DataError(path, 0 or 1, ...) when nothing fits (unknown header, empty or
/// binary file, zip/xz/bzip2/zstd archive).
DataFormat detectFormat(const QString& path);

/// \brief Reads a whole file (plain or gzip, recognised by its magic bytes). For RecBole `.inter`,
/// a sibling `.item` (or `.item.gz`) file with `item_id` and `title` columns is read too. Any
/// malformed line throws DataError(path, line, reason) and nothing partial is returned.
/// RecBole's pre-split form (`item_id_list:token_seq` + `item_id:token`) is expanded to history
/// then target per row, dropping the part of the history that repeats the user's sequence so far;
/// its ratings are not kept, and its timestamps only when `timestamp_list:float_seq` accompanies
/// `timestamp:float`. Amazon 2023 CSV `history` columns are ignored.
RawLog readInteractions(const QString& path, DataFormat format = DataFormat::Auto,
                        const ReadProgress& progress = {});

/// \brief The first lines of a file (decompressed), for previews in the import wizard.
QStringList previewLines(const QString& path, int maxLines = 20);

}  // namespace rr
