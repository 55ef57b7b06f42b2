// Readers for the interaction formats of SPEC §1: SASRec/S3-Rec text, RecBole atomic files and
// Amazon Reviews 2023 (JSON lines and CSV), plain or gzip-compressed.
#include "core/data/readers.h"

#include "core/errors.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zlib.h>

namespace rr {

DataFormat parseDataFormat(const QString& name) {
  if (name == QLatin1String("auto")) return DataFormat::Auto;
  if (name == QLatin1String("sasrec")) return DataFormat::SasRec;
  if (name == QLatin1String("recbole")) return DataFormat::RecBole;
  if (name == QLatin1String("amazon2023")) return DataFormat::Amazon2023;
  throw ConfigError(QStringLiteral("format"),
                    QStringLiteral("unknown data format '%1' (expected auto, sasrec, recbole or "
                                   "amazon2023)")
                        .arg(name));
}

QString dataFormatName(DataFormat f) {
  switch (f) {
    case DataFormat::Auto: return QStringLiteral("auto");
    case DataFormat::SasRec: return QStringLiteral("sasrec");
    case DataFormat::RecBole: return QStringLiteral("recbole");
    case DataFormat::Amazon2023: return QStringLiteral("amazon2023");
  }
  return QStringLiteral("auto");
}

namespace {

/// Bytes requested from zlib per read; also the granularity of the growing line buffer.
constexpr int kReadChunk = 1 << 20;
/// The progress callback is called each time this many more file bytes have been consumed.
constexpr qint64 kProgressStep = 1 << 20;
/// How much decompressed data is inspected to decide whether a file is text at all.
constexpr int kSniffBytes = 4096;
/// Longest token quoted back in an error message.
constexpr int kQuoteLimit = 40;

QString quoted(std::string_view s) {
  QString q = QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
  if (q.size() > kQuoteLimit) q = q.left(kQuoteLimit) + QStringLiteral("...");
  return QLatin1Char('\'') + q + QLatin1Char('\'');
}

std::string_view trimmed(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

bool isBlank(std::string_view s) { return trimmed(s).empty(); }

/// Locale-independent, allocation-free number parsing; rejects trailing junk, NaN and infinity.
bool parseNumber(std::string_view s, double& out) {
  s = trimmed(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == end && std::isfinite(out);
}

/// Splits on one delimiter character, keeping empty fields.
void splitOn(std::string_view line, char delim, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    size_t pos = line.find(delim, start);
    if (pos == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, pos - start));
    start = pos + 1;
  }
}

/// Splits on runs of spaces and tabs, dropping empty tokens.
void splitWhitespace(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0, n = line.size();
  while (i < n) {
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t b = i;
    while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
}

/// Names the container formats people most often hand us by mistake, from their magic bytes.
QString foreignArchiveName(const QByteArray& head) {
  auto starts = [&](const char* magic, int n) {
    return head.size() >= n && std::memcmp(head.constData(), magic, n) == 0;
  };
  if (starts("PK\x03\x04", 4)) return QStringLiteral("a zip archive");
  if (starts("BZh", 3)) return QStringLiteral("a bzip2 archive");
  if (starts("\xFD" "7zXZ\x00", 6)) return QStringLiteral("an xz archive");
  if (starts("\x28\xB5\x2F\xFD", 4)) return QStringLiteral("a zstd archive");
  if (starts("7z\xBC\xAF\x27\x1C", 6)) return QStringLiteral("a 7-zip archive");
  return {};
}

bool hasGzipMagic(const QByteArray& head) {
  return head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
         static_cast<unsigned char>(head[1]) == 0x8b;
}

/// Rejects decompressed content that is not text: NUL bytes or many control characters.
void checkLooksLikeText(const QString& path, const char* data, size_t n) {
  size_t control = 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c == 0)
      throw DataError(path, 0,
                      QStringLiteral("does not look like a text file (binary data at byte %1)")
                          .arg(i));
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') ++control;
  }
  if (n > 0 && control * 20 > n)  // more than 5% control characters
    throw DataError(path, 0, QStringLiteral("does not look like a text file (binary data)"));
}

/// \brief Line-by-line reader over a plain or gzip file (zlib reads both; gzip is recognised
/// by its magic bytes, whatever the file is called). Reports progress per ~1 MB of file bytes.
class LineReader {
 public:
  LineReader(const QString& path, const ReadProgress& progress)
      : path_(path), progress_(progress) {
    QFileInfo info(path);
    if (!info.exists()) throw DataError(path, 0, QStringLiteral("file not found"));
    if (info.isDir()) throw DataError(path, 0, QStringLiteral("is a folder, not a data file"));
    QFile probe(path);
    if (!probe.open(QIODevice::ReadOnly))
      throw DataError(path, 0, QStringLiteral("cannot open: %1").arg(probe.errorString()));
    const QByteArray head = probe.read(8);
    probe.close();
    total_ = info.size();
    if (total_ == 0) throw DataError(path, 0, QStringLiteral("the file is empty"));
    const QString foreign = foreignArchiveName(head);
    if (!foreign.isEmpty())
      throw DataError(path, 0,
                      QStringLiteral("is %1; only plain text or gzip (.gz) files can be read")
                          .arg(foreign));
    gzip_ = hasGzipMagic(head);
    file_ = gzopen(QFile::encodeName(path).constData(), "rb");
    if (!file_) throw DataError(path, 0, QStringLiteral("cannot open for reading"));
    gzbuffer(file_, 256 * 1024);
    buf_.resize(kReadChunk);
  }
  ~LineReader() {
    if (file_) gzclose(file_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Next physical line without its line terminator; false at end of file.
  bool next(std::string_view& line) {
    for (;;) {
      const char* base = buf_.data();
      if (begin_ < end_) {
        const void* nl = std::memchr(base + begin_, '\n', end_ - begin_);
        if (nl) {
          size_t pos = static_cast<const char*>(nl) - base;
          take(line, begin_, pos);
          begin_ = pos + 1;
          return true;
        }
      }
      if (eof_) {
        if (begin_ < end_) {
          take(line, begin_, end_);
          begin_ = end_;
          return true;
        }
        finish();
        return false;
      }
      fill();
    }
  }

  qint64 lineNumber() const { return lineNumber_; }

 private:
  void take(std::string_view& line, size_t b, size_t e) {
    ++lineNumber_;
    if (e > b && buf_[e - 1] == '\r') --e;
    if (lineNumber_ == 1 && e - b >= 3 && std::memcmp(buf_.data() + b, "\xEF\xBB\xBF", 3) == 0)
      b += 3;  // UTF-8 byte order mark
    line = std::string_view(buf_.data() + b, e - b);
    if (std::memchr(line.data(), 0, line.size()))
      throw DataError(path_, lineNumber_,
                      QStringLiteral("line contains binary data (a NUL byte); is this a text "
                                     "file?"));
  }

  void fill() {
    // Keep the unfinished line, then read more behind it (growing the buffer for long lines).
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < static_cast<size_t>(kReadChunk / 2)) buf_.resize(buf_.size() * 2);
    const unsigned want = static_cast<unsigned>(std::min<size_t>(buf_.size() - end_, kReadChunk));
    const int got = gzread(file_, buf_.data() + end_, want);
    if (got < 0) throwZlibError();
    if (!sniffed_) {
      sniffed_ = true;
      if (got == 0) throw DataError(path_, 0, QStringLiteral("the file is empty after decompression"));
      checkLooksLikeText(path_, buf_.data() + end_, std::min(got, kSniffBytes));
    }
    end_ += static_cast<size_t>(got);
    if (got == 0 || gzeof(file_)) {
      int err = Z_OK;
      gzerror(file_, &err);
      if (err != Z_OK) throwZlibError();
      if (got == 0) eof_ = true;
    }
    reportProgress(false);
  }

  [[noreturn]] void throwZlibError() {
    int err = Z_OK;
    const char* msg = gzerror(file_, &err);
    QString what = QString::fromUtf8(msg ? msg : "unknown error");
    if (err == Z_BUF_ERROR) what = QStringLiteral("unexpected end of file");
    if (!gzip_) throw DataError(path_, 0, QStringLiteral("read error (%1)").arg(what));
    throw DataError(path_, 0,
                    QStringLiteral("the gzip data is truncated or corrupt (%1)").arg(what));
  }

  void reportProgress(bool done) {
    if (!progress_) return;
    const qint64 pos = done ? total_ : static_cast<qint64>(gzoffset(file_));
    if (!done && pos < nextReport_) return;
    while (nextReport_ <= pos) nextReport_ += kProgressStep;
    if (!progress_(std::min(pos, total_), total_)) throw CancelledError();
  }

  void finish() {
    if (!finished_) {
      finished_ = true;
      reportProgress(true);
    }
  }

  QString path_;
  ReadProgress progress_;
  gzFile file_ = nullptr;
  bool gzip_ = false;
  qint64 total_ = 0;
  qint64 nextReport_ = kProgressStep;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false, sniffed_ = false, finished_ = false;
  qint64 lineNumber_ = 0;
};

/// \brief Maps id strings to dense indices without allocating on a hit.
class Interner {
 public:
  explicit Interner(QStringList& ids) : ids_(ids) { map_.reserve(1 << 16); }
  int intern(std::string_view s) {
    auto it = map_.find(s);
    if (it != map_.end()) return it->second;
    storage_.emplace_back(s);
    const int index = static_cast<int>(ids_.size());
    map_.emplace(std::string_view(storage_.back()), index);
    ids_.append(QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())));
    return index;
  }
  int find(std::string_view s) const {
    auto it = map_.find(s);
    return it == map_.end() ? -1 : it->second;
  }

