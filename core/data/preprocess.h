#pragma once
/// \file
/// \brief Rating threshold, k-core filtering to a fixed point, dense id remapping (SPEC §1).

#include "core/data/readers.h"
#include "core/data/sequence_data.h"

#include <QJsonObject>

namespace rr {

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
/// Throws DataError(log.path, 0, ...) when nothing survives the filters.
SequenceData preprocess(const RawLog& log, const PreprocessOptions& options);

}  // namespace rr
