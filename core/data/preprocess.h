#pragma once
/// \file
/// \brief Rating threshold, k-core filtering to a fixed point, dense id remapping (SPEC §1).

#include "core/data/readers.h"
#include "core/data/sequence_data.h"

#include <QJsonObject>

namespace rr {

/// JSON keys: "min_rating", "kcore", "min_sequence_length" (fromJson: absent = default; bad
/// values throw ConfigError("data.<key>", ...)).
struct PreprocessOptions {
  /// Keep interactions with rating > minRating when the log has ratings.
  double minRating = 3.0;
  /// Repeatedly drop users and items with fewer than kcore interactions until nothing
  /// changes (0 = off).
  int kcore = 5;
  /// Drop users with fewer items than this after k-core.
  int minSequenceLength = 3;

  QJsonObject toJson() const;
  static PreprocessOptions fromJson(const QJsonObject& o);
};

/// \brief Log -> per-user time-ordered sequences with dense ids 1..N.
/// Order: rating filter, per-user sort by (timestamp, file order), k-core, minimum length.
/// Dense ids are deterministic: users by the file position of their first surviving interaction;
/// items 1..N by first appearance walking those users' time-ordered sequences.
/// Throws DataError(log.path, 0, ...) naming the filter when nothing survives.
SequenceData preprocess(const RawLog& log, const PreprocessOptions& options);

}  // namespace rr