 private:
  QStringList& ids_;
  std::deque<std::string> storage_;  // deque: elements never move, so the views stay valid
  std::unordered_map<std::string_view, int> map_;
};

/// Shared state of one read: the log being built and its interners.
struct LogBuilder {
  explicit LogBuilder(const QString& path, DataFormat format)
      : users(log.userIds), items(log.itemIds) {
    log.path = path;
    log.format = format;
  }
  void add(int user, int item, double rating, double timestamp) {
    RawInteraction r;
    r.user = user;
    r.item = item;
    r.rating = rating;
    r.timestamp = timestamp;
    r.order = static_cast<qint64>(log.interactions.size());
    log.interactions.push_back(r);
  }
  RawLog finish(qint64 lines) {
    if (log.interactions.empty())
      throw DataError(log.path, 0, QStringLiteral("no interactions found in the file"));
    log.linesRead = lines;
    return std::move(log);
  }
  RawLog log;
  Interner users;
  Interner items;
};

QString strippedName(const QString& path) {
  QString name = QFileInfo(path).fileName().toLower();
  if (name.endsWith(QLatin1String(".gz"))) name.chop(3);
  return name;
}

bool isRecBoleType(std::string_view type) {
  return type == "token" || type == "token_seq" || type == "float" || type == "float_seq";
}

