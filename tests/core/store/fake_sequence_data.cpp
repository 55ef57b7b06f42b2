// TEMPORARY test stand-in, only until the data-layer branch is merged (then delete this file
// and fake_sequence_data.cmake). Implements just the SequenceData/DatasetStats symbols that
// reasonrec_core references, in a throwaway format: the store tests only round-trip through
// the store and never look inside the blob.
#include "core/data/sequence_data.h"
#include "core/errors.h"

#include <QDataStream>
#include <QIODevice>
#include <QJsonArray>

namespace rr {

namespace {
constexpr quint32 kFakeMagic = 0x46414B45;  // "FAKE"
}

QJsonObject DatasetStats::toJson() const {
  QJsonObject o;
  o.insert(QStringLiteral("users"), users);
  o.insert(QStringLiteral("items"), items);
  o.insert(QStringLiteral("interactions"), interactions);
  o.insert(QStringLiteral("avg_length"), avgLength);
  o.insert(QStringLiteral("min_length"), minLength);
  o.insert(QStringLiteral("max_length"), maxLength);
  o.insert(QStringLiteral("median_length"), medianLength);
  o.insert(QStringLiteral("sparsity"), sparsity);
  o.insert(QStringLiteral("has_timestamps"), hasTimestamps);
  o.insert(QStringLiteral("has_titles"), hasTitles);
  return o;
}

DatasetStats DatasetStats::fromJson(const QJsonObject& o) {
  DatasetStats s;
  s.users = o.value(QStringLiteral("users")).toInteger();
  s.items = o.value(QStringLiteral("items")).toInteger();
  s.interactions = o.value(QStringLiteral("interactions")).toInteger();
  s.avgLength = o.value(QStringLiteral("avg_length")).toDouble();
  s.minLength = o.value(QStringLiteral("min_length")).toInt();
  s.maxLength = o.value(QStringLiteral("max_length")).toInt();
  s.medianLength = o.value(QStringLiteral("median_length")).toDouble();
  s.sparsity = o.value(QStringLiteral("sparsity")).toDouble();
  s.hasTimestamps = o.value(QStringLiteral("has_timestamps")).toBool();
  s.hasTitles = o.value(QStringLiteral("has_titles")).toBool();
  return s;
}

QByteArray serializeSequenceData(const SequenceData& data) {
  QByteArray raw;
  QDataStream out(&raw, QIODevice::WriteOnly);
  out << kFakeMagic << qint32(data.numItems) << quint64(data.sequences.size());
  for (const auto& seq : data.sequences) {
    out << quint64(seq.size());
    for (int32_t item : seq) out << qint32(item);
  }
  out << quint64(data.timestamps.size());
  for (const auto& ts : data.timestamps) {
    out << quint64(ts.size());
    for (double t : ts) out << t;
  }
  out << data.userIds << data.itemIds << data.itemTitles;
  return qCompress(raw);
}

SequenceData deserializeSequenceData(const QByteArray& blob) {
  const QByteArray raw = qUncompress(blob);
  QDataStream in(raw);
  quint32 magic = 0;
  qint32 numItems = 0;
  quint64 n = 0;
  in >> magic >> numItems >> n;
  if (magic != kFakeMagic) throw DataError(QStringLiteral("<store>"), 0, QStringLiteral("corrupt dataset blob"));
  SequenceData d;
  d.numItems = numItems;
  d.sequences.resize(n);
  for (auto& seq : d.sequences) {
    quint64 len = 0;
    in >> len;
    seq.resize(len);
    for (auto& item : seq) {
      qint32 v = 0;
      in >> v;
      item = v;
    }
  }
  in >> n;
  d.timestamps.resize(n);
  for (auto& ts : d.timestamps) {
    quint64 len = 0;
    in >> len;
    ts.resize(len);
    for (auto& t : ts) in >> t;
  }
  in >> d.userIds >> d.itemIds >> d.itemTitles;
  if (in.status() != QDataStream::Ok)
    throw DataError(QStringLiteral("<store>"), 0, QStringLiteral("corrupt dataset blob"));
  return d;
}

}  // namespace rr
