#pragma once
/// \file
/// \brief The comparison table of runs, as in the papers: every metric, the best in bold, the
/// relative improvement over a baseline run and a paired t-test marker. Plain C++: usable by views.

#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include <vector>

namespace rr {

class ExperimentStore;

/// \brief Runs × metrics from the stored evaluations of one split: each run's "final" one, and
/// any re-evaluations asked for by label (e.g. "model.reasoner.inference=reasoning").
struct ComparisonTable {
  struct Row {
    qint64 runId = 0;
    QString evaluation = QStringLiteral("final");  ///< label of the stored evaluation shown
    bool baseline = false;  ///< the baseline row: the baseline run's "final" evaluation
    QString label;
    QMap<QString, double> values;       ///< metric -> value (absent when the run has none)
    QMap<QString, double> improvement;  ///< metric -> relative improvement over the baseline
    QMap<QString, double> pValue;       ///< metric -> paired t-test p vs the baseline
    bool perCase = false;  ///< per-user ranks stored (else no p-value: values from the run record)
  };
  QString split = QStringLiteral("test");
  QString group;              ///< the case group's label ("history 3–4 items, 5120 test cases"); empty: all cases
  QStringList metrics;        ///< column order
  qint64 baselineRunId = 0;   ///< 0 = none
  double alpha = 0.05;        ///< significance level of the marker
  QVector<Row> rows;
  /// Index of the row with the highest value per metric (-1 when no row has it).
  int bestRow(const QString& metric) const;
  /// True when the row differs significantly from the baseline (p < alpha) on the metric.
  bool significant(int row, const QString& metric) const;

  /// "No p-value for #3, #7: …" when a baseline is set and some rows have no per-user ranks
  /// (not evaluated yet, or being trained further); empty otherwise.
  QString missingRanksNote() const;
  QString toCsv() const;       ///< plain numbers, improvement and p as extra columns
  QString toMarkdown() const;  ///< best in **bold**, "*" after significant values
  QString toLatex() const;     ///< tabular with \textbf best and ^{*} markers
};

/// \brief The tables one after another in `format` ("markdown" | "csv" | "latex"); CSV gets one
/// header for all (its group column tells them apart). Throws UsageError for another format.
QString formatComparisons(const QVector<ComparisonTable>& tables, const QString& format);

/// One row to build: a run and the label of its stored evaluation ("final", or the overrides a
/// `reasonrec evaluate --set ...` was run with).
struct ComparisonEntry {
  qint64 runId = 0;
  QString evaluation = QStringLiteral("final");
};

/// \brief Cases of a split whose histories (items before the target, the whole history, not
/// cut to max_len) have minLength..maxLength items.
struct CaseGroup {
  int minLength = 0;
  int maxLength = 0;
  std::vector<int> cases;  ///< indices into the split's case order (the order of stored ranks)
  QString label(const QString& split) const;  ///< "history 3–4 items, 5120 test cases"
};

/// \brief The cases of `split` of a run's dataset, under its split settings, in `groups` groups
/// of about equal size by history length: a group ends at the first length where it holds
/// 1/groups of the cases, and cases of one length stay together, so there may be fewer groups
/// (a dataset where every history is 4 items long gives one). Throws Error for an unknown
/// run, or UsageError for groups outside 2..20.
QVector<CaseGroup> historyLengthGroups(const ExperimentStore& store, qint64 runId, const QString& split, int groups);

/// Builds the table from the store. Per-case vectors must align (same split and case count)
/// for a p-value; otherwise the p-value is absent. The baseline row is the baseline run's
/// "final" evaluation. Throws Error when a run is unknown or a labelled evaluation is missing.
ComparisonTable buildComparison(const ExperimentStore& store, const QVector<ComparisonEntry>& entries,
                                qint64 baselineRunId = 0, const QString& split = QStringLiteral("test"),
                                const QStringList& metrics = {});
/// One table per group of cases (the runs and evaluations read once): each row's values and
/// p-values come from its per-user ranks at the group's cases (a row without them stays
/// empty). Every run must share the dataset and split settings the groups were made from
/// (else UsageError naming the run).
QVector<ComparisonTable> buildComparisons(const ExperimentStore& store, const QVector<ComparisonEntry>& entries,
                                          qint64 baselineRunId, const QString& split, const QStringList& metrics,
                                          const QVector<CaseGroup>& groups);
/// The same with every run's "final" evaluation.
ComparisonTable buildComparison(const ExperimentStore& store, const QVector<qint64>& runIds,
                                qint64 baselineRunId = 0, const QString& split = QStringLiteral("test"),
                                const QStringList& metrics = {});

}  // namespace rr
