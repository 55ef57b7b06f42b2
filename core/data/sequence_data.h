#pragma once
/// \file
/// \brief A preprocessed dataset: one time-ordered item sequence per user, dense ids, id maps.

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace rr {

/// \brief Statistics computed once at import and stored with the dataset.
struct DatasetStats {
  qint64 users = 0;
  qint64 items = 0;          ///< N (item ids 1..N; 0 is padding)
  qint64 interactions = 0;
  double avgLength = 0;
  int minLength = 0;
  int maxLength = 0;
  double medianLength = 0;
  double sparsity = 0;       ///< 1 - interactions / (users * items)
  /// Histogram of sequence lengths: lengthHistogram[i] = users with length in
  /// [histogramEdges[i], histogramEdges[i+1]). Edges are fixed, 1 2 3 4 5 6 8 10 15 20 30 50
  /// 100 200, closed by max(200, maxLength) + 1 (a leading 0 edge only if a user has no items).
  std::vector<int> histogramEdges;
  std::vector<qint64> lengthHistogram;
  bool hasTimestamps = false;
  bool hasTitles = false;

  QJsonObject toJson() const;
  static DatasetStats fromJson(const QJsonObject& o);
};

/// \brief Users' item sequences after preprocessing.
/// User u (0-based dense) has sequences[u], item ids in 1..numItems, oldest first.
struct SequenceData {
  int numItems = 0;
  std::vector<std::vector<int32_t>> sequences;
  /// Same shape as sequences when the source had timestamps, else empty.
  std::vector<std::vector<double>> timestamps;
  QStringList userIds;     ///< original id of dense user u
  QStringList itemIds;     ///< original id of dense item i; index 0 is "" (padding)
  QStringList itemTitles;  ///< same indexing as itemIds; empty when the source has no titles

  int numUsers() const { return static_cast<int>(sequences.size()); }
  bool hasTimestamps() const { return !timestamps.empty(); }
  /// Title for display, falling back to the original id, then to the number itself.
  QString itemLabel(int item) const;
  /// Statistics of this data (histogram with power-of-two-ish bins).
  DatasetStats computeStats() const;
  /// Structural checks (no empty sequence, ids in 1..numItems, id maps and titles sized to
  /// match or empty, timestamps shaped like sequences, finite and non-decreasing per user);
  /// throws DataError(name, 0, ...).
  void validate(const QString& name) const;
};

/// \brief Compact binary form used by the experiment store: "RRSD" magic, version, then the
/// qCompress'd payload (flat little-endian arrays). Round trips bit-exactly.
QByteArray serializeSequenceData(const SequenceData& data);
/// Throws DataError("<store>", 0, ...) on a corrupt or unknown-version blob.
SequenceData deserializeSequenceData(const QByteArray& blob);

}  // namespace rr