/// Whether every whitespace-separated token of a line is "name:type" with a word as type (the
/// reader then checks the types, so a misspelt one gets its own message).
bool looksLikeRecBoleHeader(std::string_view line) {
  std::vector<std::string_view> tokens;
  splitWhitespace(line, tokens);
  for (auto t : tokens) {
    const size_t colon = t.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == t.size()) return false;
    for (char c : t.substr(colon + 1))
      if (!std::isalpha(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return !tokens.empty();
}

bool looksLikeAmazonCsvHeader(std::string_view line) {
  const QString lower = QString::fromUtf8(line.data(), static_cast<qsizetype>(line.size())).toLower();
  const QStringList cols = lower.split(QLatin1Char(','));
  QStringList names;
  for (const QString& c : cols) names << c.trimmed().remove(QLatin1Char('"'));
  return names.contains(QLatin1String("user_id")) && names.contains(QLatin1String("parent_asin"));
}

// ---------------------------------------------------------------------------------------------
// SASRec / S3-Rec text: "user item1 item2 ..." per line, or "user item" pairs.

RawLog readSasRec(const QString& path, const ReadProgress& progress) {
  LineReader in(path, progress);
  LogBuilder b(path, DataFormat::SasRec);
  std::vector<std::string_view> tokens;
  std::string_view line;
  bool first = true;
  while (in.next(line)) {
    if (isBlank(line)) continue;
    if (first) {
      first = false;
      const std::string_view t = trimmed(line);
      if (t.front() == '{')
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("this looks like JSON lines (Amazon 2023), not "
                                                "SASRec text; use format amazon2023 or auto"));
      if (looksLikeRecBoleHeader(t))
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("this looks like a RecBole header, not SASRec "
                                                "text; use format recbole or auto"));
    }
    splitWhitespace(line, tokens);
    if (tokens.size() < 2)
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("expected a user id followed by at least one item id, got "
                                     "1 field %1")
                          .arg(quoted(tokens.front())));
    const int user = b.users.intern(tokens[0]);
    for (size_t i = 1; i < tokens.size(); ++i) b.add(user, b.items.intern(tokens[i]), 0, 0);
  }
  return b.finish(in.lineNumber());
}

