#pragma once
/// \file
/// \brief Seeded synthetic interaction logs with planted sequential structure (SPEC §1).

#include "core/data/readers.h"

#include <QString>
#include <cstdint>

namespace rr {

/// \brief Parameters of the generator. Each user has a home interest cluster; the next item
/// follows the previous item's Markov successor (markov), a popular item of the user's cluster
/// (cluster) or a globally popular item (popularity), with Zipf-skewed popularity. Sequential
/// models must beat popularity on it; the Markov part rewards models that read the last item.
struct SyntheticOptions {
  int users = 2000;
  int items = 500;
  int clusters = 10;
  double meanLength = 20;   ///< mean user sequence length (geometric-ish around it)
  int minLength = 5;
  int maxLength = 200;
  double markov = 0.6;      ///< probability the next item is the previous item's successor
  double cluster = 0.3;     ///< probability of a cluster item; the rest is global popularity
  double zipf = 1.0;        ///< popularity skew exponent
  /// "markov" (default): the mixture above. "copy": each user's first half are distinct
  /// uniformly drawn items and the second half repeats them from a random offset, so the next
  /// item is the successor of the previous item's earlier occurrence (an induction step; the
  /// Markov/cluster/popularity keys are unused). Needs min_length >= 4 and items >= max_length.
  /// "chain": pairs (c_j, c_j+1) of a per-user chain of distinct items, then queries whose
  /// answers are two hops along it (validation f²(q), test f⁴(q)): pointer chasing, which a
  /// single pass of two attention layers cannot do. Needs min_length >= 15, items >= max_length.
  QString pattern = QStringLiteral("markov");
  uint64_t seed = 1;

  /// The canonical spec string with every key in a fixed order, e.g. "synthetic:users=2000,
  /// items=500,clusters=10,length=20,min_length=5,max_length=200,markov=0.6,cluster=0.3,zipf=1,
  /// pattern=markov,seed=1" (spec key `length` = meanLength).
  QString toSpec() const;
};

/// True when a --data argument names the generator rather than a file.
bool isSyntheticSpec(const QString& data);
/// "synthetic:key=value,..."; unknown keys or bad values throw ConfigError("data", ...).
SyntheticOptions parseSyntheticSpec(const QString& spec);

/// \brief A RawLog (users "u1".., items "i1"..; increasing timestamps; rating 5), so synthetic
/// data goes through the same preprocessing as files. Same options -> identical log on every
/// platform (SplitMix64 and integer/threshold sampling only). path = toSpec(), format = Auto.
/// Users start uniformly within one year (Unix seconds from 1.6e9) and step 1 s..2 days, so
/// their activity interleaves in global time. Invalid options throw ConfigError("data", ...).
RawLog generateSynthetic(const SyntheticOptions& options);

}  // namespace rr
