#pragma once
/// \file
/// \brief Train/validation/test splits and the training units built from them (SPEC §1).

#include "core/data/sequence_data.h"

#include <QString>
#include <cstdint>
#include <vector>

namespace rr {

enum class SplitKind { LeaveOneOut, GlobalTime };
/// "leave_one_out" | "global_time"; throws ConfigError("data.split", ...) otherwise.
SplitKind parseSplitKind(const QString& name);
QString splitKindName(SplitKind k);

struct SplitOptions {
  SplitKind kind = SplitKind::LeaveOneOut;
  /// global_time: start of the validation / test periods. Values in (0, 1] are quantiles of the
  /// interaction timestamps (cut = sorted[floor(q·M)], so that fraction falls before it; ties at
  /// the cut go to the later period; 1 = after everything); larger values are absolute
  /// timestamps. Periods: train t < valid cut <= valid < test cut <= test.
  double validCut = 0.8;
  double testCut = 0.9;
};

/// \brief One evaluation case: history = sequences[user][0:pos), target = sequences[user][pos].
struct EvalCase {
  int32_t user = 0;
  int32_t pos = 0;
};

/// \brief The result of splitting: which prefix of each user trains, and the held-out cases.
struct DataSplit {
  SplitKind kind = SplitKind::LeaveOneOut;
  /// Per user: the training part is sequences[u][0:trainEnd[u]).
  std::vector<int32_t> trainEnd;
  std::vector<EvalCase> valid;
  std::vector<EvalCase> test;
  /// Number of (prefix -> next item) training targets.
  qint64 trainTargets() const;
};

/// \brief leave_one_out: last item = test, second last = validation, earlier = training
/// (users with fewer than 3 items only train). global_time: cut by timestamps; a valid/test target
/// needs at least one training-period history item and an item seen in training.
/// Throws ConfigError when the data cannot be split that way: "data.split" (no timestamps for
/// global_time, no user with 3 items for leave_one_out), "data.valid_cut" / "data.test_cut"
/// (cut not positive, cuts out of order, or a period left without cases).
DataSplit makeSplit(const SequenceData& data, const SplitOptions& options);

/// Which positions of a training sequence carry a loss.
enum class TargetMode {
  AllPositions,  ///< one unit per user; loss at every position (causal models)
  Last           ///< one unit per prefix; loss at the last position only
};
/// "all_positions" | "last"; throws ConfigError("train.targets", ...) otherwise.
TargetMode parseTargetMode(const QString& name);
QString targetModeName(TargetMode m);

/// \brief A training unit: the items sequences[user][0:end). Input = [0:end-1), targets =
/// [1:end) (AllPositions) or just item end-1 (Last).
struct TrainUnit {
  int32_t user = 0;
  int32_t end = 0;
};

/// Units for one epoch, in a fixed order (the trainer shuffles them per epoch).
std::vector<TrainUnit> trainingUnits(const DataSplit& split, TargetMode mode);

}  // namespace rr