// ---------------------------------------------------------------------------------------------
// RecBole atomic files.

struct RecBoleHeader {
  int fieldCount = 0;
  int user = -1, item = -1, rating = -1, timestamp = -1;
  int itemList = -1, timestampList = -1, title = -1;
};

/// Parses a "name:type<TAB>..." header. `fileKind` is ".inter" or ".item" for messages.
RecBoleHeader parseRecBoleHeader(const QString& path, std::string_view line, const char* fileKind) {
  std::vector<std::string_view> fields;
  splitOn(line, '\t', fields);
  RecBoleHeader h;
  h.fieldCount = static_cast<int>(fields.size());
  QStringList seen;
  for (int i = 0; i < h.fieldCount; ++i) {
    const std::string_view f = trimmed(fields[i]);
    if (f.find(' ') != std::string_view::npos)
      throw DataError(path, 1,
                      QStringLiteral("header fields must be separated by tabs, not spaces: %1")
                          .arg(quoted(f)));
    const size_t colon = f.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      throw DataError(path, 1,
                      QStringLiteral("unknown header: field %1 is not 'name:type'; a RecBole %2 "
                                     "header looks like 'user_id:token<TAB>item_id:token<TAB>"
                                     "timestamp:float'")
                          .arg(quoted(f), QLatin1String(fileKind)));
    const QString name = QString::fromUtf8(f.data(), static_cast<qsizetype>(colon));
    const std::string_view type = f.substr(colon + 1);
    if (!isRecBoleType(type))
      throw DataError(path, 1,
                      QStringLiteral("header field %1 has unknown type %2 (expected token, "
                                     "token_seq, float or float_seq)")
                          .arg(quoted(f), quoted(type)));
    if (seen.contains(name))
      throw DataError(path, 1, QStringLiteral("header names column '%1' twice").arg(name));
    seen << name;
    auto expect = [&](const char* wanted) {
      if (type != wanted)
        throw DataError(path, 1,
                        QStringLiteral("header field %1: column '%2' must have type %3")
                            .arg(quoted(f), name, QLatin1String(wanted)));
    };
    if (name == QLatin1String("user_id")) {
      expect("token");
      h.user = i;
    } else if (name == QLatin1String("item_id")) {
      expect("token");
      h.item = i;
    } else if (name == QLatin1String("rating")) {
      expect("float");
      h.rating = i;
    } else if (name == QLatin1String("timestamp")) {
      expect("float");
      h.timestamp = i;
    } else if (name == QLatin1String("item_id_list")) {
      expect("token_seq");
      h.itemList = i;
    } else if (name == QLatin1String("timestamp_list")) {
      expect("float_seq");
      h.timestampList = i;
    } else if (name == QLatin1String("title")) {
      h.title = i;  // token or token_seq
    }
  }
  return h;
}

/// Longest m <= limit such that the last m items of `seq` equal the first m of `next`.
size_t overlap(const std::vector<int>& seq, const std::vector<int>& next, size_t limit) {
  for (size_t m = std::min(limit, seq.size()); m > 0; --m) {
    if (std::equal(seq.end() - static_cast<std::ptrdiff_t>(m), seq.end(), next.begin()))
      return m;
  }
  return 0;
}

