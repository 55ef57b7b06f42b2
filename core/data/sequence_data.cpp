// SequenceData: statistics, structural validation, labels and the store's binary form.
#include "core/data/sequence_data.h"

#include "core/errors.h"

#include <QDataStream>
#include <QIODevice>
#include <QJsonArray>
#include <QtEndian>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

namespace rr {

namespace {

/// Lower edges of the sequence-length histogram bins; the last bin is open-ended (200+).
constexpr int kHistogramEdges[] = {1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 200};

/// "RRSD": ReasonRec sequence data.
constexpr quint32 kBlobMagic = 0x52525344u;
/// Version 1: header (magic, version) then qCompress(payload); payload described below.
constexpr quint32 kBlobVersion = 1;
constexpr int kStreamVersion = QDataStream::Qt_6_0;
const QString kStoreName = QStringLiteral("<store>");

/// Appends a vector of trivially copyable numbers as little-endian bytes.
template <typename T>
void appendLittleEndian(QByteArray& out, const T* data, size_t n) {
  const qsizetype start = out.size();
  out.resize(start + static_cast<qsizetype>(n * sizeof(T)));
  char* dst = out.data() + start;
  if constexpr (Q_BYTE_ORDER == Q_LITTLE_ENDIAN) {
    if (n) std::memcpy(dst, data, n * sizeof(T));
  } else {
    for (size_t i = 0; i < n; ++i) qToLittleEndian(data[i], dst + i * sizeof(T));
  }
}

template <typename T>
void readLittleEndian(const char* src, T* data, size_t n) {
  if constexpr (Q_BYTE_ORDER == Q_LITTLE_ENDIAN) {
    if (n) std::memcpy(data, src, n * sizeof(T));
  } else {
    for (size_t i = 0; i < n; ++i) data[i] = qFromLittleEndian<T>(src + i * sizeof(T));
  }
}

[[noreturn]] void corrupt(const QString& why) {
  throw DataError(kStoreName, 0, QStringLiteral("stored dataset is corrupt: %1").arg(why));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DatasetStats

QJsonObject DatasetStats::toJson() const {
  QJsonObject o;
  o[QStringLiteral("users")] = static_cast<double>(users);
  o[QStringLiteral("items")] = static_cast<double>(items);
  o[QStringLiteral("interactions")] = static_cast<double>(interactions);
  o[QStringLiteral("avg_length")] = avgLength;
  o[QStringLiteral("min_length")] = minLength;
  o[QStringLiteral("max_length")] = maxLength;
  o[QStringLiteral("median_length")] = medianLength;
  o[QStringLiteral("sparsity")] = sparsity;
  QJsonArray edges, counts;
  for (int e : histogramEdges) edges.append(e);
  for (qint64 c : lengthHistogram) counts.append(static_cast<double>(c));
  o[QStringLiteral("histogram_edges")] = edges;
  o[QStringLiteral("length_histogram")] = counts;
  o[QStringLiteral("has_timestamps")] = hasTimestamps;
  o[QStringLiteral("has_titles")] = hasTitles;
  return o;
}

DatasetStats DatasetStats::fromJson(const QJsonObject& o) {
  DatasetStats s;
  s.users = static_cast<qint64>(o.value(QStringLiteral("users")).toDouble());
  s.items = static_cast<qint64>(o.value(QStringLiteral("items")).toDouble());
  s.interactions = static_cast<qint64>(o.value(QStringLiteral("interactions")).toDouble());
  s.avgLength = o.value(QStringLiteral("avg_length")).toDouble();
  s.minLength = o.value(QStringLiteral("min_length")).toInt();
  s.maxLength = o.value(QStringLiteral("max_length")).toInt();
  s.medianLength = o.value(QStringLiteral("median_length")).toDouble();
  s.sparsity = o.value(QStringLiteral("sparsity")).toDouble();
  for (const QJsonValue& v : o.value(QStringLiteral("histogram_edges")).toArray())
    s.histogramEdges.push_back(v.toInt());
  for (const QJsonValue& v : o.value(QStringLiteral("length_histogram")).toArray())
    s.lengthHistogram.push_back(static_cast<qint64>(v.toDouble()));
  s.hasTimestamps = o.value(QStringLiteral("has_timestamps")).toBool();
  s.hasTitles = o.value(QStringLiteral("has_titles")).toBool();
  return s;
}

// ---------------------------------------------------------------------------------------------
// SequenceData

QString SequenceData::itemLabel(int item) const {
  if (item >= 0 && item < itemTitles.size() && !itemTitles[item].isEmpty()) return itemTitles[item];
  if (item >= 0 && item < itemIds.size() && !itemIds[item].isEmpty()) return itemIds[item];
  return QString::number(item);
}

DatasetStats SequenceData::computeStats() const {
  DatasetStats s;
  s.users = numUsers();
  s.items = numItems;
  s.hasTimestamps = hasTimestamps();
  s.hasTitles = !itemTitles.isEmpty();
  std::vector<int> lengths;
  lengths.reserve(sequences.size());
  for (const auto& seq : sequences) lengths.push_back(static_cast<int>(seq.size()));
  for (int n : lengths) s.interactions += n;
  if (!lengths.empty()) {
    std::sort(lengths.begin(), lengths.end());
    s.minLength = lengths.front();
    s.maxLength = lengths.back();
    s.avgLength = static_cast<double>(s.interactions) / static_cast<double>(lengths.size());
    const size_t mid = lengths.size() / 2;
    s.medianLength = lengths.size() % 2 ? lengths[mid] : 0.5 * (lengths[mid - 1] + lengths[mid]);
  }
  if (s.users > 0 && s.items > 0)
    s.sparsity = 1.0 - static_cast<double>(s.interactions) /
                           (static_cast<double>(s.users) * static_cast<double>(s.items));
  // Fixed bins so histograms of different datasets line up; an extra [0,1) bin only when some
  // user has no items, and the last edge closes the open-ended 200+ bin above the longest user.
  if (s.minLength == 0 && !lengths.empty()) s.histogramEdges.push_back(0);
  for (int e : kHistogramEdges) s.histogramEdges.push_back(e);
  s.histogramEdges.push_back(std::max(s.maxLength, kHistogramEdges[std::size(kHistogramEdges) - 1]) + 1);
  s.lengthHistogram.assign(s.histogramEdges.size() - 1, 0);
  for (int n : lengths) {
    auto it = std::upper_bound(s.histogramEdges.begin(), s.histogramEdges.end(), n);
    const auto bin = std::distance(s.histogramEdges.begin(), it) - 1;
    if (bin >= 0 && bin < static_cast<std::ptrdiff_t>(s.lengthHistogram.size())) ++s.lengthHistogram[bin];
  }
  return s;
}

void SequenceData::validate(const QString& name) const {
  auto fail = [&](const QString& why) { throw DataError(name, 0, why); };
  if (numItems < 0) fail(QStringLiteral("negative item count %1").arg(numItems));
  if (!userIds.isEmpty() && userIds.size() != numUsers())
    fail(QStringLiteral("%1 user ids for %2 users").arg(userIds.size()).arg(numUsers()));
  if (!itemIds.isEmpty()) {
    if (itemIds.size() != numItems + 1)
      fail(QStringLiteral("%1 item ids for %2 items (expected %3, index 0 is padding)")
               .arg(itemIds.size())
               .arg(numItems)
               .arg(numItems + 1));
    if (!itemIds.front().isEmpty()) fail(QStringLiteral("item id 0 (padding) must be empty"));
  }
  if (!itemTitles.isEmpty() && itemTitles.size() != numItems + 1)
    fail(QStringLiteral("%1 item titles for %2 items (expected %3)")
             .arg(itemTitles.size())
             .arg(numItems)
             .arg(numItems + 1));
  if (hasTimestamps() && timestamps.size() != sequences.size())
    fail(QStringLiteral("timestamps for %1 users but sequences for %2")
             .arg(timestamps.size())
             .arg(sequences.size()));
  for (size_t u = 0; u < sequences.size(); ++u) {
    const auto& seq = sequences[u];
    if (seq.empty()) fail(QStringLiteral("user %1 has no items").arg(u));
    for (size_t i = 0; i < seq.size(); ++i) {
      if (seq[i] < 1 || seq[i] > numItems)
        fail(QStringLiteral("user %1, position %2: item id %3 is outside 1..%4")
                 .arg(u)
                 .arg(i)
                 .arg(seq[i])
                 .arg(numItems));
    }
    if (hasTimestamps()) {
      const auto& ts = timestamps[u];
      if (ts.size() != seq.size())
        fail(QStringLiteral("user %1 has %2 items but %3 timestamps").arg(u).arg(seq.size()).arg(ts.size()));
      for (size_t i = 0; i < ts.size(); ++i) {
        if (!std::isfinite(ts[i]))
          fail(QStringLiteral("user %1, position %2: timestamp is not a finite number").arg(u).arg(i));
        if (i > 0 && ts[i] < ts[i - 1])
          fail(QStringLiteral("user %1, position %2: timestamps go backwards").arg(u).arg(i));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Binary form.
//
// blob    = magic (u32 BE) | version (u32 BE) | qCompress(payload)
// payload = QDataStream(Qt_6_0): numItems (i32) | numUsers (i32) | hasTimestamps (bool)
//           | userIds | itemIds | itemTitles (QStringList)
//           | lengths (QByteArray: numUsers × i32 LE)
//           | items (QByteArray: Σ lengths × i32 LE)
//           | timestamps (QByteArray: Σ lengths × f64 LE, empty without timestamps)

QByteArray serializeSequenceData(const SequenceData& data) {
  QByteArray lengths, items, times;
  std::vector<int32_t> lens;
  lens.reserve(data.sequences.size());
  size_t total = 0;
  for (const auto& seq : data.sequences) {
    lens.push_back(static_cast<int32_t>(seq.size()));
    total += seq.size();
  }
  appendLittleEndian(lengths, lens.data(), lens.size());
  items.reserve(static_cast<qsizetype>(total * sizeof(int32_t)));
  for (const auto& seq : data.sequences) appendLittleEndian(items, seq.data(), seq.size());
  if (data.hasTimestamps()) {
    times.reserve(static_cast<qsizetype>(total * sizeof(double)));
    for (const auto& ts : data.timestamps) appendLittleEndian(times, ts.data(), ts.size());
  }

  QByteArray payload;
  {
    QDataStream out(&payload, QIODevice::WriteOnly);
    out.setVersion(kStreamVersion);
    out << qint32(data.numItems) << qint32(data.numUsers()) << data.hasTimestamps();
    out << data.userIds << data.itemIds << data.itemTitles;
    out << lengths << items << times;
  }
  QByteArray blob;
  {
    QDataStream header(&blob, QIODevice::WriteOnly);
    header << kBlobMagic << kBlobVersion;
  }
  blob.append(qCompress(payload));
  return blob;
}

SequenceData deserializeSequenceData(const QByteArray& blob) {
  if (blob.size() < 8) corrupt(QStringLiteral("only %1 bytes").arg(blob.size()));
  quint32 magic = 0, version = 0;
  {
    QDataStream header(blob.left(8));
    header >> magic >> version;
  }
  if (magic != kBlobMagic) corrupt(QStringLiteral("not a ReasonRec dataset blob (bad magic)"));
  if (version != kBlobVersion)
    throw DataError(kStoreName, 0,
                    QStringLiteral("stored dataset has format version %1; this build reads "
                                   "version %2")
                        .arg(version)
                        .arg(kBlobVersion));
  // qCompress stores the uncompressed size first; zlib never expands more than ~1032:1, so a
  // larger claim is corruption (and must not make us allocate gigabytes).
  if (blob.size() < 12) corrupt(QStringLiteral("missing compressed payload"));
  const quint32 claimed = qFromBigEndian<quint32>(blob.constData() + 8);
  if (static_cast<double>(claimed) > 1100.0 * static_cast<double>(blob.size() - 12) + 64)
    corrupt(QStringLiteral("implausible payload size %1").arg(claimed));
  const QByteArray payload = qUncompress(blob.mid(8));
  if (payload.isEmpty()) corrupt(QStringLiteral("decompression failed"));

  QDataStream in(payload);
  in.setVersion(kStreamVersion);
  qint32 numItems = 0, numUsers = 0;
  bool hasTimestamps = false;
  SequenceData d;
  QByteArray lengths, items, times;
  in >> numItems >> numUsers >> hasTimestamps;
  in >> d.userIds >> d.itemIds >> d.itemTitles;
  in >> lengths >> items >> times;
  if (in.status() != QDataStream::Ok) corrupt(QStringLiteral("truncated payload"));
  if (!in.atEnd()) corrupt(QStringLiteral("unexpected bytes after the payload"));
  if (numItems < 0 || numUsers < 0) corrupt(QStringLiteral("negative counts"));
  if (lengths.size() != static_cast<qsizetype>(numUsers) * 4)
    corrupt(QStringLiteral("length table does not match %1 users").arg(numUsers));

  std::vector<int32_t> lens(static_cast<size_t>(numUsers));
  readLittleEndian(lengths.constData(), lens.data(), lens.size());
  qint64 total = 0;
  for (int32_t n : lens) {
    if (n < 0) corrupt(QStringLiteral("negative sequence length"));
    total += n;
  }
  if (items.size() != total * 4) corrupt(QStringLiteral("item table does not match the lengths"));
  if (hasTimestamps ? times.size() != total * 8 : !times.isEmpty())
    corrupt(QStringLiteral("timestamp table does not match the lengths"));

  d.numItems = numItems;
  d.sequences.resize(lens.size());
  if (hasTimestamps) d.timestamps.resize(lens.size());
  const char* ip = items.constData();
  const char* tp = times.constData();
  for (size_t u = 0; u < lens.size(); ++u) {
    d.sequences[u].resize(static_cast<size_t>(lens[u]));
    readLittleEndian(ip, d.sequences[u].data(), d.sequences[u].size());
    ip += lens[u] * 4;
    if (hasTimestamps) {
      d.timestamps[u].resize(static_cast<size_t>(lens[u]));
      readLittleEndian(tp, d.timestamps[u].data(), d.timestamps[u].size());
      tp += lens[u] * 8;
    }
  }
  d.validate(kStoreName);
  return d;
}

}  // namespace rr
