// Splits (SPEC §1): leave-one-out and global time cuts, and the training units built from them.
#include "core/data/split.h"

#include "core/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rr {

SplitKind parseSplitKind(const QString& name) {
  if (name == QLatin1String("leave_one_out")) return SplitKind::LeaveOneOut;
  if (name == QLatin1String("global_time")) return SplitKind::GlobalTime;
  throw ConfigError(QStringLiteral("data.split"),
                    QStringLiteral("unknown split '%1' (expected leave_one_out or global_time)")
                        .arg(name));
}

QString splitKindName(SplitKind k) {
  return k == SplitKind::GlobalTime ? QStringLiteral("global_time")
                                    : QStringLiteral("leave_one_out");
}

TargetMode parseTargetMode(const QString& name) {
  if (name == QLatin1String("all_positions")) return TargetMode::AllPositions;
  if (name == QLatin1String("last")) return TargetMode::Last;
  throw ConfigError(QStringLiteral("train.targets"),
                    QStringLiteral("unknown target mode '%1' (expected all_positions or last)")
                        .arg(name));
}

QString targetModeName(TargetMode m) {
  return m == TargetMode::Last ? QStringLiteral("last") : QStringLiteral("all_positions");
}

qint64 DataSplit::trainTargets() const {
  qint64 n = 0;
  for (int32_t end : trainEnd) n += std::max<int32_t>(0, end - 1);
  return n;
}

namespace {

/// Minimum sequence length for a user to contribute validation and test cases under LOO.
constexpr int kLooMinLength = 3;

DataSplit leaveOneOut(const SequenceData& data) {
  DataSplit s;
  s.kind = SplitKind::LeaveOneOut;
  s.trainEnd.resize(data.sequences.size());
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const int32_t n = static_cast<int32_t>(data.sequences[u].size());
    if (n < kLooMinLength) {
      s.trainEnd[u] = n;
      continue;
    }
    s.trainEnd[u] = n - 2;
    s.valid.push_back({static_cast<int32_t>(u), n - 2});
    s.test.push_back({static_cast<int32_t>(u), n - 1});
  }
  if (s.test.empty())
    throw ConfigError(QStringLiteral("data.split"),
                      QStringLiteral("leave_one_out needs users with at least %1 items; this "
                                     "dataset has none")
                          .arg(kLooMinLength));
  return s;
}

/// A cut in (0, 1] is a quantile of all interaction timestamps (that fraction of interactions
/// falls before it; ties at the boundary go to the later period); a cut > 1 is a timestamp.
double resolveCut(const QString& key, double cut, const std::vector<double>& sorted) {
  if (!(cut > 0) || !std::isfinite(cut))
    throw ConfigError(key, QStringLiteral("must be a quantile in (0, 1] or an absolute timestamp "
                                          "> 1, got %1")
                               .arg(cut));
  if (cut > 1) return cut;
  const size_t index = static_cast<size_t>(std::floor(cut * static_cast<double>(sorted.size())));
  return index >= sorted.size() ? std::numeric_limits<double>::infinity() : sorted[index];
}

DataSplit globalTime(const SequenceData& data, const SplitOptions& o) {
  if (!data.hasTimestamps())
    throw ConfigError(QStringLiteral("data.split"),
                      QStringLiteral("global_time needs timestamps and this dataset has none; "
                                     "use leave_one_out"));
  std::vector<double> all;
  for (const auto& ts : data.timestamps) all.insert(all.end(), ts.begin(), ts.end());
  std::sort(all.begin(), all.end());
  const double validT = resolveCut(QStringLiteral("data.valid_cut"), o.validCut, all);
  const double testT = resolveCut(QStringLiteral("data.test_cut"), o.testCut, all);
  if (validT > testT)
    throw ConfigError(QStringLiteral("data.valid_cut"),
                      QStringLiteral("the validation period must start before the test period "
                                     "(valid_cut %1 resolves to %2, after test_cut %3 at %4)")
                          .arg(o.validCut)
                          .arg(validT, 0, 'f', 0)
                          .arg(o.testCut)
                          .arg(testT, 0, 'f', 0));

  DataSplit s;
  s.kind = SplitKind::GlobalTime;
  const size_t numUsers = data.sequences.size();
  s.trainEnd.resize(numUsers);
  std::vector<char> seen(static_cast<size_t>(data.numItems) + 1, 0);
  for (size_t u = 0; u < numUsers; ++u) {
    const auto& ts = data.timestamps[u];
    const int32_t end =
        static_cast<int32_t>(std::lower_bound(ts.begin(), ts.end(), validT) - ts.begin());
    s.trainEnd[u] = end;
    for (int32_t p = 0; p < end; ++p) seen[data.sequences[u][p]] = 1;
  }
  for (size_t u = 0; u < numUsers; ++u) {
    if (s.trainEnd[u] < 1) continue;  // no training-period history
    const auto& seq = data.sequences[u];
    const auto& ts = data.timestamps[u];
    for (size_t p = static_cast<size_t>(s.trainEnd[u]); p < seq.size(); ++p) {
      if (!seen[seq[p]]) continue;  // unseen in training: dropped as a target, kept as history
      const EvalCase c{static_cast<int32_t>(u), static_cast<int32_t>(p)};
      (ts[p] < testT ? s.valid : s.test).push_back(c);
    }
  }
  if (s.valid.empty())
    throw ConfigError(QStringLiteral("data.valid_cut"),
                      QStringLiteral("the global_time split leaves no validation cases (users "
                                     "with training history whose item occurs in training)"));
  if (s.test.empty())
    throw ConfigError(QStringLiteral("data.test_cut"),
                      QStringLiteral("the global_time split leaves no test cases (users with "
                                     "training history whose item occurs in training)"));
  return s;
}

}  // namespace

DataSplit makeSplit(const SequenceData& data, const SplitOptions& options) {
  return options.kind == SplitKind::GlobalTime ? globalTime(data, options) : leaveOneOut(data);
}

std::vector<TrainUnit> trainingUnits(const DataSplit& split, TargetMode mode) {
  std::vector<TrainUnit> units;
  const int32_t numUsers = static_cast<int32_t>(split.trainEnd.size());
  if (mode == TargetMode::AllPositions) {
    for (int32_t u = 0; u < numUsers; ++u)
      if (split.trainEnd[u] >= 2) units.push_back({u, split.trainEnd[u]});
  } else {
    units.reserve(static_cast<size_t>(split.trainTargets()));
    for (int32_t u = 0; u < numUsers; ++u)
      for (int32_t end = 2; end <= split.trainEnd[u]; ++end) units.push_back({u, end});
  }
  return units;
}

}  // namespace rr