/// Reads item titles from a sibling .item file for the items the log contains.
void readRecBoleTitles(const QString& itemPath, const Interner& items, RawLog& log) {
  LineReader in(itemPath, {});
  std::string_view line;
  std::vector<std::string_view> fields;
  RecBoleHeader h;
  bool haveHeader = false;
  while (in.next(line)) {
    if (!haveHeader) {
      if (isBlank(line)) continue;
      h = parseRecBoleHeader(itemPath, line, ".item");
      if (h.item < 0 || h.title < 0) return;  // no titles to show
      haveHeader = true;
      continue;
    }
    if (isBlank(line)) continue;
    splitOn(line, '\t', fields);
    if (static_cast<int>(fields.size()) != h.fieldCount)
      throw DataError(itemPath, in.lineNumber(),
                      QStringLiteral("expected %1 tab-separated fields, got %2")
                          .arg(h.fieldCount)
                          .arg(fields.size()));
    const int item = items.find(trimmed(fields[h.item]));
    if (item < 0) continue;
    const QString& id = log.itemIds[item];
    if (!log.titles.contains(id)) {
      const std::string_view t = trimmed(fields[h.title]);
      log.titles.insert(id, QString::fromUtf8(t.data(), static_cast<qsizetype>(t.size())));
    }
  }
}

QString siblingItemFile(const QString& interPath) {
  QString base = interPath;
  if (base.endsWith(QLatin1String(".gz"), Qt::CaseInsensitive)) base.chop(3);
  if (base.endsWith(QLatin1String(".inter"), Qt::CaseInsensitive)) base.chop(6);
  else return {};
  for (const char* suffix : {".item", ".item.gz"}) {
    const QString candidate = base + QLatin1String(suffix);
    if (QFileInfo(candidate).isFile()) return candidate;
  }
  return {};
}

RawLog readRecBole(const QString& path, const ReadProgress& progress) {
  LineReader in(path, progress);
  LogBuilder b(path, DataFormat::RecBole);
  std::string_view line;
  std::vector<std::string_view> fields, seqTokens, seqTimes;
  RecBoleHeader h;
  bool haveHeader = false;
  bool seqForm = false;
  // Pre-split benchmark form: the sequence reconstructed so far per user (items and times).
  std::vector<std::vector<int>> userItems;
  std::vector<std::vector<double>> userTimes;
  std::vector<int> implied;
  std::vector<double> impliedTimes;

  auto number = [&](std::string_view s, const char* what) {
    double v = 0;
    const std::string_view t = trimmed(s);
    if (t.empty())
      throw DataError(path, in.lineNumber(), QStringLiteral("empty %1").arg(QLatin1String(what)));
    if (!parseNumber(t, v))
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("%1 %2 is not a number").arg(QLatin1String(what), quoted(t)));
    return v;
  };
  auto token = [&](std::string_view s, const char* what) {
    const std::string_view t = trimmed(s);
    if (t.empty())
      throw DataError(path, in.lineNumber(), QStringLiteral("empty %1").arg(QLatin1String(what)));
    return t;
  };

  while (in.next(line)) {
    if (!haveHeader) {
      if (isBlank(line)) continue;
      h = parseRecBoleHeader(path, line, ".inter");
      if (h.user < 0)
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("header has no user_id:token column"));
      if (h.item < 0)
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("header has no item_id:token column"));
      seqForm = h.itemList >= 0;
      b.log.hasRatings = !seqForm && h.rating >= 0;
      b.log.hasTimestamps = seqForm ? (h.timestamp >= 0 && h.timestampList >= 0) : h.timestamp >= 0;
      haveHeader = true;
      continue;
    }
    if (isBlank(line)) continue;
    splitOn(line, '\t', fields);
    if (static_cast<int>(fields.size()) != h.fieldCount)
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("expected %1 tab-separated fields, got %2")
                          .arg(h.fieldCount)
                          .arg(fields.size()));
    const int user = b.users.intern(token(fields[h.user], "user_id"));
    const int item = b.items.intern(token(fields[h.item], "item_id"));
    const double ts = b.log.hasTimestamps ? number(fields[h.timestamp], "timestamp") : 0.0;
    if (!seqForm) {
      const double rating = b.log.hasRatings ? number(fields[h.rating], "rating") : 0.0;
      b.add(user, item, rating, ts);
      continue;
    }
    // item_id_list + item_id: the row implies history then target. Consecutive rows of a user
    // repeat the earlier history (possibly truncated at the front), so only what extends the
    // sequence reconstructed so far is added.
    splitWhitespace(fields[h.itemList], seqTokens);
    implied.clear();
    for (auto t : seqTokens) implied.push_back(b.items.intern(t));
    implied.push_back(item);
    impliedTimes.clear();
    if (b.log.hasTimestamps) {
      splitWhitespace(fields[h.timestampList], seqTimes);
      if (seqTimes.size() != seqTokens.size())
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("timestamp_list has %1 values but item_id_list has %2 items")
                            .arg(seqTimes.size())
                            .arg(seqTokens.size()));
      for (auto t : seqTimes) impliedTimes.push_back(number(t, "timestamp_list value"));
      impliedTimes.push_back(ts);
    }
    if (user >= static_cast<int>(userItems.size())) {
      userItems.resize(user + 1);
      userTimes.resize(user + 1);
    }
    std::vector<int>& seq = userItems[user];
    // The target is always new, so at most the history can overlap.
    const size_t m = overlap(seq, implied, implied.size() - 1);
    for (size_t i = m; i < implied.size(); ++i) {
      seq.push_back(implied[i]);
      b.add(user, implied[i], 0.0, b.log.hasTimestamps ? impliedTimes[i] : 0.0);
    }
  }
  if (!haveHeader) throw DataError(path, 0, QStringLiteral("the file has no header line"));
  RawLog log = b.finish(in.lineNumber());
  const QString itemPath = siblingItemFile(path);
  if (!itemPath.isEmpty()) readRecBoleTitles(itemPath, b.items, log);
  return log;
}

// ---------------------------------------------------------------------------------------------
// Amazon Reviews 2023: JSON lines or the official CSV splits.

RawLog readAmazonJsonLines(const QString& path, LineReader& in, LogBuilder& b) {
  std::string_view line;
  b.log.hasRatings = true;
  b.log.hasTimestamps = true;
  while (in.next(line)) {
    if (isBlank(line)) continue;
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(
        QByteArray::fromRawData(line.data(), static_cast<qsizetype>(line.size())), &err);
    if (err.error != QJsonParseError::NoError)
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("invalid JSON: %1 at character %2")
                          .arg(err.errorString())
                          .arg(err.offset + 1));
    if (!doc.isObject())
      throw DataError(path, in.lineNumber(), QStringLiteral("expected a JSON object per line"));
    const QJsonObject o = doc.object();
    auto text = [&](const char* key) {
      const QJsonValue v = o.value(QLatin1String(key));
      if (v.isUndefined())
        throw DataError(path, in.lineNumber(), QStringLiteral("missing field %1").arg(QLatin1String(key)));
      if (!v.isString() || v.toString().trimmed().isEmpty())
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("field %1 must be a non-empty string").arg(QLatin1String(key)));
      return v.toString().trimmed().toUtf8();
    };
    auto number = [&](const char* key) {
      const QJsonValue v = o.value(QLatin1String(key));
      if (v.isUndefined())
        throw DataError(path, in.lineNumber(), QStringLiteral("missing field %1").arg(QLatin1String(key)));
      if (v.isDouble()) return v.toDouble();
      if (v.isString()) {
        const QByteArray s = v.toString().toUtf8();
        double d = 0;
        if (parseNumber(std::string_view(s.constData(), s.size()), d)) return d;
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("%1 %2 is not a number")
                            .arg(QLatin1String(key), quoted(std::string_view(s.constData(), s.size()))));
      }
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("%1 is not a number").arg(QLatin1String(key)));
    };
    const QByteArray u = text("user_id");
    const QByteArray it = text("parent_asin");
    const double rating = number("rating");
    const double ts = number("timestamp");
    b.add(b.users.intern(std::string_view(u.constData(), u.size())),
          b.items.intern(std::string_view(it.constData(), it.size())), rating, ts);
  }
  return b.finish(in.lineNumber());
}

/// Splits one CSV record (RFC 4180 quoting, no embedded newlines). Quoted fields are unescaped
/// into `scratch`, which must outlive `out`. Returns false on an unterminated quote.
bool splitCsv(std::string_view line, std::vector<std::string_view>& out,
              std::deque<std::string>& scratch) {
  out.clear();
  scratch.clear();
  size_t i = 0, n = line.size();
  for (;;) {
    if (i < n && line[i] == '"') {
      std::string& s = scratch.emplace_back();
      ++i;
      for (;;) {
        if (i >= n) return false;
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            s.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        s.push_back(line[i++]);
      }
      // Anything between the closing quote and the comma is kept verbatim.
      size_t comma = line.find(',', i);
      if (comma == std::string_view::npos) comma = n;
      s.append(line.substr(i, comma - i));
      out.push_back(s);
      if (comma >= n) return true;
      i = comma + 1;
    } else {
      size_t comma = line.find(',', i);
      if (comma == std::string_view::npos) {
        out.push_back(line.substr(i));
        return true;
      }
      out.push_back(line.substr(i, comma - i));
      i = comma + 1;
    }
  }
}

RawLog readAmazonCsv(const QString& path, LineReader& in, LogBuilder& b, std::string_view headerLine) {
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  if (!splitCsv(headerLine, fields, scratch))
    throw DataError(path, in.lineNumber(), QStringLiteral("unterminated quoted field in header"));
  const int fieldCount = static_cast<int>(fields.size());
  int user = -1, item = -1, rating = -1, timestamp = -1;
  for (int i = 0; i < fieldCount; ++i) {
    const std::string_view f = trimmed(fields[i]);
    const QString name = QString::fromUtf8(f.data(), static_cast<qsizetype>(f.size())).toLower();
    if (name == QLatin1String("user_id")) user = i;
    else if (name == QLatin1String("parent_asin")) item = i;
    else if (name == QLatin1String("rating")) rating = i;
    else if (name == QLatin1String("timestamp")) timestamp = i;
  }
  for (auto [index, name] : {std::pair{user, "user_id"}, std::pair{item, "parent_asin"},
                             std::pair{rating, "rating"}, std::pair{timestamp, "timestamp"}}) {
    if (index < 0)
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("unknown header: no %1 column; the Amazon 2023 CSV header is "
                                     "'user_id,parent_asin,rating,timestamp[,history]'")
                          .arg(QLatin1String(name)));
  }
  b.log.hasRatings = true;
  b.log.hasTimestamps = true;
  std::string_view line;
  while (in.next(line)) {
    if (isBlank(line)) continue;
    if (!splitCsv(line, fields, scratch))
      throw DataError(path, in.lineNumber(), QStringLiteral("unterminated quoted field"));
    if (static_cast<int>(fields.size()) != fieldCount)
      throw DataError(path, in.lineNumber(),
                      QStringLiteral("expected %1 comma-separated fields, got %2")
                          .arg(fieldCount)
                          .arg(fields.size()));
    auto token = [&](int index, const char* what) {
      const std::string_view t = trimmed(fields[index]);
      if (t.empty())
        throw DataError(path, in.lineNumber(), QStringLiteral("empty %1").arg(QLatin1String(what)));
      return t;
    };
    auto number = [&](int index, const char* what) {
      const std::string_view t = token(index, what);
      double v = 0;
      if (!parseNumber(t, v))
        throw DataError(path, in.lineNumber(),
                        QStringLiteral("%1 %2 is not a number").arg(QLatin1String(what), quoted(t)));
      return v;
    };
    const int u = b.users.intern(token(user, "user_id"));
    const int it = b.items.intern(token(item, "parent_asin"));
    b.add(u, it, number(rating, "rating"), number(timestamp, "timestamp"));
  }
  return b.finish(in.lineNumber());
}

/// The first non-blank lines, decompressed (used for detection).
std::vector<std::string> firstLines(const QString& path, int count) {
  LineReader in(path, {});
  std::vector<std::string> lines;
  std::string_view line;
  while (static_cast<int>(lines.size()) < count && in.next(line)) {
    if (!isBlank(line)) lines.emplace_back(trimmed(line));
  }
  return lines;
}

RawLog readAmazon2023(const QString& path, const ReadProgress& progress) {
  const std::vector<std::string> head = firstLines(path, 1);
  if (head.empty()) throw DataError(path, 0, QStringLiteral("the file has only blank lines"));
  LineReader in(path, progress);
  LogBuilder b(path, DataFormat::Amazon2023);
  if (head.front().front() == '{') return readAmazonJsonLines(path, in, b);
  std::string_view line;
  while (in.next(line) && isBlank(line)) {
  }
  const std::string_view t = trimmed(line);
  if (!looksLikeAmazonCsvHeader(t))
    throw DataError(path, in.lineNumber(),
                    QStringLiteral("unknown header %1: Amazon 2023 files are JSON lines or CSV "
                                   "with the header 'user_id,parent_asin,rating,timestamp"
                                   "[,history]'")
                        .arg(quoted(t)));
  return readAmazonCsv(path, in, b, t);
}

}  // namespace

DataFormat detectFormat(const QString& path) {
  const std::vector<std::string> lines = firstLines(path, 2);
  if (lines.empty()) throw DataError(path, 0, QStringLiteral("the file has only blank lines"));
  const std::string_view first = lines.front();
  const QString name = strippedName(path);
  const bool namedInter = name.endsWith(QLatin1String(".inter"));
  const bool namedCsv = name.endsWith(QLatin1String(".csv"));
  const bool namedJson = name.endsWith(QLatin1String(".jsonl")) || name.endsWith(QLatin1String(".json"));

  if (first.front() == '{') return DataFormat::Amazon2023;
  if (looksLikeRecBoleHeader(first)) return DataFormat::RecBole;
  if (looksLikeAmazonCsvHeader(first)) return DataFormat::Amazon2023;
  if (namedInter)
    throw DataError(path, 0,
                    QStringLiteral("unknown header %1: a RecBole .inter file starts with "
                                   "'name:type' fields, e.g. 'user_id:token<TAB>item_id:token'")
                        .arg(quoted(first)));
  if (namedCsv)
    throw DataError(path, 0,
                    QStringLiteral("unknown header %1: the Amazon 2023 CSV header is "
                                   "'user_id,parent_asin,rating,timestamp[,history]'")
                        .arg(quoted(first)));
  if (namedJson)
    throw DataError(path, 0, QStringLiteral("expected JSON lines (one object per line)"));
  // SASRec text: "user item..." with whitespace-separated tokens (later lines are checked by
  // the reader, which names the line that does not fit).
  std::vector<std::string_view> tokens;
  splitWhitespace(first, tokens);
  if (tokens.size() >= 2 && first.find(',') == std::string_view::npos) {
    // A line of words above lines of numbers is a header, which SASRec files do not have.
    auto all = [](std::string_view line, auto pred) {
      std::vector<std::string_view> t;
      splitWhitespace(line, t);
      return std::all_of(t.begin(), t.end(), [&](std::string_view x) {
        return std::all_of(x.begin(), x.end(), pred);
      });
    };
    const bool words = all(first, [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; });
    const bool numbers = lines.size() > 1 && all(lines[1], [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    });
    if (words && numbers)
      throw DataError(path, 1,
                      QStringLiteral("unknown header %1: SASRec text has no header, and a RecBole "
                                     "header needs 'name:type' fields such as 'user_id:token'")
                          .arg(quoted(first)));
    return DataFormat::SasRec;
  }
  throw DataError(path, 0,
                  QStringLiteral("unknown format: first line %1 fits none of SASRec text "
                                 "('user item1 item2 ...'), RecBole .inter (tab-separated "
                                 "'name:type' header) or Amazon 2023 (JSON lines or CSV)")
                      .arg(quoted(first)));
}

RawLog readInteractions(const QString& path, DataFormat format, const ReadProgress& progress) {
  if (format == DataFormat::Auto) format = detectFormat(path);
  switch (format) {
    case DataFormat::SasRec: return readSasRec(path, progress);
    case DataFormat::RecBole: return readRecBole(path, progress);
    case DataFormat::Amazon2023: return readAmazon2023(path, progress);
    case DataFormat::Auto: break;
  }
  throw DataError(path, 0, QStringLiteral("no reader for this format"));
}

QStringList previewLines(const QString& path, int maxLines) {
  LineReader in(path, {});
  QStringList out;
  std::string_view line;
  while (out.size() < maxLines && in.next(line))
    out << QString::fromUtf8(line.data(), static_cast<qsizetype>(line.size()));
  return out;
}

}  // namespace rr
